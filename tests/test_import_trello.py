"""Trello import: every field of an export, the odd cases of real files, 5,000 cards, bad files."""
import json
import time
from datetime import date, datetime, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from webapp import portable
from webapp.extensions import db
from webapp.importers import ImportFileError, keep_members
from webapp.importers.trello import load_json, people_directory, trello_to_snapshot
from webapp.models import Activity, Board, BoardColumn, BoardMember, Card, ChecklistItem, Comment, Label, User

from .conftest import make_user
from .fixtures.trello import LONG_DESCRIPTION, TrelloExport, big_board, empty_board, full_board, old_export

GRACE = {"grace hopper": "grace@example.com"}
DELETE = object()


def converted(data=None, people=GRACE):
    return trello_to_snapshot(full_board().data if data is None else data, people)


def column(snapshot, title):
    return next(column for column in snapshot["board"]["columns"] if column["title"] == title)


def card(snapshot, title):
    return next(card for column in snapshot["board"]["columns"] for card in column["cards"] if card["title"] == title)


def label_names(snapshot, keys):
    names = {label["key"]: (label["name"], label["color"]) for label in snapshot["board"]["labels"]}
    return [names[key] for key in keys]


# --- the snapshot of an export ------------------------------------------------------------------

def test_lists_and_cards_follow_pos_with_ties_in_file_order():
    snapshot, _ = converted()
    board = snapshot["board"]
    assert board["title"] == "Website relaunch 🚀" and board["color"] == "green"
    assert [column["title"] for column in board["columns"]] == ["To do ✅", "Doing", "Old ideas", "Done"]
    assert [card["title"] for card in column(snapshot, "To do ✅")["cards"]] == [
        "Fix the footer", "Write the launch post ✍️", "Same pos, later in the file", "Archived card"]
    assert column(snapshot, "Done")["cards"] == []  # the list with pos 1.4e14 comes last


def test_closed_lists_are_archived_columns_that_keep_their_cards():
    snapshot, _ = converted()
    old = column(snapshot, "Old ideas")
    assert old["archived"] is True and column(snapshot, "Doing")["archived"] is False
    assert [(card["title"], card["archived"]) for card in old["cards"]] == [
        ("Open card in a closed list", False), ("Closed card in a closed list", True)]
    assert card(snapshot, "Archived card")["archived"] is True


def test_descriptions_dates_and_wip_limit():
    snapshot, _ = converted()
    post = card(snapshot, "Write the launch post ✍️")
    assert post["description"] == LONG_DESCRIPTION and len(post["description"]) > 10_000
    assert post["start_date"] == "2026-04-01" and post["due_date"] == "2026-04-30"
    assert post["created_at"] == "2026-02-01T12:00:00Z"  # from the card's id
    assert card(snapshot, "Fix the footer")["due_date"] == "2026-04-01"  # 00:15 at UTC+2 is 1 April in UTC
    assert column(snapshot, "Doing")["wip_limit"] == 3


def test_labels_map_colours_keep_unnamed_ones_and_tell_shared_colours_apart():
    snapshot, _ = converted()
    assert label_names(snapshot, card(snapshot, "Write the launch post ✍️")["labels"]) == [
        ("Bug", "red"), ("Urgent", "red"), ("", "sky")]
    assert label_names(snapshot, card(snapshot, "Fix the footer")["labels"]) == [
        ("Design", "purple"), ("Someday", "grey"), ("Blocked", "grey")]  # purple_dark, null, black
    assert len(snapshot["board"]["labels"]) == 6


def test_checklists_merge_with_their_names_as_prefixes():
    snapshot, _ = converted()
    assert card(snapshot, "Write the launch post ✍️")["checklist"] == [
        {"text": "Follow-up: Tweet it 🐦", "done": False},
        {"text": "Launch: Draft", "done": True}, {"text": "Launch: Review", "done": False}]
    assert card(snapshot, "One checklist")["checklist"] == [{"text": "Only item", "done": True},
                                                           {"text": "Second", "done": False}]


def test_comments_oldest_first_with_authors_matched_by_email_or_name_else_named():
    snapshot, skipped = converted()
    comments = card(snapshot, "Write the launch post ✍️")["comments"]
    assert [(comment["author_email"], comment["author_name"], comment["body"]) for comment in comments] == [
        ("grace@example.com", "Grace Hopper", "First comment, oldest"),  # by name: Trello gave no email
        ("ada@example.com", "Ada Lovelace", "Ada's reply with **bold**"),  # by the member's email
        (None, "Someone Unknown", "From someone we don't know"),
        (None, "Old Timer", "A former member no longer in members")]
    assert comments[1]["created_at"] == "2026-03-04T11:30:15Z"
    assert "1 comment on cards not in the file" in skipped


