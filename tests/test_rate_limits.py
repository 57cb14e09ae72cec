"""Rate limits (webapp/limits.py): guessing passwords, flooding a victim with reset mail,
mass signups and invitations, floods of changes. Each answered 429 with a clear message and
Retry-After, as a page, an HTMX fragment or JSON."""
import os
import re
import shutil
import signal
import socket
import subprocess
import threading
import time

import pytest

from tests.conftest import TOKEN, UserClient, fresh_app, make_board, make_user
from tests.conftest import app_config as base_config
from webapp import create_app
from webapp.extensions import db
from webapp.models import Invitation

TOO_MANY = re.compile(r"Too many attempts\. Try again in (\d+) minutes?\.")


@pytest.fixture
def app(tmp_path):
    """The suite's app, with rate limiting on (tests have it off unless they ask)."""
    url = os.environ.get("TEST_DATABASE_URL") or f"sqlite:///{tmp_path / 'test.db'}"
    yield from fresh_app(app_config(url, tmp_path))


def app_config(url, tmp_path, **extra):
    return base_config(url, tmp_path, RATELIMIT_ENABLED=True, **extra)


def browser(app, address="192.0.2.1"):
    """A browser at a given client address."""
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


def csrf(client, url):
    html = client.get(url).get_data(as_text=True)
    return (TOKEN.search(html) or re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html)).group(1)


def log_in(client, email, password):
    return client.post("/login", data={"email": email, "password": password, "csrf_token": csrf(client, "/login")})


def logged_in(client) -> bool:
    return client.get("/boards/").status_code == 200


@pytest.fixture
def ada_account(app):
    with app.app_context():
        make_user("Ada")
    return "ada@example.com"


# --- Logging in -------------------------------------------------------------------------------

def test_ten_wrong_passwords_then_the_right_one_is_refused(app, ada_account):
    client = browser(app)
    for _ in range(10):
        assert log_in(client, ada_account, "wrong-guess").status_code == 422
    response = log_in(client, ada_account, "password123")
    html = response.get_data(as_text=True)
    assert response.status_code == 429
    assert TOO_MANY.search(html).group(1) == "15"
    assert 800 < int(response.headers["Retry-After"]) <= 900
    assert not logged_in(client)


def test_the_account_is_protected_whatever_address_guesses(app, ada_account):
    """Guesses spread over many client addresses still count against the one account."""
    for n in range(10):
        assert log_in(browser(app, f"198.51.100.{n}"), " ADA@example.com", "wrong-guess").status_code == 422
    fresh = browser(app, "203.0.113.7")
    assert log_in(fresh, ada_account, "password123").status_code == 429
    assert not logged_in(fresh)
    # Another account is not locked by Ada's guesser.
    with app.app_context():
        make_user("Bob")
    assert log_in(browser(app, "203.0.113.8"), "bob@example.com", "password123").status_code == 303


def test_one_address_guessing_many_accounts_is_stopped(app, ada_account):
    client = browser(app, "192.0.2.50")
    for n in range(10):
        assert log_in(client, f"guess{n}@example.com", "wrong-guess").status_code == 422
    assert log_in(client, ada_account, "password123").status_code == 429
    # Ada, elsewhere, logs in as usual.
    assert log_in(browser(app, "192.0.2.51"), ada_account, "password123").status_code == 303


def test_only_wrong_passwords_count(app, ada_account):
    client = browser(app)
    for _ in range(9):
        log_in(client, ada_account, "wrong-guess")
    assert log_in(client, ada_account, "password123").status_code == 303  # the 10th attempt, right
    for _ in range(12):  # logging in again and again is no attempt at guessing
        client.post("/logout", data={"csrf_token": csrf(client, "/boards/")})
        assert log_in(client, ada_account, "password123").status_code == 303


