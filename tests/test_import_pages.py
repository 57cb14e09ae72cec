"""The import page: upload a Trello export or a CSV file, preview and map a CSV, land on the new board."""
import io
import json
import os
import re
import time

import pytest
from sqlalchemy import func, select

from webapp.extensions import db
from webapp.models import Board, BoardMember, Card, User

from .conftest import UserClient, app_config, fresh_app, make_user
from .fixtures.trello import full_board


@pytest.fixture
def app(tmp_path):
    url = os.environ.get("TEST_DATABASE_URL") or f"sqlite:///{tmp_path / 'test.db'}"
    yield from fresh_app(app_config(url, tmp_path, IMPORT_FOLDER=str(tmp_path / "imports")))


@pytest.fixture
def grace(app, ada):
    """Grace Hopper, an editor on Ada's board: someone Ada already works with."""
    with app.app_context():
        user = make_user("Grace Hopper", "grace@example.com")
        db.session.add(BoardMember(board_id=ada.board.id, user_id=user.id, role="editor"))
        db.session.commit()
    return user


CSV = ("Summary,Status,Due,Who\n"
       "Write the post,To do,2026-05-01,grace@example.com\n"
       "Fix the footer,Doing,2026-02-31,\n")


def upload(client, kind, content: bytes, filename, **kwargs):
    return client.form("POST", "/boards/import", {"kind": kind, "file": (io.BytesIO(content), filename)},
                       content_type="multipart/form-data", **kwargs)


def boards_of(app, email):
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == email))
        return db.session.scalars(select(Board.title).where(Board.owner_id == user.id).order_by(Board.id)).all()


def finished(client, response, seconds=10.0) -> str:
    """The import's page once its job is over (the import runs in the background)."""
    assert response.status_code == 303 and re.search(r"/boards/import/jobs/[\w-]{22}$", response.headers["Location"])
    deadline = time.monotonic() + seconds
    while True:
        page = client.get(response.headers["Location"])
        html = page.get_data(as_text=True)
        assert page.status_code == 200
        if 'hx-trigger="every 500ms"' not in html:
            return html
        assert time.monotonic() < deadline, "the import did not finish"
        time.sleep(0.02)


def board_link(html) -> str:
    return re.search(r'<a href="(/boards/\d+)" role="button">Open the board</a>', html).group(1)


def preview_url(response) -> str:
    return re.search(r'action="(/boards/import/csv/[^"]+)"', response.get_data(as_text=True)).group(1)


def test_the_page_offers_both_kinds_of_file(ada):
    html = ada.get("/boards/import").get_data(as_text=True)
    assert 'enctype="multipart/form-data"' in html and 'name="csrf_token"' in html
    assert "Trello JSON" in html and "CSV (one card a row)" in html
    assert re.search(r'<input[^>]*type="file"', html)


def test_it_needs_a_login(app):
    response = app.test_client().get("/boards/import")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_a_post_without_the_csrf_token_is_refused(ada):
    response = ada.client.post("/boards/import", data={"kind": "trello", "file": (io.BytesIO(b"{}"), "b.json")},
                               content_type="multipart/form-data")
    assert response.status_code == 400
    assert boards_of(ada.app, "ada@example.com") == ["Roadmap"]


def test_a_trello_export_lands_on_the_new_board_with_a_summary(ada, grace):
    with ada.app.app_context():
        make_user("Vic Viewer", "vic@example.com")  # has an account, but shares no board with Ada
    response = upload(ada, "trello", json.dumps(full_board().data).encode(), "board.json")
    summary = finished(ada, response)
    with ada.app.app_context():
        board = db.session.scalar(select(Board).where(Board.title == "Website relaunch 🚀"))
        assert board.owner.email == "ada@example.com"
        assert {member.user.email: member.role for member in board.members} == {
            "ada@example.com": "owner", "grace@example.com": "editor"}
        assert db.session.scalar(select(func.count()).select_from(Card).where(Card.board_id == board.id)) == 8
    assert "Website relaunch 🚀 is ready" in summary
    assert "Imported 4 columns, 8 cards, 6 labels, 5 checklist items, 4 comments." in summary
    assert "<li>Vic Viewer &lt;vic@example.com&gt; is not on any of your boards: not added" in summary
    assert board_link(summary) == f"/boards/{board.id}"
    assert "Write the launch post ✍️" in ada.get(board_link(summary)).get_data(as_text=True)


def test_a_bad_trello_file_is_an_inline_error_and_leaves_nothing(ada):
    data = full_board().data
    data["cards"][3]["idList"] = "gone"
    for content, message in ((json.dumps(data).encode(), "key cards[3].idList: no list with id &#39;gone&#39;"),
                             (b'{"lists": [\n}', "line 2, column 1: not valid JSON"),
                             (b"\xff\xfe[]", "the file is not UTF-8 text"),
                             (b"[]", "the file is not a Trello board export")):
        response = upload(ada, "trello", content, "board.json")
        html = response.get_data(as_text=True)
        assert response.status_code == 422, html
        assert message in html and 'class="field-error"' in html and 'aria-invalid="true"' in html
    assert boards_of(ada.app, "ada@example.com") == ["Roadmap"]


def test_no_file_is_an_inline_error(ada):
    response = ada.form("POST", "/boards/import", {"kind": "trello"}, content_type="multipart/form-data")
    assert response.status_code == 422 and "Choose the file to import." in response.get_data(as_text=True)


def test_an_upload_over_the_size_limit_is_refused(ada):
    ada.app.config["MAX_CONTENT_LENGTH"] = 2000
    response = upload(ada, "trello", b" " * 5000, "board.json")
    assert response.status_code == 413
    assert boards_of(ada.app, "ada@example.com") == ["Roadmap"]


