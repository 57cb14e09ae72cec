"""Browser tests: Playwright drives Debian's Chromium against a real Hypercorn on a free port.

The server is started once per test session, on a fresh SQLite database built by the
migrations (`flask db upgrade`), exactly as `make run` would build it, its mail sent over SMTP
to an inbox the tests read. Every test signs up its own account (confirmed through the emailed
link), so tests never see each other's boards.

Run only these: `pytest e2e`; skip them: `pytest -m "not e2e"`.
"""
import email
import email.policy
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import pytest
from playwright.sync_api import Page, expect

from aiosmtpd.controller import Controller

from webapp import assets

from .actions import MAILBOXES, Account, create_board, new_account, sign_up

REPO_ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
START_TIMEOUT = 20  # seconds for Hypercorn to answer /healthz
VIEWPORT = {"width": 1280, "height": 800}
LIVE_STREAM = re.compile(r"/boards/\d+/events(\?|$)")  # a board's Server-Sent Events


def pytest_configure(config):
    config.addinivalue_line("markers", "e2e: browser test against a real server (Playwright + Hypercorn)")


def pytest_collection_modifyitems(items):
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.path)).parents:
            item.add_marker(pytest.mark.e2e)


# --- the server ---------------------------------------------------------------------------

def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1) as response:
            return response.status == 200
    except OSError:
        return False


class Inbox:
    """What a test server mailed, received over real SMTP (this is the aiosmtpd handler)."""

    def __init__(self, port: int):
        self.port = port
        self.messages: list = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(email.message_from_bytes(envelope.content, policy=email.policy.default))
        return "250 OK"

    def to(self, address: str) -> list:
        return [message for message in self.messages if address in message["To"]]

    def last_body(self, address: str) -> str:
        return self.to(address)[-1].get_body(("plain",)).get_content()


class LiveServer:
    def __init__(self, url: str, log: Path, database_url: str = "", inbox: Inbox | None = None):
        self.url = url
        self.log = log
        self.database_url = database_url  # for tests that arrange data the UI takes email to arrange
        self.inbox = inbox  # what the server mailed (sign-up links, invitations), over real SMTP

    def log_since(self, offset: int) -> str:
        with self.log.open("rb") as file:
            file.seek(offset)
            return file.read().decode(errors="replace")

    def log_size(self) -> int:
        return self.log.stat().st_size


@contextmanager
def serve(workdir: Path, **settings: str) -> Iterator[LiveServer]:
    """Migrate a fresh SQLite database in `workdir`, start Hypercorn on a free port in its own
    process group (so stopping it stops anything it spawned), and stop it afterwards.
    Redis, real mail and debug settings of the environment are left out unless given: unless
    MAIL_SERVER is given, the server's mail goes over SMTP to an inbox of its own (`.inbox`)."""
    inbox = controller = None
    if "MAIL_SERVER" not in settings:
        inbox = Inbox(_free_port())
        controller = Controller(inbox, hostname="127.0.0.1", port=inbox.port)
        controller.start()
        settings = {"MAIL_SERVER": "127.0.0.1", "MAIL_PORT": str(inbox.port), "MAIL_USE_TLS": "0", **settings}
    try:
        with _serve(workdir, inbox, settings) as server:
            yield server
    finally:
        if controller is not None:
            controller.stop()


@contextmanager
def _serve(workdir: Path, inbox: Inbox | None, settings: dict) -> Iterator[LiveServer]:
    env = {name: value for name, value in os.environ.items()
           if name not in ("FLASK_DEBUG", "FLASK_APP", "REDIS_URL", "PUBLIC_URL") and not name.startswith("MAIL_")}
    env.update({
        "DATABASE_URL": f"sqlite:///{workdir / 'e2e.db'}",
        "SECRET_KEY": secrets.token_hex(32),
        "UPLOAD_FOLDER": str(workdir / "uploads"),
        "IMPORT_FOLDER": str(workdir / "imports"),
        "JOBS_FOLDER": str(workdir / "jobs"),
        "PYTHONUNBUFFERED": "1",
        # Every test signs up a new account from 127.0.0.1, far more than a person would.
        "RATELIMIT_SIGNUP_PER_CLIENT": "100000 per hour",
        **settings,
    })
    assets.build(REPO_ROOT / "static")  # the stylesheet and script bundles as the sources are now
    migrate = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "webapp", "db", "upgrade"],
        cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=60,
    )
    assert migrate.returncode == 0, f"flask db upgrade failed:\n{migrate.stdout}\n{migrate.stderr}"

    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    log = workdir / "hypercorn.log"
    with log.open("wb") as log_file:
        server = subprocess.Popen(
            [sys.executable, "-m", "hypercorn", "--workers", "0", "--bind", f"127.0.0.1:{port}",
             "--error-logfile", "-", "webapp.asgi:app"],
            cwd=REPO_ROOT, env=env, stdout=log_file, stderr=subprocess.STDOUT, start_new_session=True,
        )
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while not _answers(f"{url}/healthz"):
            if server.poll() is not None:
                pytest.fail(f"Hypercorn exited with {server.returncode}:\n{log.read_text()}")
            if time.monotonic() > deadline:
                pytest.fail(f"Hypercorn did not answer {url}/healthz within {START_TIMEOUT} s:\n"
                            f"{log.read_text()}")
            time.sleep(0.1)
        if inbox is not None:
            MAILBOXES[url] = inbox
        yield LiveServer(url, log, env["DATABASE_URL"], inbox)
    finally:
        MAILBOXES.pop(url, None)
        _stop(server)