def test_members_matched_by_email_or_name_with_their_roles_and_assignments():
    snapshot, skipped = converted()
    assert snapshot["board"]["members"] == [
        {"email": "ada@example.com", "name": "Ada Lovelace", "role": "editor"},
        {"email": "grace@example.com", "name": "Grace Hopper", "role": "editor"},
        {"email": "vic@example.com", "name": "Vic Viewer", "role": "viewer"}]
    assert card(snapshot, "Write the launch post ✍️")["assignees"] == ["ada@example.com", "grace@example.com"]
    assert any("“Someone Unknown” (@someone)" in line and "not added" in line for line in skipped)
    assert "1 assignment of Trello members not matched to anyone here" in skipped


def test_attachments_become_links_and_unsafe_ones_are_left_out():
    snapshot, skipped = converted()
    links = card(snapshot, "Write the launch post ✍️")["attachments"]
    assert [(link["filename"], link["url"]) for link in links] == [
        ("Spec", "https://example.com/spec"),
        ("mockup.png", "https://trello.com/1/cards/x/attachments/y/download/mockup.png")]
    assert "1 uploaded file kept as links only: opening them needs a Trello login" in skipped
    assert "1 attachment without a web address (http or https)" in skipped


def test_what_corkboard_has_no_place_for_is_listed():
    _, skipped = converted()
    assert "the board's description (Corkboard boards have none)" in skipped
    assert 'the "due date done" mark of 1 card (Corkboard has no such mark)' in skipped
    assert "votes on 1 card" in skipped