def test_the_lock_lifts_when_the_window_has_passed(app, ada_account):
    app.config["RATELIMIT_LOGIN_PER_ACCOUNT"] = "2 per 2 seconds"
    client = browser(app)
    log_in(client, ada_account, "wrong-guess")
    log_in(client, ada_account, "wrong-guess")
    refused = log_in(client, ada_account, "password123")
    assert refused.status_code == 429 and "Try again in 1 minute." in refused.get_data(as_text=True)
    assert 1 <= int(refused.headers["Retry-After"]) <= 2
    time.sleep(2.1)
    assert log_in(client, ada_account, "password123").status_code == 303 and logged_in(client)


def test_login_limits_come_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("RATELIMIT_LOGIN_PER_ACCOUNT", "3 per hour")
    app = create_app(app_config("sqlite://", tmp_path))
    assert app.config["RATELIMIT_LOGIN_PER_ACCOUNT"] == "3 per hour"
    assert app.config["RATELIMIT_LOGIN_PER_CLIENT"] == "10 per 15 minutes"


def test_limits_are_off_in_tests_unless_asked_for(tmp_path):
    quiet = create_app({k: v for k, v in app_config(f"sqlite:///{tmp_path / 'q.db'}", tmp_path).items()
                        if k != "RATELIMIT_ENABLED"})
    assert quiet.config["RATELIMIT_ENABLED"] is False
    with quiet.app_context():
        db.create_all()
        make_user("Ada")
    client = quiet.test_client()
    assert all(log_in(client, "ada@example.com", "wrong").status_code == 422 for _ in range(12))


def test_behind_the_proxy_each_person_has_their_own_count(app, ada_account):
    """nginx on this machine forwards everyone from 127.0.0.1: the limit follows the address it
    saw (the last X-Forwarded-For entry), not the proxy's, and not what a client claims."""
    def through_nginx(real_address, claimed=None):
        client = browser(app, "127.0.0.1")
        chain = f"{claimed}, {real_address}" if claimed else real_address
        client.environ_base["HTTP_X_FORWARDED_FOR"] = chain
        return client

    guesser = through_nginx("198.51.100.66")
    for n in range(10):
        assert log_in(guesser, f"guess{n}@example.com", "wrong").status_code == 422
    assert log_in(guesser, "guess@example.com", "wrong").status_code == 429
    # Claiming another address in the header does not get the guesser a fresh count...
    assert log_in(through_nginx("198.51.100.66", claimed="10.9.9.9"), "x@example.com", "wrong").status_code == 429
    # ...and everyone else behind the same proxy logs in as usual.
    assert log_in(through_nginx("203.0.113.20"), ada_account, "password123").status_code == 303
    # A client connecting directly cannot pick its address with the header.
    direct = browser(app, "192.0.2.30")
    direct.environ_base["HTTP_X_FORWARDED_FOR"] = "203.0.113.99"
    for n in range(10):
        log_in(direct, f"other{n}@example.com", "wrong")
    assert log_in(browser(app, "192.0.2.30"), "someone@example.com", "wrong").status_code == 429


# --- Password reset mail ------------------------------------------------------------------------

def ask_for_reset(client, email):
    return client.post("/forgot-password", data={"email": email, "csrf_token": csrf(client, "/forgot-password")})


def test_thirty_reset_requests_send_at_most_three_mails(app, ada_account, smtp):
    answers = [ask_for_reset(browser(app, f"198.51.100.{n}"), "ada@example.com").status_code for n in range(30)]
    assert answers[:3] == [303, 303, 303] and set(answers[3:]) == {429}
    assert len(smtp.to("ada@example.com")) == 3
    # The limit is per address the mail goes to, whether or not it has an account.
    refused = ask_for_reset(browser(app), "ada@example.com")
    assert TOO_MANY.search(refused.get_data(as_text=True)).group(1) == "60"
    assert ask_for_reset(browser(app), "nobody@example.com").status_code == 303


def test_one_client_cannot_mail_many_addresses(app, smtp):
    client = browser(app, "192.0.2.9")
    answers = [ask_for_reset(client, f"victim{n}@example.com").status_code for n in range(12)]
    assert answers == [303] * 10 + [429, 429]
    assert len(smtp.messages) == 10


# --- Signups and invitations --------------------------------------------------------------------

