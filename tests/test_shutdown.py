"""Stopping Hypercorn with live streams open."""
import os
import re
import signal
import socket
import time

import pytest
from flask_migrate import upgrade

from webapp import create_app
from tests.conftest import make_board, make_user
from tests.redis_server import private_redis  # noqa: F401  (a fixture)
from tests.servers import EventStream, HttpUser, Server, stream_path


@pytest.fixture
def serving(tmp_path):
    database = f"sqlite:///{tmp_path / 'stop.db'}"
    app = create_app({"SQLALCHEMY_DATABASE_URI": database, "SECRET_KEY": "s", "TESTING": True})
    with app.app_context():
        upgrade()
        board_id = make_board(make_user("Ada")).id
    env = {"DATABASE_URL": database, "SECRET_KEY": "s", "REDIS_URL": ""}
    server = Server(env)
    server.env = env
    yield server, board_id
    server.stop()


def open_streams(server, board_id, count=3):
    ada = HttpUser(server.url).login("ada@example.com", "password123")
    path = stream_path(ada.board_page(board_id))
    streams = [EventStream(server.url, path) for _ in range(count)]
    for stream in streams:
        stream.frame_named("presence")
    return streams


def assert_ended_cleanly(stream):
    """The stream's last event says the server is restarting, then the response ends properly
    (the final chunk arrives: no cut connection), and the browser reconnects."""
    assert stream.frame_named("live") == {"event": "live", "data": "restarting"}
    assert stream.frame() == {}
    assert stream.response.isclosed() or stream.response.read() == b""
    assert stream.response.chunk_left is None  # http.client saw the terminating chunk


@pytest.mark.parametrize("whom", ["process group", "supervisor only"])
def test_sigterm_ends_open_streams_cleanly_within_a_second(serving, whom):
    """A deploy restarts Hypercorn while browsers hold their boards open, whether the signal
    reaches every process (systemd, Ctrl-C) or only the supervisor (docker stop, kill <pid>):
    every stream gets a last event and a proper end at once, not after the graceful timeout,
    and the server exits without a traceback."""
    server, board_id = serving
    streams = open_streams(server, board_id)
    started = time.monotonic()
    if whom == "process group":
        os.killpg(server.process.pid, signal.SIGTERM)
    else:
        os.kill(server.process.pid, signal.SIGTERM)
    for stream in streams:
        assert_ended_cleanly(stream)
    ended = time.monotonic() - started
    server.process.wait(10)
    exited = time.monotonic() - started
    stderr = server.output()
    assert ended < 1.0, f"streams ended {ended:.2f}s after SIGTERM"
    assert exited < 2.0, f"the server exited {exited:.2f}s after SIGTERM (graceful timeout: 2s)"
    assert "Traceback" not in stderr, stderr


def test_a_stream_whose_browser_stopped_reading_does_not_hold_the_shutdown(serving):
    """A browser that stopped reading (its socket buffers full) cannot take the last event:
    its stream is cut instead of holding the server until the graceful timeout."""
    server, board_id = serving
    ada = HttpUser(server.url).login("ada@example.com", "password123")
    page = ada.board_page(board_id)
    stuck = socket.socket()
    stuck.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # a small window, soon full
    stuck.connect(("127.0.0.1", server.port))
    stuck.sendall(f"GET {stream_path(page)} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
    received = b""
    while b"event: presence" not in received:
        received += stuck.recv(65536)
    # Events it never reads, until the server's send to it has to wait.
    column = re.findall(r'data-column="(\d+)"', page)[0]
    for n in range(120):
        ada.hx("POST", f"/boards/{board_id}/columns/{column}/cards", {"title": f"Card {n} " + "x" * 150})
    for n in range(40):  # a new column sends every open board the whole board: ~100 KB each
        ada.hx("POST", f"/boards/{board_id}/columns/", {"title": f"Column {n}"})
    started = time.monotonic()
    os.kill(server.process.pid, signal.SIGTERM)
    server.process.wait(10)
    exited = time.monotonic() - started
    stuck.settimeout(5)
    try:
        while chunk := stuck.recv(1 << 20):
            received += chunk
    except (ConnectionError, TimeoutError):
        pass
    stuck.close()
    assert exited < 2.0, f"the server exited {exited:.2f}s after SIGTERM"
    assert not received.endswith(b"0\r\n\r\n")  # cut, not ended: the last event could not be sent
    assert "Traceback" not in server.output()


def test_after_a_restart_a_page_that_reconnects_with_its_old_id_catches_up_and_sees_every_edit(serving):
    """Ids used to start from 1 again after a restart: the reconnected page ignored every update
    until the new ids passed its old one (5 edits never shown)."""
    server, board_id = serving
    ada = HttpUser(server.url).login("ada@example.com", "password123")
    page = ada.board_page(board_id)
    column = re.findall(r'data-column="(\d+)"', page)[0]
    stream = EventStream(server.url, stream_path(page))
    for n in range(5):
        ada.hx("POST", f"/boards/{board_id}/columns/{column}/cards", {"title": f"Before {n}"})
        last_id = stream.frame_named("board")["id"]
    stream.close()

    server.stop()
    restarted = Server(server.env, port=server.port)
    try:
        reconnected = EventStream(restarted.url, stream_path(ada.board_page(board_id)), {"Last-Event-ID": last_id})
        frame = reconnected.frame()
        if "event" not in frame:  # the opening "retry:"
            frame = reconnected.frame()
        assert frame["event"] == "refresh" and int(frame["id"]) > int(last_id)
        for n in range(5):
            ada.hx("POST", f"/boards/{board_id}/columns/{column}/cards", {"title": f"After {n}"})
            assert f">After {n}</a>" in reconnected.frame_named("board")["data"]
        reconnected.close()
    finally:
        restarted.stop()


def test_streams_ended_by_a_shutdown_leave_the_shared_presence(tmp_path, private_redis):
    """With Redis, who is viewing a board is shared by every process: a worker that stops must
    not leave its viewers listed there for good."""
    import uuid

    import redis

    database = f"sqlite:///{tmp_path / 'stop.db'}"
    app = create_app({"SQLALCHEMY_DATABASE_URI": database, "SECRET_KEY": "s", "TESTING": True})
    with app.app_context():
        upgrade()
        board_id = make_board(make_user("Ada")).id
    prefix = f"stop-{uuid.uuid4().hex}"
    server = Server({"DATABASE_URL": database, "SECRET_KEY": "s", "REDIS_URL": private_redis.url,
                     "REDIS_PREFIX": prefix})
    try:
        streams = open_streams(server, board_id, 2)
        presence = redis.Redis.from_url(private_redis.url)
        assert {int(count) for count in presence.hgetall(f"{prefix}:board:{board_id}:presence").values()} == {2}
        os.kill(server.process.pid, signal.SIGTERM)
        for stream in streams:
            assert_ended_cleanly(stream)
        server.process.wait(10)
        assert not presence.hgetall(f"{prefix}:board:{board_id}:presence")
    finally:
        server.stop()
