"""CSV import: the preview's guesses, the board a file becomes, errors that name the line."""
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from webapp import portable
from webapp.extensions import db
from webapp.importers import ImportFileError, decode_text
from webapp.importers.csv_import import csv_to_snapshot, sniff
from webapp.models import Board, Card

from .conftest import make_user

SPREADSHEET = (
    "Status,Summary,Notes,Tags,Due,Assigned to\n"
    'To do,Write the post,"Two lines,\nwith a comma",\"Bug, Urgent\",2026-05-01,ada@example.com\n'
    "Doing,Fix the footer,,bug,2026-05-02T10:00:00,\"ada@example.com; grace@example.com\"\n"
    "\n"
    "To do,Plan the webinar ☕,,,,\n"
    ",No column given,,,,\n"
)
MAPPING = {"column": "Status", "title": "Summary", "description": "Notes", "labels": "Tags", "due_date": "Due",
           "assignees": "Assigned to"}


def cards_of(snapshot):
    return {column["title"]: [card["title"] for card in column["cards"]] for column in snapshot["board"]["columns"]}


def test_sniff_guesses_the_fields_from_the_headers_and_shows_the_first_rows():
    preview = sniff(SPREADSHEET)
    assert preview["headers"] == ["Status", "Summary", "Notes", "Tags", "Due", "Assigned to"]
    assert preview["mapping"] == MAPPING
    assert preview["rows"][0] == ["To do", "Write the post", "Two lines,\nwith a comma", "Bug, Urgent", "2026-05-01",
                                  "ada@example.com"]
    assert len(preview["rows"]) == 4  # the blank line is not a row


def test_sniff_leaves_unknown_headers_unmapped():
    preview = sniff("Thing,Other\nA,B\n")
    assert preview["mapping"] == dict.fromkeys(MAPPING, None)


def test_a_file_becomes_columns_in_first_seen_order_with_cards_in_file_order():
    snapshot, skipped = csv_to_snapshot(SPREADSHEET, MAPPING, "Launch")
    board = snapshot["board"]
    assert board["title"] == "Launch"
    assert cards_of(snapshot) == {"To do": ["Write the post", "Plan the webinar ☕"], "Doing": ["Fix the footer"],
                                  "Imported": ["No column given"]}
    first, footer = board["columns"][0]["cards"][0], board["columns"][1]["cards"][0]
    assert first["description"] == "Two lines,\nwith a comma"
    assert first["due_date"] == "2026-05-01" and footer["due_date"] == "2026-05-02"
    names = {label["key"]: label["name"] for label in board["labels"]}
    assert [names[key] for key in first["labels"]] == ["Bug", "Urgent"]
    assert [names[key] for key in footer["labels"]] == ["Bug"]  # "bug" is the same label, whatever its case
    assert len({label["color"] for label in board["labels"]}) == 2  # each new label a colour of its own
    assert footer["assignees"] == ["ada@example.com", "grace@example.com"]
    assert {member["email"] for member in board["members"]} == {"ada@example.com", "grace@example.com"}
    assert skipped == []


def test_semicolons_and_a_byte_order_mark():
    text = decode_text("\ufeffTitle;Column;Labels\nOne;Later;a, b\n".encode("utf-8"))
    preview = sniff(text)
    assert preview["headers"] == ["Title", "Column", "Labels"] and preview["delimiter"] == ";"
    snapshot, _ = csv_to_snapshot(text, preview["mapping"], "Board")
    assert cards_of(snapshot) == {"Later": ["One"]}
    assert [label["name"] for label in snapshot["board"]["labels"]] == ["a", "b"]


def test_rows_it_cannot_use_are_listed_by_line():
    text = "Title,Assignees\n,ada@example.com\nKept,not-an-email\n"
    snapshot, skipped = csv_to_snapshot(text, {"title": "Title", "assignees": "Assignees"}, "Board")
    assert cards_of(snapshot) == {"Imported": ["Kept"]}
    assert skipped == ["line 2: no title, row left out", "line 3: assignee 'not-an-email' is not an email address, not assigned"]


def test_a_long_title_is_cut_and_said():
    snapshot, skipped = csv_to_snapshot("Title\n" + "x" * 300 + "\n", {"title": "Title"}, "Board")
    assert len(snapshot["board"]["columns"][0]["cards"][0]["title"]) == 200
    assert skipped == ["1 card title cut to 200 characters"]