def test_a_capped_action_log_says_older_comments_are_missing():
    export = TrelloExport()
    todo = export.list("To do", 1)
    first = export.card(todo, "Busy card", 1)
    ada = export.member("Ada Lovelace", "ada")
    for minute in range(1000):
        export.comment(first, f"Comment {minute}", ada, datetime(2026, 1, 1, 0, minute % 60, minute // 60, tzinfo=timezone.utc))
    snapshot, skipped = trello_to_snapshot(export.data)
    assert len(card(snapshot, "Busy card")["comments"]) == 1000
    assert any("older than the newest 1000 actions" in line for line in skipped)
    assert not any("older than" in line for line in converted()[1])


def test_an_empty_board_and_an_older_export_without_optional_keys():
    snapshot, skipped = trello_to_snapshot(empty_board())
    assert snapshot["board"]["columns"] == [] and skipped == []
    snapshot, _ = trello_to_snapshot(old_export())
    assert label_names(snapshot, card(snapshot, "Old card")["labels"]) == [("Hot", "red"), ("", "grey")]
    bare = {"lists": [{"id": "l1"}], "cards": [{"id": "c1", "idList": "l1"}]}  # nothing optional at all
    snapshot, _ = trello_to_snapshot(bare)
    assert snapshot["board"]["title"] == "Trello board"
    assert column(snapshot, "Untitled list")["cards"][0]["title"] == "Untitled card"


def test_a_name_two_people_share_is_not_guessed():
    class Person:
        def __init__(self, name, email):
            self.name, self.email = name, email
    directory = people_directory([Person("Grace Hopper", "grace@example.com"), Person("Grace Hopper", "g2@example.com"),
                                  Person("Ada", "ada@example.com")])
    assert directory["grace hopper"] is None and directory["ada"] == "ada@example.com"
    snapshot, _ = trello_to_snapshot(full_board().data, directory)
    assert "grace@example.com" not in [member["email"] for member in snapshot["board"]["members"]]


# --- bad files ----------------------------------------------------------------------------------

def broken(change):
    data = full_board().data
    change(data)
    return data


@pytest.mark.parametrize("data, message", [
    ([1, 2], "the file is not a Trello board export"),
    ({"name": "x"}, "key lists: missing"),
    (broken(lambda data: data.update(lists={"a": 1})), "key lists: expected a list, found an object"),
    (broken(lambda data: data["cards"][2].update(idList="nope")), "key cards[2].idList: no list with id 'nope'"),
    (broken(lambda data: data["cards"][1].pop("idList")), "key cards[1].idList: missing"),
    (broken(lambda data: data["cards"][0].update(due="next week")), "key cards[0].due: 'next week' is not an ISO-8601 date"),
    (broken(lambda data: data["cards"][3].update(name=42)), "key cards[3].name: expected text, found a number"),
    (broken(lambda data: data["lists"][1].update(pos="top")), "key lists[1].pos: 'top' is not a number"),
    (broken(lambda data: data["lists"][0].pop("id")), "key lists[0].id: missing"),
    (broken(lambda data: data["checklists"][0]["checkItems"][1].update(state="done")),
     "key checklists[0].checkItems[1].state: 'done' is neither"),
    (broken(lambda data: data["cards"][0].update(idLabels="red")), "key cards[0].idLabels: expected a list of ids"),
])
def test_a_bad_file_names_the_key(data, message):
    with pytest.raises(ImportFileError) as error:
        trello_to_snapshot(data)
    assert str(error.value).startswith(message)


def test_broken_json_names_the_line():
    with pytest.raises(ImportFileError, match=r"line 3, column 13: not valid JSON \(Expecting property name"):
        load_json(b'{"name": "x",\n "lists": [\n  {"id": 1, }\n]}')
    assert load_json("\ufeff{\"lists\": []}".encode()) == {"lists": []}


# --- into the database --------------------------------------------------------------------------

def import_full_board(app, people=True):
    with app.app_context():
        owner = make_user("Ada", "ada@example.com")
        make_user("Grace Hopper", "grace@example.com")
        directory = people_directory(db.session.scalars(select(User)).all()) if people else {}
        snapshot, skipped = trello_to_snapshot(full_board().data, directory)
        board, summary = portable.load_board(snapshot, owner)
        db.session.commit()
        return board.id, summary, skipped


def test_the_board_is_written_with_everything_it_carries(app):
    board_id, summary, _ = import_full_board(app)
    assert summary["cards"] == 8 and summary["columns"] == 4 and summary["labels"] == 6
    assert summary["comments"] == 4 and summary["checklist_items"] == 5
    with app.app_context():
        board = db.session.get(Board, board_id)
        assert [column.title for column in board.columns] == ["To do ✅", "Doing", "Old ideas", "Done"]
        assert [column.archived_at is not None for column in board.columns] == [False, False, True, False]
        todo = board.columns[0]
        assert [card.title for card in todo.cards] == ["Fix the footer", "Write the launch post ✍️",
                                                      "Same pos, later in the file", "Archived card"]
        post = todo.cards[1]
        assert post.due_date == date(2026, 4, 30) and post.start_date == date(2026, 4, 1)
        assert post.description.startswith("## Background")
        assert "[Spec](<https://example.com/spec>)" in post.description and "javascript:" not in post.description
        assert sorted((label.name, label.color) for label in post.labels) == [("", "sky"), ("Bug", "red"), ("Urgent", "red")]
        assert [person.email for person in post.assignees] == ["ada@example.com", "grace@example.com"]
        assert [(item.text, item.done) for item in post.checklist] == [
            ("Follow-up: Tweet it 🐦", False), ("Launch: Draft", True), ("Launch: Review", False)]
        comments = post.comments
        assert [comment.author.email if comment.author else None for comment in comments] == [
            "grace@example.com", "ada@example.com", None, None]
        assert comments[2].body == "**Someone Unknown** (imported): From someone we don't know"
        assert [column.cards[0].archived_at is None for column in board.columns if column.title == "Old ideas"] == [True]
        roles = {member.user.email: member.role for member in board.members}
        assert roles == {"ada@example.com": "owner", "grace@example.com": "editor"}
        assert db.session.scalar(select(Activity.verb).where(Activity.board_id == board_id)) == "board.imported"


def count_rows(app):
    with app.app_context():
        return {model.__name__: db.session.scalar(select(func.count()).select_from(model))
                for model in (Board, BoardColumn, Card, Label, Comment, ChecklistItem, BoardMember, Activity)}


def test_a_bad_snapshot_is_refused_before_anything_is_written(app):
    with app.app_context():
        owner = make_user("Ada")
        snapshot, _ = trello_to_snapshot(full_board().data)
        snapshot["board"]["columns"][1]["cards"][0]["labels"] = ["no-such-label"]
        with pytest.raises(portable.SnapshotError, match=r"board.columns\[1\].cards\[0\].labels\[0\]"):
            portable.load_board(snapshot, owner)
        db.session.rollback()
    assert set(count_rows(app).values()) == {0}


def test_a_failure_halfway_through_the_cards_leaves_nothing_behind(app, tmp_path, monkeypatch):
    from webapp.importers import commands

    with app.app_context():
        make_user("Ada")
    path = tmp_path / "trello.json"
    path.write_text(json.dumps(big_board(cards=300)), encoding="utf-8")

    def fail_at_200(done, total):
        if done >= 200:
            assert count_rows(app)["Card"] == 0  # another connection sees nothing before the commit
            raise ImportFileError("the disk is full")
    monkeypatch.setattr(commands, "print_progress", fail_at_200)
    result = app.test_cli_runner().invoke(args=["import", "trello", str(path), "--owner", "ada@example.com"])
    assert result.exit_code != 0 and "Nothing imported. the disk is full" in result.output
    assert set(count_rows(app).values()) == {0}


def test_the_cli_imports_a_trello_export_with_progress_and_the_address(app, tmp_path):
    with app.app_context():
        make_user("Ada", "ada@example.com")
        make_user("Grace Hopper", "grace@example.com")
    path = tmp_path / "trello.json"
    path.write_text(json.dumps(big_board(cards=250)), encoding="utf-8")
    app.config["PUBLIC_URL"] = "https://board.example.com"
    result = app.test_cli_runner().invoke(args=["import", "trello", str(path), "--owner", "ADA@example.com"])
    assert result.exit_code == 0, result.output
    assert "cards 100/250" in result.output and "cards 250/250" in result.output
    assert "Imported 8 columns, 250 cards" in result.output
    with app.app_context():
        board_id = db.session.scalar(select(Board.id))
    assert f"The board: https://board.example.com/boards/{board_id}" in result.output


def test_the_cli_refuses_a_bad_export_and_an_unknown_owner(app, tmp_path):
    with app.app_context():
        make_user("Ada")
    path = tmp_path / "trello.json"
    path.write_text('{"lists": [], "cards": [{"id": "c", "idList": "gone"}]}', encoding="utf-8")
    result = app.test_cli_runner().invoke(args=["import", "trello", str(path), "--owner", "ada@example.com"])
    assert result.exit_code != 0 and "Nothing imported. key cards[0].idList: no list with id 'gone'" in result.output
    nobody = app.test_cli_runner().invoke(args=["import", "trello", str(path), "--owner", "zed@example.com"])
    assert nobody.exit_code != 0 and "No account has the email zed@example.com" in nobody.output
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Board)) == 0