def test_a_csv_file_is_previewed_mapped_and_imported(ada, grace, tmp_path):
    response = upload(ada, "csv", ("\ufeff" + CSV).encode(), "launch_plan.csv")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "<th scope=\"col\">Summary</th>" in html and "<td>Write the post</td>" in html
    assert '<option value="Summary" selected>' in html  # the title guessed from its header
    assert 'value="launch plan"' in html  # the board's title from the file's name
    kept = list((tmp_path / "imports").iterdir())
    assert len(kept) == 1 and kept[0].read_text(encoding="utf-8") == CSV
    url = preview_url(response)
    assert ada.get(url).status_code == 200  # the preview can be reloaded

    mapping = {"map-title": "Summary", "map-column": "Status", "map-due_date": "Due", "map-assignees": "Who"}
    refused = ada.form("POST", url, {"title": "Launch plan", **mapping})
    assert refused.status_code == 422
    assert "line 3: due date &#39;2026-02-31&#39; is not a date" in refused.get_data(as_text=True)
    assert boards_of(ada.app, "ada@example.com") == ["Roadmap"] and len(list((tmp_path / "imports").iterdir())) == 1

    done = ada.form("POST", url, {"title": "Launch plan", **mapping, "map-due_date": ""})  # due dates left out
    summary = finished(ada, done)
    with ada.app.app_context():
        board = db.session.scalar(select(Board).where(Board.title == "Launch plan"))
        assert [(column.title, [card.title for card in column.cards]) for column in board.columns] == [
            ("To do", ["Write the post"]), ("Doing", ["Fix the footer"])]
        assert [person.email for person in board.columns[0].cards[0].assignees] == ["grace@example.com"]
    assert board_link(summary) == f"/boards/{board.id}"
    assert list((tmp_path / "imports").iterdir()) == []  # deleted once imported
    assert ada.form("POST", url, {"title": "Again", **mapping}).status_code == 404


def test_the_preview_needs_a_title_and_a_title_column(ada):
    url = preview_url(upload(ada, "csv", CSV.encode(), "plan.csv"))
    no_title = ada.form("POST", url, {"title": " ", "map-title": "Summary"})
    assert no_title.status_code == 422 and "Give it a title." in no_title.get_data(as_text=True)
    no_column = ada.form("POST", url, {"title": "Plan", "map-title": ""})
    assert no_column.status_code == 422
    assert "choose which column of the file holds the card titles" in no_column.get_data(as_text=True)
    forged = ada.form("POST", url, {"title": "Plan", "map-title": "Nope"})
    assert forged.status_code == 422 and "the file has no column &#39;Nope&#39;" in forged.get_data(as_text=True)
    assert boards_of(ada.app, "ada@example.com") == ["Roadmap"]


def test_a_broken_csv_file_is_an_inline_error(ada):
    for content, message in ((b"", "line 1: the file is empty"),
                             (b"Title\nCaf\xe9\n", "line 2: the file is not UTF-8 text"),
                             (b'Title\n"open\n', "line 2: a quoted cell that starts here is never closed")):
        response = upload(ada, "csv", content, "plan.csv")
        assert response.status_code == 422 and message in response.get_data(as_text=True)


def test_a_preview_is_private_and_expires(app, ada, bob, tmp_path):
    response = upload(ada, "csv", CSV.encode(), "plan.csv")
    url = preview_url(response)
    assert bob.get(url).status_code == 404
    anonymous = app.test_client().get(url)
    assert anonymous.status_code == 302 and "/login" in anonymous.headers["Location"]
    forged = ada.client.post(url, data={"title": "No token", "map-title": "Summary"})  # no CSRF token
    assert forged.status_code == 400 and boards_of(app, "ada@example.com") == ["Roadmap"]
    assert bob.form("POST", url, {"title": "Mine now", "map-title": "Summary"}).status_code == 404
    assert ada.get("/boards/import/csv/..%2F..%2Fsecret_key").status_code == 404
    assert ada.get("/boards/import/csv/not-a-token").status_code == 404
    kept = next((tmp_path / "imports").iterdir())
    an_hour_ago = time.time() - 3700
    os.utime(kept, (an_hour_ago, an_hour_ago))
    expired = ada.form("POST", url, {"title": "Late", "map-title": "Summary"})
    assert expired.status_code == 404 and "Upload the file again" in expired.get_data(as_text=True)
    assert not kept.exists()


def test_stale_previews_are_swept_when_a_new_one_is_made(ada, tmp_path):
    upload(ada, "csv", CSV.encode(), "old.csv")
    old = next((tmp_path / "imports").iterdir())
    os.utime(old, (time.time() - 7200, time.time() - 7200))
    upload(ada, "csv", CSV.encode(), "new.csv")
    remaining = list((tmp_path / "imports").iterdir())
    assert len(remaining) == 1 and remaining[0] != old


def test_unknown_kinds_are_refused(ada):
    response = upload(ada, "excel", b"x", "plan.xlsx")
    assert response.status_code == 422 and "Not a valid choice" in response.get_data(as_text=True)


def test_a_second_user_sees_only_their_own_imports(app, ada, bob):
    response = upload(bob, "trello", json.dumps(full_board().data).encode(), "board.json")
    assert ada.get(response.headers["Location"]).status_code == 404  # the import's page is Bob's too
    finished(bob, response)
    assert boards_of(app, "bob@example.com") == ["Website relaunch 🚀"]
    assert boards_of(app, "ada@example.com") == ["Roadmap"]
    with app.app_context():
        board_id = db.session.scalar(select(Board.id).where(Board.title == "Website relaunch 🚀"))
    assert ada.get(f"/boards/{board_id}").status_code == 404
    html = UserClient(app, "bob@example.com").get(f"/boards/{board_id}").get_data(as_text=True)
    assert "Website relaunch" in html