def test_signups_are_limited_per_client(app, smtp):
    app.config["RATELIMIT_SIGNUP_PER_CLIENT"] = "3 per hour"
    client = browser(app, "192.0.2.77")
    password = "plum-kettle-orbit-93"

    def sign_up(n):
        return client.post("/signup", data={"name": f"P{n}", "email": f"p{n}@example.com", "password": password,
                                             "confirm": password, "csrf_token": csrf(client, "/signup")})
    assert all(sign_up(n).status_code < 400 for n in range(3))
    refused = sign_up(3)
    assert refused.status_code == 429 and TOO_MANY.search(refused.get_data(as_text=True))
    assert browser(app, "192.0.2.78").post("/signup", data={}).status_code != 429  # another client


def test_signing_up_cannot_flood_someone_with_mail(app, smtp):
    """Each sign-up emails the address typed (a confirmation, or "you already have an account"):
    30 of them for one victim, from many clients, send at most 3."""
    password = "plum-kettle-orbit-93"
    answers = []
    for n in range(30):
        client = browser(app, f"198.51.100.{n}")
        answers.append(client.post("/signup", data={
            "name": "Mallory", "email": "victim@example.com", "password": password, "confirm": password,
            "csrf_token": csrf(client, "/signup")}).status_code)
    assert answers[:3] == [200] * 3 and set(answers[3:]) == {429}
    assert len(smtp.to("victim@example.com")) == 3


def test_guessing_the_current_password_to_change_it_is_limited(app):
    with app.app_context():
        make_user("Ada")
    ada = UserClient(app, "ada@example.com")
    new = "plum-kettle-orbit-93"

    def change(current):
        return ada.form("POST", "/account/password", {"current_password": current, "password": new, "confirm": new})
    assert all(change(f"guess{n}").status_code == 422 for n in range(10))
    refused = change("password123")
    assert refused.status_code == 429 and TOO_MANY.search(refused.get_data(as_text=True))
    assert log_in(browser(app, "192.0.2.3"), "ada@example.com", "password123").status_code == 303  # unchanged


def test_invitations_are_limited_per_owner(app, smtp):
    app.config["RATELIMIT_INVITE_PER_USER"] = "2 per hour"
    with app.app_context():
        board_id = make_board(make_user("Ada")).id
    ada = UserClient(app, "ada@example.com")
    url = f"/boards/{board_id}/invitations"
    for n in range(2):
        assert ada.hx("POST", url, {"email": f"guest{n}@example.com", "role": "viewer"}).status_code == 200
    refused = ada.hx("POST", url, {"email": "guest9@example.com", "role": "viewer"})
    html = refused.get_data(as_text=True)
    # The HTMX fragment goes to the page's error area, and says so plainly.
    assert refused.status_code == 429 and refused.headers["HX-Retarget"] == "#errors"
    assert "<!doctype" not in html.lower() and TOO_MANY.search(html).group(1) == "60"
    assert int(refused.headers["Retry-After"]) > 3000
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(Invitation)) == 2
    assert len(smtp.messages) == 2


# --- Floods of changes --------------------------------------------------------------------------

def test_a_flood_of_changes_is_stopped_per_user(app):
    app.config["RATELIMIT_CHANGES_PER_USER"] = "5 per minute"
    with app.app_context():
        ada_user = make_user("Ada")
        board = make_board(ada_user)
        board_id, card_id = board.id, board.columns[0].cards[0].id
        make_user("Bob")
    ada = UserClient(app, "ada@example.com")
    url = f"/boards/{board_id}/cards/{card_id}"
    answers = [ada.hx("PATCH", url, {"title": f"Title {n}"}).status_code for n in range(6)]
    assert answers == [200] * 5 + [429]
    refused = ada.hx("PATCH", url, {"title": "One more"}, headers={"Accept": "application/json"})
    assert refused.status_code == 429 and "Retry-After" in refused.headers
    assert refused.json == {"error": 429, "message": "Too many changes in a short time. Try again in 1 minute."}
    assert ada.get(f"/boards/{board_id}").status_code == 200  # reading goes on
    bob = UserClient(app, "bob@example.com")  # another user is not held back
    assert bob.hx("POST", "/boards/", {"title": "Mine"}).status_code < 400


