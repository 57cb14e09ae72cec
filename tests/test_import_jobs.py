"""Imports run in the background: the import's page shows a progress bar, then a summary or an
error; the board exists for nobody until it is complete; a lost job store or process never
loses or half-writes a board."""
import json
import os
import re
import threading
import time
import uuid

import pytest
from sqlalchemy import select

from webapp import portable
from webapp.extensions import db
from webapp.jobs import RUNNING, WAITING
from webapp.models import Board

from .conftest import UserClient, app_config, fresh_app, make_user
from .fixtures.trello import full_board
from .redis_server import private_redis  # noqa: F401  (a fixture)
from .test_import_pages import board_link, boards_of, finished, upload

TRELLO = json.dumps(full_board().data).encode()
JOB_URL = re.compile(r"/boards/import/jobs/([\w-]{22})$")


def job_token(response) -> str:
    return JOB_URL.search(response.headers["Location"]).group(1)


def ada_id(app) -> int:
    with app.app_context():
        return db.session.scalar(select(Board.owner_id).where(Board.title == "Roadmap"))


def save_job(app, user_id, token, **state):
    state = {"kind": "import", "state": RUNNING, "done": 0, "total": 0, "result": None, "error": None,
             "updated": time.time(), **state}
    app.extensions["jobs"].store.save(f"import-{user_id}-{token}", state)
    return f"/boards/import/jobs/{token}"


@pytest.fixture
def held(monkeypatch):
    """The import's writing stops just before its commit until the test lets it go on."""
    release, reached = threading.Event(), threading.Event()
    write_board = portable.write_board

    def write_and_wait(*args, **kwargs):
        written = write_board(*args, **kwargs)
        reached.set()
        release.wait(10)
        return written

    monkeypatch.setattr(portable, "write_board", write_and_wait)
    yield reached, release
    release.set()


def test_the_board_appears_only_once_the_import_is_complete(ada, held):
    reached, release = held
    response = upload(ada, "trello", TRELLO, "board.json")
    assert reached.wait(10)
    page = ada.get(response.headers["Location"]).get_data(as_text=True)
    assert '<progress id="import-progress" aria-label="Cards imported" value="8" max="8">' in page
    assert "Saving 8 cards." in page and 'hx-trigger="every 500ms"' in page
    assert boards_of(ada.app, "ada@example.com") == ["Roadmap"]  # written, not committed: nobody sees it
    release.set()
    summary = finished(ada, response)
    assert "Imported 4 columns, 8 cards" in summary and 'aria-busy="false"' in summary
    assert boards_of(ada.app, "ada@example.com") == ["Roadmap", "Website relaunch 🚀"]


def test_a_running_import_shows_how_far_it_got(app, ada):
    url = save_job(app, ada_id(app), "a" * 22, done=1200, total=5000)
    page = ada.get(url).get_data(as_text=True)
    assert '<progress id="import-progress" aria-label="Cards imported" value="1200" max="5000">' in page
    assert "Cards: 1,200 of 5,000." in page and "Nobody sees the board until it is complete." in page
    assert '<noscript><meta http-equiv="refresh" content="1"></noscript>' in page  # no JavaScript: reload
    assert ada.get(url).headers["Cache-Control"] == "no-store"
    fragment = ada.hx("GET", url).get_data(as_text=True)  # HTMX polls the panel alone
    assert fragment.lstrip().startswith('<section id="import-job"') and "<html" not in fragment
    assert f'hx-get="{url}" hx-trigger="every 500ms" hx-swap="outerHTML"' in fragment

    url = save_job(app, ada_id(app), "b" * 22, state=WAITING)
    assert "Waiting for another import to finish." in ada.get(url).get_data(as_text=True)


def test_an_import_whose_process_died_says_so(app, ada):
    url = save_job(app, ada_id(app), "c" * 22, done=100, total=5000, updated=time.time() - 600)
    page = ada.get(url).get_data(as_text=True)
    assert "The server restarted before this finished, and nothing of it was kept." in page
    assert "every 500ms" not in page and "refresh" not in page