@pytest.mark.parametrize("text, mapping, message", [
    ("Title,Due\nA,2026-01-01\n\n\"B\",31/02/2026\n", {"title": "Title", "due_date": "Due"},
     "line 4: due date '31/02/2026' is not a date"),
    ("Title,Due\nA,2026-02-30\n", {"title": "Title", "due_date": "Due"}, "line 2: due date '2026-02-30' is not a date"),
    ("Title\nA\n\"B\n", {"title": "Title"}, "line 3: a quoted cell that starts here is never closed"),
    ("Title,Title\nA,B\n", {"title": "Title"}, "line 1: two columns are called 'Title'"),
    ("Title\nA\n", {"title": "Name"}, "line 1: the file has no column 'Name'"),
    ("Title\nA\n", {"column": "Title"}, "choose which column of the file holds the card titles"),
    ("", {"title": "Title"}, "line 1: the file is empty"),
])
def test_bad_files_name_the_line(text, mapping, message):
    with pytest.raises(ImportFileError) as error:
        csv_to_snapshot(text, mapping, "Board")
    assert str(error.value).startswith(message)


def test_text_that_is_not_utf8_names_its_line():
    with pytest.raises(ImportFileError, match="line 2: the file is not UTF-8"):
        decode_text("Title\nCaf\xe9\n".encode("latin-1"))


def test_a_board_needs_a_title():
    with pytest.raises(ImportFileError, match="title"):
        csv_to_snapshot("Title\nA\n", {"title": "Title"}, "  ")


def test_the_cli_imports_a_csv_file_with_its_mapping(app, tmp_path):
    with app.app_context():
        make_user("Ada")
    path = tmp_path / "cards.csv"
    path.write_text("Card;Where;Who\nOne;Doing;ada@example.com\nTwo;Doing;\n", encoding="utf-8")
    result = app.test_cli_runner().invoke(args=["import", "csv", str(path), "--owner", "ada@example.com",
                                                "--board", "From a sheet", "--map", "title=Card",
                                                "--map", "column=Where", "--map", "assignees=Who"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        board = db.session.scalar(select(Board).where(Board.title == "From a sheet"))
        assert [(column.title, [card.title for card in column.cards]) for column in board.columns] == [
            ("Doing", ["One", "Two"])]
        assert [person.email for person in board.columns[0].cards[0].assignees] == ["ada@example.com"]
    assert f"/boards/{board.id}" in result.output and "2 cards" in result.output


def test_the_cli_refuses_a_bad_file_and_keeps_nothing(app, tmp_path):
    with app.app_context():
        make_user("Ada")
    path = tmp_path / "cards.csv"
    path.write_text("Title,Due\nOne,2026-01-01\nTwo,soon\n", encoding="utf-8")
    result = app.test_cli_runner().invoke(args=["import", "csv", str(path), "--owner", "ada@example.com",
                                                "--board", "Nope"])
    assert result.exit_code != 0 and "line 3: due date 'soon' is not a date" in result.output
    bad_map = app.test_cli_runner().invoke(args=["import", "csv", str(path), "--owner", "ada@example.com",
                                                 "--board", "Nope", "--map", "colour=Title"])
    assert bad_map.exit_code != 0 and "colour" in bad_map.output
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Card)) == 0
        assert db.session.scalar(select(func.count()).select_from(Board)) == 0


@settings(max_examples=300, deadline=None)
@given(st.lists(st.lists(st.text(alphabet=st.sampled_from('ab ,;"\n\r\x00@.-0123456789é☕'), max_size=12),
                         min_size=1, max_size=5), min_size=1, max_size=6),
       st.sampled_from([",", ";"]))
def test_any_file_is_refused_clearly_or_loads(rows, delimiter):
    text = "\n".join(delimiter.join(cells) for cells in rows)
    try:
        preview = sniff(text)
        snapshot, _ = csv_to_snapshot(text, {**preview["mapping"], "title": preview["headers"][0]}, "Board")
    except ImportFileError as error:
        assert str(error).startswith(("line ", "choose", "give")), error
        return
    portable.read_snapshot(snapshot)  # never a SnapshotError: what the converter makes, the loader takes
