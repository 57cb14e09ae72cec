"""Board export (JSON, CSV, zip) and the one snapshot loader: round trips, hostile text, bad files."""
import copy
import csv
import io
import json
import zipfile
from datetime import date, datetime, timedelta, timezone

import pytest
from sqlalchemy import event, func, select

from webapp import storage
from webapp.exports import content_disposition
from webapp.extensions import db
from webapp.models import (Activity, Attachment, Board, BoardColumn, BoardMember, Card, ChecklistItem, Comment,
                           Label, User)
from webapp.ordering import keys_after
from webapp.portable import SnapshotError, cards_csv, export_board, load_archive, load_board, write_archive
from webapp.portable.table import safe_cell

from .conftest import make_user

HOSTILE = 'He said "hi",\nthen =cmd|\' /C calc\'!A0 🎉'
PNG_BYTES = b"\x89PNG\r\n\x1a\n not really an image, but bytes to carry \x00\xff"


@pytest.fixture(autouse=True)
def uploads(app, tmp_path):
    app.config["UPLOAD_FOLDER"] = str(tmp_path / "uploads")
    return tmp_path / "uploads"


def rich_board(owner_email="ada@example.com") -> int:
    """Ada's "Launch": Bob (editor) and Cleo (viewer), labels, an archived column and card, dates,
    a checklist, comments (one by someone since deleted), an attachment."""
    ada = db.session.scalar(select(User).where(User.email == owner_email)) or make_user("Ada")
    bob = make_user("Bob")
    cleo = make_user("Cleo")
    board = Board(title="Launch", owner=ada, color="green")
    board.members = [BoardMember(user=ada, role="owner"), BoardMember(user=bob, role="editor"),
                     BoardMember(user=cleo, role="viewer")]
    bug, docs, blank = Label(name="Bug", color="red"), Label(name="Docs", color="blue"), Label(name="", color="lime")
    board.labels = [bug, docs, blank]
    todo, done, old = (BoardColumn(title=title, position=key) for title, key in
                       zip(["To do", "Done", "Old ideas"], keys_after(None, 3)))
    old.archived_at = datetime.now(timezone.utc)
    old.wip_limit = None
    todo.wip_limit = 3
    board.columns = [todo, done, old]
    created = datetime(2026, 11, 30, 9, 0, tzinfo=timezone.utc)
    first, second, third = keys_after(None, 3)
    launch = Card(board=board, title="Write the post", position=first, description=HOSTILE,
                  start_date=date(2026, 12, 1), due_date=date(2026, 12, 10), created_at=created,
                  labels=[bug, docs], assignees=[ada, bob])
    launch.checklist = [ChecklistItem(text="Draft", done=True, position=first),
                        ChecklistItem(text="Review", done=False, position=second)]
    launch.comments = [Comment(author=bob, body="Looks **good**", created_at=created + timedelta(hours=1)),
                       Comment(author=None, body="An old note", created_at=created + timedelta(hours=2))]
    todo.cards = [launch, Card(board=board, title="=SUM(A1:A2)", position=second, labels=[blank])]
    done.cards = [Card(board=board, title="Archived one", position=first, created_at=created,
                       archived_at=datetime.now(timezone.utc))]
    old.cards = [Card(board=board, title="Shelved", position=first, assignees=[cleo])]
    db.session.add(board)
    db.session.flush()
    blob = storage.save(io.BytesIO(PNG_BYTES))
    db.session.add(Attachment(card_id=launch.id, uploader_id=bob.id, filename="mockup.png", sha256=blob.sha256,
                              content_type="image/png", size=blob.size, created_at=created))
    db.session.commit()
    return board.id


def comparable(snapshot: dict) -> dict:
    """The snapshot without what a load changes by design: keys, the export time."""
    snapshot = copy.deepcopy(snapshot)
    snapshot.pop("exported_at")
    board = snapshot["board"]
    names = {label.pop("key"): (label["name"], label["color"]) for label in board["labels"]}
    for column in board["columns"]:
        column.pop("key")
        for card in column["cards"]:
            card.pop("key")
            card["labels"] = [names[key] for key in card["labels"]]
    return snapshot