def test_uploads_are_limited_by_size_per_user(app, tmp_path):
    """Disk is finite: each user's uploads count by their megabytes."""
    import io
    app.config["RATELIMIT_UPLOAD_MB_PER_USER"] = "3 per hour"
    with app.app_context():
        board = make_board(make_user("Ada"))
        url = f"/boards/{board.id}/cards/{board.columns[0].cards[0].id}/attachments"
    ada = UserClient(app, "ada@example.com")

    def upload(name):
        data = {"files": [(io.BytesIO(b"x" * (3 * 2**19)), name)]}  # 1.5 MiB: counts as 2
        return ada.hx("POST", url, data, content_type="multipart/form-data")
    assert upload("first.txt").status_code == 200
    refused = upload("second.txt")
    assert refused.status_code == 429
    assert "Too much uploaded in a short time. Try again in 60 minutes." in refused.get_data(as_text=True)
    page = ada.get(url.rsplit("/attachments", 1)[0]).get_data(as_text=True)
    assert "first.txt" in page and "second.txt" not in page


# --- Redis: shared by every worker, and its outage is nobody's error ----------------------------

def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def redis_server(tmp_path):
    if not shutil.which("redis-server"):
        pytest.skip("redis-server is not installed")
    port = free_port()
    process = subprocess.Popen(["redis-server", "--port", str(port), "--save", "", "--appendonly", "no",
                                "--dir", str(tmp_path)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                break
        time.sleep(0.05)
    else:
        process.kill()
        pytest.skip("redis-server did not start")
    yield f"redis://127.0.0.1:{port}/0", process
    if process.poll() is None:
        process.kill()
        process.wait()


def test_counts_are_shared_through_redis_and_survive_its_outage(app, ada_account, redis_server, tmp_path):
    url, process = redis_server
    database = app.config["SQLALCHEMY_DATABASE_URI"]
    # Two workers of one deployment: guesses through either count together.
    first = create_app(app_config(database, tmp_path, REDIS_URL=url))
    for _ in range(5):
        assert log_in(browser(first), ada_account, "wrong-guess").status_code == 422
    second = create_app(app_config(database, tmp_path, REDIS_URL=url))
    for _ in range(5):
        assert log_in(browser(second), ada_account, "wrong-guess").status_code == 422
    assert log_in(browser(second), ada_account, "password123").status_code == 429

    process.kill()
    process.wait()
    # Redis is gone: no request fails for it; counting goes on in memory.
    client = browser(second, "192.0.2.200")
    assert log_in(client, "bob@example.com", "wrong-guess").status_code == 422
    with second.app_context():
        make_user("Bob")
    assert log_in(client, "bob@example.com", "password123").status_code == 303 and logged_in(client)
    other = browser(second, "192.0.2.201")
    answers = [log_in(other, "carol@example.com", "wrong-guess").status_code for _ in range(11)]
    assert answers == [422] * 10 + [429]


def test_a_stalled_redis_holds_no_request(app, ada_account, redis_server, tmp_path):
    url, process = redis_server
    worker = create_app(app_config(app.config["SQLALCHEMY_DATABASE_URI"], tmp_path, REDIS_URL=url))
    assert log_in(browser(worker), ada_account, "wrong-guess").status_code == 422
    process.send_signal(signal.SIGSTOP)  # alive, connected, answering nothing
    try:
        answers = []
        # In a thread, so that a request stuck on Redis fails this test instead of hanging it.
        attempt = threading.Thread(target=lambda: answers.extend(
            log_in(browser(worker, "192.0.2.9"), ada_account, password).status_code
            for password in ("wrong-guess", "password123")))
        attempt.start()
        attempt.join(20)
        assert not attempt.is_alive(), "a request waited on the stalled Redis"
        assert answers == [422, 303]
    finally:
        process.send_signal(signal.SIGCONT)