def test_5000_cards_convert_load_and_commit_in_time(app):
    export = big_board(cards=5000)
    with app.app_context():
        owner = make_user("Ada", "ada@example.com")
        calls = []
        started = time.perf_counter()
        snapshot, _ = trello_to_snapshot(json.loads(json.dumps(export)), {})
        board, summary = portable.load_board(snapshot, owner, progress=lambda done, total: calls.append((done, total)))
        db.session.commit()
        elapsed = time.perf_counter() - started
        assert summary["cards"] == 5000 and summary["comments"] == 500 and summary["checklist_items"] == 500
        assert calls[0] == (100, 5000) and calls[-1] == (5000, 5000) and len(calls) == 50
        assert db.session.scalar(select(func.count()).select_from(Card).where(Card.board_id == board.id)) == 5000
        first_list = db.session.scalars(select(Card.title).where(Card.column_id == board.columns[0].id)
                                        .order_by(Card.position)).all()
        assert first_list[:3] == ["Card 1", "Card 9", "Card 17"]
    assert elapsed < 30, f"5,000 cards took {elapsed:.1f} s"  # a generous ceiling for a loaded test machine


def test_keep_members_drops_people_outside_the_allowed_set_and_their_assignments():
    snapshot, _ = converted()
    lines = keep_members(snapshot, {"ada@example.com"})
    assert [member["email"] for member in snapshot["board"]["members"]] == ["ada@example.com"]
    assert card(snapshot, "Write the launch post ✍️")["assignees"] == ["ada@example.com"]
    assert "Grace Hopper <grace@example.com> is not on any of your boards: not added" in lines[0]
    assert lines[-1] == "2 assignments of people not added were left out"


# --- whatever the file holds: a clear refusal, or a snapshot the loader takes ---------------------

def paths_of(value, path=()):
    """Every place in a JSON value, as a tuple of keys and indexes."""
    yield path
    if isinstance(value, dict):
        for key, item in value.items():
            yield from paths_of(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from paths_of(item, (*path, index))


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3),
    max_leaves=6)
FULL_BOARD = full_board().data
PLACES = [path for path in paths_of(FULL_BOARD) if path]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(PLACES), JSON_VALUES | st.just(DELETE)), min_size=1, max_size=3))
def test_any_change_to_an_export_is_refused_clearly_or_loads(changes):
    data = json.loads(json.dumps(FULL_BOARD))
    for path, value in changes:
        parent = data
        try:
            for step in path[:-1]:
                parent = parent[step]
            if value is DELETE and isinstance(parent, dict):
                parent.pop(path[-1], None)
            elif value is not DELETE:
                parent[path[-1]] = value
        except (KeyError, IndexError, TypeError):  # an earlier change removed this place
            continue
    try:
        snapshot, _ = trello_to_snapshot(data, GRACE)
    except ImportFileError as error:
        assert str(error).startswith(("key ", "the file")), error
        return
    portable.read_snapshot(snapshot)  # never a SnapshotError: what the converter makes, the loader takes


def test_the_bench_helper_times_a_whole_import():
    from .fixtures.trello import time_trello_import

    assert 0 < time_trello_import(cards=120, runs=1) < 60