def owner(email="ada@example.com") -> User:
    return db.session.scalar(select(User).where(User.email == email))


def counts() -> dict:
    return {model.__name__: db.session.scalar(select(func.count()).select_from(model))
            for model in (Board, BoardColumn, Card, Label, BoardMember, ChecklistItem, Comment, Attachment, Activity)}


# --- the snapshot ---------------------------------------------------------------------------------

def test_export_holds_everything_on_the_board(app):
    with app.app_context():
        board = db.session.get(Board, rich_board())
        snapshot = export_board(board)
    assert snapshot["format"] == "corkboard-board" and snapshot["version"] == 1
    data = snapshot["board"]
    assert (data["title"], data["color"]) == ("Launch", "green")
    assert [(m["email"], m["role"]) for m in data["members"]] == [
        ("ada@example.com", "owner"), ("bob@example.com", "editor"), ("cleo@example.com", "viewer")]
    assert [label["name"] for label in data["labels"]] == ["", "Bug", "Docs"]
    assert [(c["title"], c["archived"], c["wip_limit"]) for c in data["columns"]] == [
        ("To do", False, 3), ("Done", False, None), ("Old ideas", True, None)]
    card = data["columns"][0]["cards"][0]
    assert card["key"] == "K1" and data["columns"][2]["cards"][0]["key"] == "K4"
    assert card["description"] == HOSTILE
    assert (card["start_date"], card["due_date"], card["created_at"]) == ("2026-12-01", "2026-12-10",
                                                                        "2026-11-30T09:00:00Z")
    labels = {label["key"]: label["name"] for label in data["labels"]}
    assert [labels[key] for key in card["labels"]] == ["Bug", "Docs"]
    assert card["assignees"] == ["ada@example.com", "bob@example.com"]
    assert card["checklist"] == [{"text": "Draft", "done": True}, {"text": "Review", "done": False}]
    assert card["comments"][0] == {"author_email": "bob@example.com", "author_name": "Bob", "body": "Looks **good**",
                                   "created_at": "2026-11-30T10:00:00Z"}
    assert card["comments"][1]["author_email"] is None
    [attachment] = card["attachments"]
    assert attachment["filename"] == "mockup.png" and attachment["size"] == len(PNG_BYTES)
    assert attachment["file"] == f"attachments/{attachment['sha256']}.png"
    assert data["columns"][1]["cards"][0]["archived"] is True


def test_export_takes_the_same_number_of_queries_for_any_board_size(app):
    with app.app_context():
        board_id = rich_board()
        statements = []
        listener = lambda *args: statements.append(args[2])  # noqa: E731
        event.listen(db.engine, "before_cursor_execute", listener)
        export_board(db.session.get(Board, board_id))
        small = len(statements)
        column = db.session.scalar(select(BoardColumn).where(BoardColumn.board_id == board_id))
        bob = owner("bob@example.com")
        for key in keys_after("z", 40):
            db.session.add(Card(board_id=board_id, column_id=column.id, title=key, position=key, assignees=[bob],
                                checklist=[ChecklistItem(text="x", position="i0")],
                                comments=[Comment(author=bob, body="y")]))
        db.session.commit()
        statements.clear()
        export_board(db.session.get(Board, board_id))
        event.remove(db.engine, "before_cursor_execute", listener)
    assert len(statements) == small <= 10


def test_round_trip_through_a_zip_gives_the_same_snapshot_and_the_same_bytes(app, uploads):
    with app.app_context():
        board = db.session.get(Board, rich_board())
        original = export_board(board)
        buffer = io.BytesIO()
        write_archive(board, buffer)
        sha = original["board"]["columns"][0]["cards"][0]["attachments"][0]["sha256"]
        storage.blob_path(sha).unlink()  # the bytes must come back from the zip
        buffer.seek(0)
        loaded, summary = load_archive(buffer, owner())
        db.session.commit()
        again = export_board(db.session.get(Board, loaded.id))
        assert storage.blob_path(sha).read_bytes() == PNG_BYTES
        attachment = db.session.scalar(select(Attachment).join(Card).where(Card.board_id == loaded.id))
        assert attachment.uploader_id == owner().id
    assert loaded.id != original and comparable(again) == comparable(original)
    assert summary == {"columns": 3, "cards": 4, "labels": 3, "comments": 2, "checklist_items": 2, "attachments": 1,
                       "skipped": []}


