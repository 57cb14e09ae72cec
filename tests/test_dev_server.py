"""`make dev` serves the ASGI app of production (live streams included) in debug mode: its own
command line, started here on a spare port, and the debugger it adds."""
import os
import re
import signal
import subprocess
import time
import urllib.request

import pytest
from flask_migrate import upgrade

from webapp import create_app
from webapp.asgi import with_debugger
from tests.conftest import app_config, make_board, make_user
from tests.servers import ROOT, EventStream, HttpUser, free_port, stream_path


def make_command(port: int) -> str:
    """The command `make dev` runs once its set-up is done, as make expands it."""
    printed = subprocess.run(
        ["make", "-s", "--no-print-directory", "--eval", "print-dev-server: ; @echo '$(DEV_SERVER)'",
         "print-dev-server", f"PORT={port}", "HOST=127.0.0.1"],
        cwd=ROOT, capture_output=True, text=True, timeout=30, check=True)
    return printed.stdout.strip()


def test_make_dev_runs_the_dev_server_command():
    dry_run = subprocess.run(["make", "-s", "-n", "dev", "PORT=8765"], cwd=ROOT, capture_output=True,
                             text=True, timeout=30, check=True)
    assert dry_run.stdout.strip().splitlines()[-1] == make_command(8765)
    command = make_command(8765)
    assert "--reload" in command and "FLASK_DEBUG=1" in command
    assert "PAGE_CACHE=0" in command  # an edited template shows on the next board page


@pytest.fixture
def dev_server(tmp_path):
    database = f"sqlite:///{tmp_path / 'dev.db'}"
    app = create_app({"SQLALCHEMY_DATABASE_URI": database, "SECRET_KEY": "dev-secret", "TESTING": True})
    with app.app_context():
        upgrade()
        board_id = make_board(make_user("Ada")).id
    port = free_port()
    env = {**os.environ, "DATABASE_URL": database, "DEV_MAIL_PORT": str(free_port())}
    env.pop("SECRET_KEY", None)  # debug mode needs none
    process = subprocess.Popen(make_command(port), shell=True, cwd=ROOT, env=env, start_new_session=True,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(url + "/healthz", timeout=1).read()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"make dev's server did not start:\n{stop(process)}")
                time.sleep(0.2)
        yield url, board_id, process
    finally:
        stop(process)


def stop(process) -> str:
    """Stop the server's process group (Hypercorn's reloader and its worker), within seconds."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(5)
    return process.stdout.read() if process.stdout else ""


def test_make_devs_server_streams_a_board_live(dev_server):
    url, board_id, process = dev_server
    ada = HttpUser(url).login("ada@example.com", "password123")
    stream = EventStream(url, stream_path(ada.board_page(board_id)))
    try:
        assert stream.status == 200
        assert stream.response.getheader("Content-Type").startswith("text/event-stream")
        assert stream.frame_named("presence")
    finally:
        stream.close()
    with urllib.request.urlopen(url + "/readyz", timeout=5) as response:
        assert response.status == 200 and response.headers["X-Request-Id"]
    started = time.monotonic()
    output = stop(process)
    assert time.monotonic() - started < 10
    assert re.search(r"Debugger active .*PIN: [0-9-]+", output)  # the PIN is in the log, not off


# --- The debugger ---------------------------------------------------------------------------

def failing_app(tmp_path, **config):
    app = create_app(app_config(f"sqlite:///{tmp_path / 'test.db'}", tmp_path, TESTING=False, **config))

    @app.get("/test/fail")
    def fail():
        raise RuntimeError("boom in a view")
    return with_debugger(app)


def test_in_debug_mode_an_error_shows_the_debugger_to_this_machine(tmp_path):
    app = failing_app(tmp_path, DEBUG=True)
    response = app.test_client().get("/test/fail")
    assert response.status_code == 500
    page = response.get_data(as_text=True)
    assert "RuntimeError: boom in a view" in page and "__debugger__" in page


def test_the_debugger_never_answers_another_machine(tmp_path):
    app = failing_app(tmp_path, DEBUG=True)
    with pytest.raises(RuntimeError, match="boom in a view"):  # the server answers a bare 500
        app.test_client().get("/test/fail", environ_base={"REMOTE_ADDR": "192.0.2.9"})


def test_without_debug_mode_there_is_no_debugger(tmp_path):
    app = failing_app(tmp_path)
    response = app.test_client().get("/test/fail")
    assert response.status_code == 500 and "__debugger__" not in response.get_data(as_text=True)