def test_a_failure_while_writing_keeps_nothing_and_says_so(ada, monkeypatch, caplog):
    write_board = portable.write_board

    def write_then_fail(*args, **kwargs):
        write_board(*args, **kwargs)
        raise RuntimeError("disk full")

    monkeypatch.setattr(portable, "write_board", write_then_fail)
    page = finished(ada, upload(ada, "trello", TRELLO, "board.json"))
    assert "The import did not finish" in page and "nothing was kept" in page and "disk full" not in page
    assert boards_of(ada.app, "ada@example.com") == ["Roadmap"]
    assert "disk full" in caplog.text  # for the operator, in the log


def test_an_import_page_is_its_owners_alone(app, ada, bob):
    response = upload(ada, "trello", TRELLO, "board.json")
    assert bob.get(response.headers["Location"]).status_code == 404
    anonymous = app.test_client().get(response.headers["Location"])
    assert anonymous.status_code == 302 and "/login" in anonymous.headers["Location"]
    finished(ada, response)
    assert ada.get("/boards/import/jobs/" + "z" * 22).status_code == 404
    assert ada.get("/boards/import/jobs/..%2F..%2Fsecret_key").status_code == 404


def test_finished_imports_are_forgotten_after_a_day(app, ada, tmp_path):
    first = finished(ada, upload(ada, "trello", TRELLO, "board.json"))
    assert "is ready" in first
    (old,) = (tmp_path / "jobs").glob("*.json")
    os.utime(old, (time.time() - 90000, time.time() - 90000))
    finished(ada, upload(ada, "trello", TRELLO, "board.json"))
    assert old not in list((tmp_path / "jobs").glob("*.json"))


@pytest.fixture
def redis_app(tmp_path, private_redis):  # noqa: F811
    url = os.environ.get("TEST_DATABASE_URL") or f"sqlite:///{tmp_path / 'test.db'}"
    config = app_config(url, tmp_path, REDIS_URL=private_redis.url, REDIS_PREFIX=f"jobs-{uuid.uuid4().hex}")
    for app in fresh_app(config):
        with app.app_context():
            make_user("Ada")
        yield app


def test_with_redis_any_worker_can_show_the_progress(redis_app, tmp_path, private_redis):  # noqa: F811
    ada = UserClient(redis_app, "ada@example.com")
    response = upload(ada, "trello", TRELLO, "board.json")
    summary = finished(ada, response)
    assert not (tmp_path / "jobs").exists()  # kept in Redis, not in files
    from webapp import create_app  # another worker: its own app and process state, the same Redis
    other = create_app(dict(redis_app.config))
    try:
        other_ada = UserClient(other, "ada@example.com")
        assert board_link(other_ada.get(response.headers["Location"]).get_data(as_text=True)) == board_link(summary)
    finally:
        other.extensions["jobs"].shutdown()


def test_an_import_goes_on_when_redis_is_gone(redis_app, private_redis, caplog):  # noqa: F811
    ada = UserClient(redis_app, "ada@example.com")
    private_redis.kill()
    response = upload(ada, "trello", TRELLO, "board.json")
    assert response.status_code == 303
    page = ada.get(response.headers["Location"]).get_data(as_text=True)
    assert "How far it got cannot be read right now; the import goes on." in page
    deadline = time.monotonic() + 15
    while boards_of(redis_app, "ada@example.com") != ["Website relaunch 🚀"]:
        assert time.monotonic() < deadline, "the import was not saved"
        time.sleep(0.05)
    assert "could not be saved" in caplog.text


def test_a_big_export_reports_progress_as_it_goes(ada, monkeypatch):
    from .fixtures.trello import big_board

    seen = []
    write_board = portable.write_board

    def spy(plan, owner, *, progress, **kwargs):
        def report(done, total):
            seen.append((done, total))
            progress(done, total)
        return write_board(plan, owner, progress=report, **kwargs)

    monkeypatch.setattr(portable, "write_board", spy)
    page = finished(ada, upload(ada, "trello", json.dumps(big_board(450)).encode(), "big.json"))
    assert "450 cards" in page
    assert seen == [(100, 450), (200, 450), (300, 450), (400, 450), (450, 450)]
