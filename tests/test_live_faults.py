"""Live updates when Redis fails: a saved change is never reported as an error, never waits
on Redis, and open boards say live updates are paused, then catch up by themselves."""
import time
import uuid
from pathlib import Path

import pytest
from flask_migrate import upgrade

from tests.conftest import UserClient, make_board, make_user, BoardRef
from tests.redis_server import private_redis  # noqa: F401  (a fixture)
from tests.servers import EventStream, HttpUser, Server, stream_path
from webapp import create_app
from webapp.extensions import db
from webapp.models import Card


@pytest.fixture
def redis_app(tmp_path, private_redis):
    app = create_app({
        "TESTING": True, "SECRET_KEY": "test-secret", "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'f.db'}",
        "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000", "DEV_MAILBOX": False, "UPLOAD_FOLDER": str(tmp_path / "up"),
        "REDIS_URL": private_redis.url, "REDIS_PREFIX": f"faults-{uuid.uuid4().hex}",
    })
    with app.app_context():
        db.create_all()
        board = BoardRef(make_board(make_user("Ada")))
    ada = UserClient(app, "ada@example.com")
    ada.board = board
    broker = app.extensions["live"]
    timings = []
    publish = broker.publish

    def timed_publish(*args, **kwargs):
        started = time.perf_counter()
        try:
            return publish(*args, **kwargs)
        finally:
            timings.append(time.perf_counter() - started)

    broker.publish = timed_publish
    yield app, ada, timings
    broker.publisher.close()


def make_changes(app, ada, count=6) -> list[float]:
    """Card changes of every kind, each answered; how long each request took."""
    durations = []
    column = ada.board.column_url("Doing")
    for n in range(count):
        for method, url, data in [("POST", f"{column}/cards", {"title": f"Saved {n}"}),
                                  ("PUT", ada.board.card_url("One"), {"title": f"One, edit {n}"}),
                                  ("PATCH", f"{ada.board.card_url('Two')}/move",
                                   {"column_id": ada.board.columns["Done"], "position": 0})]:
            started = time.perf_counter()
            response = ada.hx(method, url, data)
            durations.append(time.perf_counter() - started)
            assert response.status_code == 200, (method, url, response.status_code, response.get_data(as_text=True)[:300])
            assert "Nothing was saved" not in response.get_data(as_text=True)
    with app.app_context():
        titles = set(db.session.scalars(db.select(Card.title)))
    assert {f"Saved {n}" for n in range(count)} <= titles and f"One, edit {count - 1}" in titles
    return durations


@pytest.mark.parametrize("fault", ["down", "stalled"])
def test_with_redis_failing_every_change_is_saved_and_answered_at_once(redis_app, private_redis, fault):
    """Redis down used to turn every saved change into 500 "Nothing was saved" (users retried
    and made duplicates); Redis stalled held each change's thread for seconds."""
    app, ada, timings = redis_app
    make_changes(app, ada, 1)  # Redis is fine
    if fault == "down":
        private_redis.kill()
    else:
        private_redis.freeze()
    durations = make_changes(app, ada)
    # A bound against blocking on Redis (seconds, before), not a speed target.
    assert max(timings) < 0.25, f"publishing took up to {max(timings) * 1000:.0f} ms"
    assert max(durations) < 1.0, f"a change took up to {max(durations):.2f} s"


def test_a_full_queue_drops_events_without_waiting(redis_app, private_redis, monkeypatch):
    app, ada, timings = redis_app
    private_redis.freeze()
    broker = app.extensions["live"]
    for n in range(3000):  # more than the queue holds
        broker.publish(ada.board.id, "board", f"change {n}")
    assert max(timings) < 0.25
    assert ada.board.id in broker.publisher.gaps  # the board is told to reload once Redis is back


@pytest.fixture
def served(tmp_path, private_redis):
    database = f"sqlite:///{tmp_path / 'live.db'}"
    app = create_app({"SQLALCHEMY_DATABASE_URI": database, "SECRET_KEY": "shared-secret", "TESTING": True})
    with app.app_context():
        upgrade()
        board = make_board(make_user("Ada"), columns={"To do": ["One"], "Done": []})
        ids = board.id, {column.title: column.id for column in board.columns}
    server = Server({"DATABASE_URL": database, "SECRET_KEY": "shared-secret", "REDIS_URL": private_redis.url,
                     "REDIS_PREFIX": f"faults-{uuid.uuid4().hex}"})
    try:
        yield server, ids
    finally:
        server.stop()


def add_card(ada, board_id, column_id, title):
    status, _ = ada.hx("POST", f"/boards/{board_id}/columns/{column_id}/cards", {"title": title})
    assert status == 200, status