def test_round_trip_through_json_keeps_all_but_the_file_and_says_so(app):
    with app.app_context():
        original = export_board(db.session.get(Board, rich_board()))
        text = json.dumps(original)
        loaded, summary = load_board(json.loads(text), owner())
        db.session.commit()
        again = export_board(db.session.get(Board, loaded.id))
        [activity] = db.session.scalars(select(Activity).where(Activity.board_id == loaded.id)).all()
    assert summary["attachments"] == 0
    assert summary["skipped"] == ["Card “Write the post”: the file mockup.png was left out "
                                  "(its bytes come only with a .zip export)."]
    for snapshot in (original, again):
        snapshot["board"]["columns"][0]["cards"][0]["attachments"] = []
    assert comparable(again) == comparable(original)
    assert (activity.verb, activity.details, activity.actor_id) == ("board.imported", {"title": "Launch", "cards": 4},
                                                                   loaded.owner_id)


def test_the_loaded_board_shows_in_order_on_its_page(app, ada):
    with app.app_context():
        snapshot = export_board(db.session.get(Board, rich_board()))
        loaded, _summary = load_board(snapshot, owner())
        db.session.commit()
        board_id = loaded.id
    page = ada.get(f"/boards/{board_id}").get_data(as_text=True)
    assert page.index("Write the post") < page.index("=SUM(A1:A2)")
    assert "Shelved" not in page and "Archived one" not in page
    activity = ada.get(f"/boards/{board_id}/activity")
    assert activity.status_code == 200
    assert "imported this board with 4 cards" in activity.get_data(as_text=True)


# --- loader rules ---------------------------------------------------------------------------------

def minimal(**card) -> dict:
    return {"format": "corkboard-board", "version": 1,
            "board": {"title": "Imported", "labels": [{"key": "L1", "name": "Bug", "color": "mauve"}],
                      "columns": [{"key": "C1", "title": "Inbox", "cards": [{"key": "K1", "title": "One", **card}]}]}}


def test_people_who_are_not_members_are_left_out_and_listed(app):
    with app.app_context():
        ada = make_user("Ada")
        make_user("Bob")
        snapshot = minimal(assignees=["bob@example.com", "ghost@example.com", "ADA@example.com"],
                           comments=[{"author_email": "ghost@example.com", "author_name": "Gho*st", "body": "Boo"},
                                     {"author_email": "bob@example.com", "author_name": "Bob", "body": "Hi"},
                                     {"author_email": "ada@example.com", "body": "Mine"}])
        snapshot["board"]["members"] = [{"email": "bob@example.com", "name": "Bob", "role": "viewer"},
                                        {"email": "nobody@example.com", "name": "No One", "role": "editor"},
                                        {"email": "ada@example.com", "role": "viewer"}]
        board, summary = load_board(snapshot, ada)
        db.session.commit()
        roles = {member.user.email: member.role for member in board.members}
        card = board.columns[0].cards[0]
        comments = [(comment.author.email if comment.author else None, comment.body) for comment in card.comments]
        assignees = [user.email for user in card.assignees]
        label = board.labels[0]
    assert roles == {"ada@example.com": "owner", "bob@example.com": "viewer"}
    assert assignees == ["ada@example.com", "bob@example.com"]
    assert comments[0] == (None, r"**Gho\*st** (imported): Boo")
    assert comments[1:] == [("bob@example.com", "Hi"), ("ada@example.com", "Mine")]
    assert (label.name, label.color) == ("Bug", "grey")
    assert summary["skipped"] == [
        "Member No One <nobody@example.com> was left out: no account here has this email.",
        "ghost@example.com was not assigned to 1 card: not a member of the board."]