@pytest.fixture(scope="session")
def live_server(tmp_path_factory) -> Iterator[LiveServer]:
    with serve(tmp_path_factory.mktemp("corkboard-e2e")) as server:
        yield server


def _stop(server: subprocess.Popen) -> None:
    try:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait(timeout=10)
    except ProcessLookupError:
        pass


# --- the browser ----------------------------------------------------------------------------

@pytest.fixture(scope="session")
def base_url(live_server) -> str:
    """pytest-playwright gives every context this base URL, so `page.goto("/boards/")` works."""
    return live_server.url


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args) -> dict:
    # `playwright install` does not work here: use Debian's Chromium.
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "args": ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"],
    }


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args) -> dict:
    return {**browser_context_args, "viewport": VIEWPORT, "locale": "en-GB"}


@pytest.fixture(autouse=True)
def page_errors(request, live_server) -> list[str]:
    """Fail the test on any uncaught JavaScript error or console error (a CSP violation is one)
    in its pages, or any server traceback.

    A test may also look at the list itself, to fail at the step that caused the error."""
    log_start = live_server.log_size()
    page_errors: list[str] = []
    if "context" in request.fixturenames:
        context = request.getfixturevalue("context")
        context.set_default_timeout(5_000)
        context.on("weberror", lambda error: page_errors.append(str(error.error)))
        context.on("console", lambda message: _console_error(message, page_errors))
    yield page_errors
    assert not page_errors, f"JavaScript errors in the page: {page_errors}"
    server_log = live_server.log_since(log_start)
    assert "Traceback" not in server_log, f"The server logged an error:\n{server_log}"


# Console errors that are the expected outcome of what a test does: an HTTP error answer (a
# refused action, shown in the page, which htmx also logs) and a live stream the test cuts or holds.
EXPECTED_CONSOLE_ERRORS = re.compile(r"^Failed to load resource|^Response Status Error Code|net::ERR_|EventSource")


def _console_error(message, page_errors: list[str]) -> None:
    """A console error is a failure too: a Content-Security-Policy violation (an inline script,
    handler or style, an image from elsewhere) shows only there, not as a page error."""
    if message.type == "error" and not EXPECTED_CONSOLE_ERRORS.search(message.text):
        page_errors.append(f"console: {message.text}")


@pytest.fixture
def fail_fast(request):
    """For a test of a known bug (xfail): page actions and expect() give up after 2 s, not 5 s."""
    if "context" in request.fixturenames:
        request.getfixturevalue("context").set_default_timeout(2_000)
    expect.set_options(timeout=2_000)
    yield
    expect.set_options(timeout=5_000)


@pytest.fixture
def hold_live_stream(context):
    """Keep every board's live stream connecting, never connected, so that a page shows only
    what its own requests bring back. Flow tests use this to stay deterministic; test_live.py
    tests the stream itself. (The live indicator stays hidden, as before any stream opens.)"""
    context.route(LIVE_STREAM, lambda route: None)  # never answered


# --- a user, a board ----------------------------------------------------------------------------

@pytest.fixture
def account() -> Account:
    return new_account()


@pytest.fixture
def signed_up_page(page: Page, account: Account) -> Page:
    """A page logged in as a brand-new user, on "My boards"."""
    sign_up(page, account)
    return page


@pytest.fixture
def board_page(signed_up_page: Page) -> Page:
    """A page on a new board named "Sprint 12" with the default columns."""
    create_board(signed_up_page, "Sprint 12")
    return signed_up_page
