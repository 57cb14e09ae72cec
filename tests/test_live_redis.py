"""Live updates across processes: two Hypercorn servers sharing Redis."""
import uuid

import pytest
from flask_migrate import upgrade

from webapp import create_app
from tests.conftest import make_board, make_user
from tests.servers import EventStream, HttpUser, Server, stream_path

REDIS_URL = "redis://127.0.0.1:6379/0"


def redis_reachable() -> bool:
    import redis
    try:
        return redis.Redis.from_url(REDIS_URL, socket_timeout=1).ping()
    except redis.RedisError:
        return False


pytestmark = pytest.mark.skipif(not redis_reachable(), reason="Redis is not running on 127.0.0.1:6379")


@pytest.fixture
def two_servers(tmp_path):
    database = f"sqlite:///{tmp_path / 'live.db'}"
    app = create_app({"SQLALCHEMY_DATABASE_URI": database, "SECRET_KEY": "shared-secret", "TESTING": True})
    with app.app_context():
        upgrade()
        board = make_board(make_user("Ada"), columns={"To do": ["One"], "Done": []})
        ids = board.id, {column.title: column.id for column in board.columns}
    env = {"DATABASE_URL": database, "SECRET_KEY": "shared-secret", "REDIS_URL": REDIS_URL,
           "REDIS_PREFIX": f"corkboard-test-{uuid.uuid4().hex}"}
    first = Server(env)
    try:
        second = Server(env)
    except Exception:
        first.stop()
        raise
    yield first, second, ids
    first.stop()
    second.stop()


def test_a_change_made_on_one_process_reaches_a_stream_on_another(two_servers):
    first, second, (board_id, columns) = two_servers
    ada = HttpUser(first.url).login("ada@example.com", "password123")
    on_second = ada.with_base(second.url)
    stream = EventStream(second.url, stream_path(on_second.board_page(board_id)))
    try:
        assert stream.status == 200
        assert 'title="Ada"' in stream.frame_named("presence")["data"]
        ada.board_page(board_id)
        status, _ = ada.hx("POST", f"/boards/{board_id}/columns/{columns['Done']}/cards", {"title": "Crossed over"})
        assert status == 200
        frame = stream.frame_named("board")
        assert ">Crossed over</a>" in frame["data"]
        event_id = int(frame["id"])
    finally:
        stream.close()

    # A browser that reconnects to the other process gets what it missed from the shared log.
    ada.hx("PATCH", f"/boards/{board_id}/columns/{columns['Done']}", {"title": "Shipped"})
    replay = EventStream(first.url, stream_path(ada.board_page(board_id)), {"Last-Event-ID": str(event_id)})
    try:
        assert ">Shipped</a>" in replay.frame_named("board")["data"]
    finally:
        replay.close()