def test_links_join_the_description_and_titles_are_cut(app):
    with app.app_context():
        ada = make_user("Ada")
        snapshot = minimal(description="Plan", attachments=[
            {"filename": "Spec [v2]", "url": "https://example.com/spec?a=(1)"},
            {"filename": "Evil", "url": "javascript:alert(1)"}])
        snapshot["board"]["title"] = "T" * 500
        board, summary = load_board(snapshot, ada)
        db.session.flush()
        description = board.columns[0].cards[0].description
        title = board.title
    assert description == "Plan\n\nLinks:\n\n- [Spec \\[v2\\]](<https://example.com/spec?a=(1)>)"
    assert len(title) == 200
    assert summary["skipped"] == ["Card “One”: the link 'javascript:alert(1)' was left out (not a web address)."]


def test_progress_is_reported_every_hundred_cards(app):
    with app.app_context():
        ada = make_user("Ada")
        snapshot = minimal()
        snapshot["board"]["columns"][0]["cards"] = [{"title": f"Card {n}"} for n in range(250)]
        calls = []
        load_board(snapshot, ada, progress=lambda done, total: calls.append((done, total)))
    assert calls == [(100, 250), (200, 250), (250, 250)]


@pytest.mark.parametrize(("change", "message"), [
    (lambda s: s.clear() or s.update(board="x"), "format: expected 'corkboard-board'"),
    (lambda s: s.update(version=2), "version: version 2 is newer than this Corkboard reads"),
    (lambda s: s["board"].pop("title"), "board.title: missing"),
    (lambda s: s["board"]["columns"][0]["cards"].append({"key": "K2", "title": "  "}),
     "board.columns[0].cards[1].title: must not be empty"),
    (lambda s: s["board"]["columns"][0]["cards"][0].update(labels=["L9"]),
     "board.columns[0].cards[0].labels[0]: no label with the key 'L9'"),
    (lambda s: s["board"]["columns"][0]["cards"][0].update(due_date="10/12/2026"),
     "board.columns[0].cards[0].due_date: expected a date as YYYY-MM-DD"),
    (lambda s: s["board"]["columns"][0]["cards"][0].update(checklist=[{"done": True}]),
     "board.columns[0].cards[0].checklist[0].text: missing"),
    (lambda s: s["board"].update(columns={"a": 1}), "board.columns: expected a list, found an object"),
    (lambda s: s["board"]["members"].append({"email": "x@example.com", "role": "admin"}),
     "board.members[0].role: expected one of viewer, editor, owner"),
])
def test_a_bad_snapshot_names_the_path_and_writes_nothing(app, change, message):
    snapshot = minimal()
    snapshot["board"]["members"] = []
    change(snapshot)
    with app.app_context():
        ada = make_user("Ada")
        before = counts()
        with pytest.raises(SnapshotError) as error:
            load_board(snapshot, ada)
        db.session.rollback()
        assert counts() == before
    assert str(error.value).startswith(message)


def test_not_an_object_is_refused(app):
    with app.app_context():
        with pytest.raises(SnapshotError, match=r"^snapshot: expected an object, found a list"):
            load_board([], make_user("Ada"))


def test_a_failure_while_writing_leaves_nothing_behind(app, uploads):
    with app.app_context():
        board = db.session.get(Board, rich_board())
        buffer = io.BytesIO()
        snapshot = write_archive(board, buffer)
        sha = snapshot["board"]["columns"][0]["cards"][0]["attachments"][0]["sha256"]
        db.session.delete(board)  # its file goes with it: only the zip holds the bytes now
        db.session.commit()
        assert not storage.blob_path(sha).exists()
        before = counts()

        def fail(done, total):
            raise RuntimeError("disk full")

        buffer.seek(0)
        with pytest.raises(RuntimeError):
            load_archive(buffer, owner(), progress=fail)
        db.session.rollback()
        assert counts() == before
        assert not storage.blob_path(sha).exists()


