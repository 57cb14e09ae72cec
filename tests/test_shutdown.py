"""Stopping Hypercorn with live streams open."""
import os
import signal
import time

from flask_migrate import upgrade

from webapp import create_app
from tests.conftest import make_board, make_user
from tests.servers import EventStream, HttpUser, Server, stream_path


def test_sigterm_stops_the_server_with_streams_open(tmp_path):
    """A deploy restarts Hypercorn while browsers hold their boards open: it stops promptly,
    and each stream ends cleanly (the browser reconnects to the new server by itself)."""
    database = f"sqlite:///{tmp_path / 'stop.db'}"
    app = create_app({"SQLALCHEMY_DATABASE_URI": database, "SECRET_KEY": "s", "TESTING": True})
    with app.app_context():
        upgrade()
        board_id = make_board(make_user("Ada")).id
    server = Server({"DATABASE_URL": database, "SECRET_KEY": "s", "REDIS_URL": ""})
    try:
        ada = HttpUser(server.url).login("ada@example.com", "password123")
        path = stream_path(ada.board_page(board_id))
        streams = [EventStream(server.url, path) for _ in range(3)]
        for stream in streams:
            stream.frame_named("presence")
        started = time.monotonic()
        os.killpg(server.process.pid, signal.SIGTERM)
        server.process.wait(10)
        assert time.monotonic() - started < 8
        for stream in streams:
            assert stream.frame() == {}  # the server closed the stream
    finally:
        server.stop()