@pytest.mark.parametrize("fault", ["down", "stalled"])
def test_open_boards_say_live_updates_are_paused_and_resume_by_themselves(served, private_redis, fault):
    server, (board_id, columns) = served
    ada = HttpUser(server.url).login("ada@example.com", "password123")
    stream = EventStream(server.url, stream_path(ada.board_page(board_id)))
    try:
        stream.frame_named("presence")
        add_card(ada, board_id, columns["Done"], "Before")
        before = stream.frame_named("board")
        assert ">Before</a>" in before["data"]

        private_redis.kill() if fault == "down" else private_redis.freeze()
        add_card(ada, board_id, columns["Done"], "During")  # saved, and answered at once
        assert stream.frame_named("live") == {"event": "live", "data": "paused"}

        private_redis.start() if fault == "down" else private_redis.thaw()
        assert stream.frame_named("live") == {"event": "live", "data": "resumed"}  # the page reloads its board
        add_card(ada, board_id, columns["Done"], "After")
        after = stream.frame_named("board")
        assert ">After</a>" in after["data"]
        assert int(after["id"]) > int(before["id"])  # never ignored by a page that saw "Before"
    finally:
        stream.close()

    # A page that was away through it all reconnects with its old id. After a restart (a new
    # epoch) it is told to reload its board; after a stall, it gets the log's replay, which
    # holds a reload for the change whose event was dropped ("During").
    status, page = ada.request("GET", f"/boards/{board_id}")
    late = EventStream(server.url, stream_path(page), {"Last-Event-ID": before["id"]})
    try:
        frames = [late.frame()]
        while frames[-1].get("event") != "presence":  # sent once the catch-up has been
            frames.append(late.frame())
    finally:
        late.close()
    events = [frame for frame in frames if "event" in frame]
    names = [frame["event"] for frame in events]
    assert "refresh" in names[:3], names
    if fault == "down":
        assert names[0] == "refresh" and int(events[0]["id"]) >= int(after["id"])


def test_an_operator_sees_whether_live_updates_flow(served, private_redis):
    server, _ = served
    import json
    import urllib.error
    import urllib.request

    def status():
        try:
            with urllib.request.urlopen(server.url + "/healthz/live", timeout=5) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read())

    code, body = status()
    assert code == 200 and body["broker"] == "redis" and body["connected"] is True
    private_redis.kill()
    deadline = time.monotonic() + 5
    while status()[0] != 503 and time.monotonic() < deadline:
        time.sleep(0.1)
    code, body = status()
    assert code == 503 and body["connected"] is False


def test_a_broker_that_fails_costs_a_live_update_never_a_saved_change(app, ada, monkeypatch, caplog):
    def broken(*args, **kwargs):
        raise RuntimeError("the broker is broken")

    monkeypatch.setattr(app.extensions["live"], "publish", broken)
    response = ada.hx("POST", f"{ada.board.column_url('Doing')}/cards", {"title": "Saved anyway"})
    assert response.status_code == 200 and ">Saved anyway</a>" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(db.select(Card.id).where(Card.title == "Saved anyway"))
    assert "not published" in caplog.text


def test_event_ids_keep_growing_when_redis_restarts_empty_or_from_an_older_snapshot(private_redis):
    """Redis without persistence forgets the sequence; Redis restored from a snapshot goes back
    to an older one. Either way, a page holding the newest id it saw must not ignore what comes."""
    import redis as redis_client

    from webapp.live import RedisBroker, parse_message

    broker = RedisBroker(private_redis.url, prefix=f"ids-{uuid.uuid4().hex}")
    board_id = 1
    seen: list[int] = []

    def publish(count: int) -> list[int]:
        client = redis_client.Redis.from_url(private_redis.url)
        log_key = broker.keys(board_id)[1]
        before = client.llen(log_key)
        for n in range(count):
            broker.publish(board_id, "board", f"change {n}")
        deadline = time.monotonic() + 5
        while client.llen(log_key) < before + count and time.monotonic() < deadline:
            time.sleep(0.02)
        ids = [parse_message(board_id, message).id for message in client.lrange(log_key, before, -1)]
        assert len(ids) == count
        return ids

    try:
        seen += publish(3)
        redis_client.Redis.from_url(private_redis.url).save()  # a snapshot, then more events
        seen += publish(3)
        private_redis.restart()  # back to the snapshot: its sequence is 3 events behind
        after_snapshot = publish(3)
        assert min(after_snapshot) > max(seen), (seen, after_snapshot)
        seen += after_snapshot
        (private_redis.dir / "dump.rdb").unlink()
        private_redis.restart()  # empty
        after_empty = publish(3)
        assert min(after_empty) > max(seen), (seen, after_empty)
        assert after_empty == sorted(after_empty)
    finally:
        broker.publisher.close()


def test_a_command_that_exits_right_after_its_change_still_sends_the_event(tmp_path, private_redis):
    """The importer or a `flask` command publishes and exits at once: the event is not lost
    with the publisher's queue."""
    import subprocess
    import sys

    import redis as redis_client

    prefix = f"exit-{uuid.uuid4().hex}"
    code = ("from webapp.live import RedisBroker\n"
            f"broker = RedisBroker({private_redis.url!r}, prefix={prefix!r})\n"
            "broker.publish(5, 'refresh')\n")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=30, cwd=tmp_path.parent,
                   env={"PYTHONPATH": str(Path(__file__).resolve().parent.parent)})
    assert redis_client.Redis.from_url(private_redis.url).llen(f"{prefix}:board:5:log") == 1