# --- zip files ------------------------------------------------------------------------------------

def zip_of(entries: dict) -> io.BytesIO:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    buffer.seek(0)
    return buffer


def with_file(sha: str, name: str) -> dict:
    return minimal(attachments=[{"filename": "a.txt", "sha256": sha, "file": name, "size": 5}])


def test_a_zip_whose_file_does_not_match_its_hash_is_refused_and_keeps_no_file(app, uploads):
    sha = "0" * 64
    name = f"attachments/{sha}.txt"
    with app.app_context():
        ada = make_user("Ada")
        with pytest.raises(SnapshotError, match=r"attachments\[0\]\.sha256: the bytes of .* do not have this SHA-256"):
            load_archive(zip_of({"board.json": json.dumps(with_file(sha, name)), name: b"hello"}), ada)
        db.session.rollback()
        assert db.session.scalar(select(func.count()).select_from(Board)) == 0
    assert not [path for path in uploads.rglob("*") if path.is_file()]


@pytest.mark.parametrize("name", ["../board.json", "/etc/passwd", "attachments\\..\\x", "a/../../x"])
def test_a_zip_with_an_unsafe_path_is_refused(app, name):
    with app.app_context():
        ada = make_user("Ada")
        with pytest.raises(SnapshotError, match="unsafe path"):
            load_archive(zip_of({"board.json": json.dumps(minimal()), name: b"x"}), ada)


def test_a_zip_past_the_size_cap_is_refused(app, uploads):
    import hashlib
    data = b"0" * 200_000  # compresses to almost nothing: the cap counts inflated bytes
    sha = hashlib.sha256(data).hexdigest()
    name = f"attachments/{sha}"
    app.config["ARCHIVE_MAX_SIZE"] = 100_000
    with app.app_context():
        ada = make_user("Ada")
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.writestr("board.json", json.dumps(with_file(sha, name)))
            archive.writestr(name, data)
        buffer.seek(0)
        with pytest.raises(SnapshotError, match="larger than 100000 bytes once unpacked"):
            load_archive(buffer, ada)
    assert not [path for path in uploads.rglob("*") if path.is_file()]


def test_not_a_zip_or_no_board_json_is_refused(app):
    with app.app_context():
        ada = make_user("Ada")
        with pytest.raises(SnapshotError, match="not a zip file"):
            load_archive(io.BytesIO(b"PK but not really"), ada)
        with pytest.raises(SnapshotError, match="no board.json"):
            load_archive(zip_of({"other.json": "{}"}), ada)
        with pytest.raises(SnapshotError, match="board.json: not valid JSON"):
            load_archive(zip_of({"board.json": "{oops"}), ada)


# --- CSV ------------------------------------------------------------------------------------------

def test_csv_keeps_hostile_text_intact_and_defuses_formulas(app):
    with app.app_context():
        board = db.session.get(Board, rich_board())
        text = cards_csv(board)
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text[1:], newline="")))
    assert rows[0] == ["column", "title", "description", "labels", "due date", "start date", "assignees",
                       "archived", "created"]
    assert rows[1] == ["To do", "Write the post", HOSTILE, "Bug, Docs", "2026-12-10", "2026-12-01",
                       "ada@example.com, bob@example.com", "no", "2026-11-30T09:00:00Z"]
    assert rows[2][1] == "'=SUM(A1:A2)" and rows[2][3] == "lime"
    assert [row[1] for row in rows[3:]] == ["Archived one", "Shelved"]
    assert [row[7] for row in rows[3:]] == ["yes", "yes"]  # an archived card, a card of an archived column
    assert len(rows) == 5


@pytest.mark.parametrize(("value", "safe"), [
    ("=cmd", "'=cmd"), ("+1", "'+1"), ("-2", "'-2"), ("@SUM(1)", "'@SUM(1)"), ("\tx", "'\tx"), ("\rx", "'\rx"),
    ("plain", "plain"), ("a=b", "a=b"), ("🎉=", "🎉="), ("", ""),
])
def test_cells_that_a_spreadsheet_would_run_get_an_apostrophe(value, safe):
    assert safe_cell(value) == safe


