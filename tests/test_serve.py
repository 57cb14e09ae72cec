"""Several workers (`python -m webapp.serve`): each listens on its own socket, and the
connections of a steady set of clients (nginx's upstream pool, a load test) end up on all of them."""
import os
import re
import shutil
import signal
import socket
import subprocess
import time

import pytest
from flask_migrate import upgrade

from webapp import create_app
from tests.servers import Server

pytestmark = pytest.mark.skipif(not shutil.which("ss"), reason="needs `ss` (iproute2) to see which worker holds a socket")


@pytest.fixture
def two_workers(tmp_path):
    database = f"sqlite:///{tmp_path / 'serve.db'}"
    with create_app({"SQLALCHEMY_DATABASE_URI": database, "SECRET_KEY": "s", "TESTING": True}).app_context():
        upgrade()
    server = Server({"DATABASE_URL": database, "SECRET_KEY": "s", "REDIS_URL": ""}, workers=2)
    yield server
    server.stop()


def owners(state: str, port: int) -> list[int]:
    """The pids of the processes holding sockets of `port` in `state` (listening/established)."""
    lines = subprocess.run(["ss", "-Htnp", "state", state, "sport", "=", f":{port}"],
                           capture_output=True, text=True, check=True).stdout
    return [int(pid) for pid in re.findall(r"pid=(\d+)", lines)]


def listeners(port: int, expected: int = 2) -> list[int]:
    """The listening workers, once `expected` of them are up (the first answers before the second starts)."""
    deadline = time.monotonic() + 15
    while len(pids := owners("listening", port)) < expected and time.monotonic() < deadline:
        time.sleep(0.1)
    return pids


def test_each_worker_listens_and_gets_a_share_of_the_connections(two_workers):
    workers = listeners(two_workers.port)
    assert len(workers) == len(set(workers)) == 2  # two sockets, one per worker
    clients = [socket.create_connection(("127.0.0.1", two_workers.port)) for _ in range(40)]
    try:
        for client in clients:  # a request each, so every connection has been accepted
            client.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            assert client.recv(1024).startswith(b"HTTP/1.1 200")
        served_by = owners("established", two_workers.port)
        assert len(served_by) == 40
        assert set(served_by) == set(workers)
    finally:
        for client in clients:
            client.close()


def test_sigterm_stops_every_worker(two_workers):
    workers = set(listeners(two_workers.port))
    assert len(workers) == 2
    os.killpg(two_workers.process.pid, signal.SIGTERM)
    assert two_workers.process.wait(15) == 0
    for pid in workers:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