# --- downloads ------------------------------------------------------------------------------------

def test_downloads_for_a_member_and_404_for_anyone_else(app, ada, bob):
    for extension in ("json", "csv", "zip"):
        assert bob.get(f"{ada.board.url}/export.{extension}").status_code == 404
        response = ada.get(f"{ada.board.url}/export.{extension}")
        assert response.status_code == 200
        assert response.headers["Content-Disposition"].startswith('attachment; filename="Roadmap ')
        assert response.headers["Cache-Control"] == "private, no-store"
    snapshot = ada.get(f"{ada.board.url}/export.json").get_json()
    assert [column["title"] for column in snapshot["board"]["columns"]] == ["To do", "Doing", "Done"]
    assert ada.get("/boards/99999/export.json").status_code == 404


def test_a_viewer_can_export_and_the_zip_carries_the_files(app, ada):
    with app.app_context():
        board_id = rich_board()
    from .conftest import UserClient
    cleo = UserClient(app, "cleo@example.com")
    response = cleo.get(f"/boards/{board_id}/export.zip")
    assert response.status_code == 200 and response.mimetype == "application/zip"
    with zipfile.ZipFile(io.BytesIO(response.data)) as archive:
        snapshot = json.loads(archive.read("board.json"))
        attachment = snapshot["board"]["columns"][0]["cards"][0]["attachments"][0]
        assert archive.read(attachment["file"]) == PNG_BYTES
    csv_text = cleo.get(f"/boards/{board_id}/export.csv").get_data(as_text=True)
    assert "Write the post" in csv_text


def test_a_logged_out_visitor_is_sent_to_log_in(app, ada):
    response = app.test_client().get(f"{ada.board.url}/export.json")
    assert response.status_code in (302, 401)


@pytest.mark.parametrize("title", ['Q4 "plan"\r\nSet-Cookie: x=1', "Été / ../../etc 🎉", "\x00;\\", "..."])
def test_the_download_name_is_safe_for_any_title(title):
    header = content_disposition(f"{title}.csv")
    assert "\r" not in header and "\n" not in header and "\x00" not in header
    plain = header.split('filename="', 1)[1].split('"', 1)[0]
    assert "/" not in plain and "\\" not in plain and '"' not in plain and plain.isascii() and plain
    assert header.count('"') == 2 and "filename*=UTF-8''" in header


def test_a_download_name_keeps_unicode_in_filename_star():
    assert content_disposition("Été 🎉.csv") == (
        "attachment; filename=\"Ete .csv\"; filename*=UTF-8''%C3%89t%C3%A9%20%F0%9F%8E%89.csv")


def test_a_hostile_board_title_downloads_without_error(app, ada):
    with app.app_context():
        board = db.session.get(Board, ada.board.id)
        board.title = 'Evil"\r\nX-Injected: 1'
        db.session.commit()
    response = ada.get(f"{ada.board.url}/export.csv")
    assert response.status_code == 200 and "X-Injected" not in response.headers


# --- the command ----------------------------------------------------------------------------------

def test_export_board_command_writes_each_format(app, tmp_path):
    with app.app_context():
        board_id = rich_board()
    runner = app.test_cli_runner()
    result = runner.invoke(args=["export-board", str(board_id)])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["board"]["title"] == "Launch"
    target = tmp_path / "launch.zip"
    result = runner.invoke(args=["export-board", str(board_id), "--format", "zip", "-o", str(target)])
    assert result.exit_code == 0, result.output
    assert zipfile.ZipFile(target).namelist()[0] == "board.json"
    result = runner.invoke(args=["export-board", str(board_id), "--format", "csv", "-o", str(tmp_path / "c.csv")])
    assert (tmp_path / "c.csv").read_text(encoding="utf-8-sig").startswith("column,title")
    assert runner.invoke(args=["export-board", "999"]).exit_code != 0
    assert "needs a file" in runner.invoke(args=["export-board", str(board_id), "--format", "zip"]).output
