"""Accounts under attack: a login ends when it should (logout, a new password, "Log out
everywhere"), wherever its cookies were copied; passwords are hard to guess; the login form
does the same work whether or not the address has an account."""
import re
from datetime import timedelta

import pytest
from sqlalchemy import event, select, update

from tests.conftest import TOKEN
from webapp import models
from webapp.auth import as_utc, reset_token
from webapp.extensions import db
from webapp.models import LoginSession, User, utcnow

STRONG = "tidal-quince-lantern"


def csrf(client, url):
    html = client.get(url).get_data(as_text=True)
    return (TOKEN.search(html) or re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html)).group(1)


def log_in(app, email="ada@example.com", password="password123", remember=False, user_agent="Browser A"):
    client = app.test_client()
    client.environ_base["HTTP_USER_AGENT"] = user_agent
    data = {"email": email, "password": password, "csrf_token": csrf(client, "/login")}
    if remember:
        data["remember"] = "y"
    response = client.post("/login", data=data)
    assert response.status_code == 303, response.get_data(as_text=True)
    return client


def logged_in(client) -> bool:
    return client.get("/boards/").status_code == 200


def copy_of(client, app, *names):
    """Another browser holding the same cookies (as someone who copied them would)."""
    thief = app.test_client()
    for name in names:
        cookie = client.get_cookie(name)
        thief.set_cookie(name, cookie.value)
    return thief


def post(client, url, data=None):
    return client.post(url, data={**(data or {}), "csrf_token": csrf(client, "/account")})


def logins_of(app, email="ada@example.com"):
    with app.app_context():
        return db.session.scalars(select(LoginSession).join(User, User.id == LoginSession.user_id)
                                  .where(User.email == email)).all()


# --- Sessions end server-side --------------------------------------------------------------

def test_a_copied_session_cookie_stops_working_at_logout(app, ada):
    client = log_in(app)
    thief = copy_of(client, app, "session")
    assert logged_in(thief)  # the cookie was seen (and cached as checked) while it was good
    assert post(client, "/logout").status_code == 303
    assert not logged_in(client)
    assert not logged_in(thief)


def test_a_copied_remember_cookie_stops_working_at_logout(app, ada):
    client = log_in(app, remember=True)
    thief = copy_of(client, app, "remember_token")
    assert logged_in(thief)
    post(client, "/logout")
    assert client.get_cookie("remember_token") is None
    thief.delete_cookie("session")  # a fresh browser session: only the remember cookie speaks
    assert not logged_in(thief)


def test_remember_cookies_differ_at_every_login_and_expire(app, ada):
    first = log_in(app, remember=True).get_cookie("remember_token")
    second = log_in(app, remember=True).get_cookie("remember_token")
    assert first.value != second.value
    [one, two] = [login for login in logins_of(app) if login.remember]
    lifetime = as_utc(one.expires_at) - as_utc(one.created_at)
    assert timedelta(days=29) < lifetime <= timedelta(days=30, seconds=1)


def test_an_expired_login_is_logged_out(app, ada):
    client = log_in(app)
    with app.app_context():
        db.session.execute(update(LoginSession).values(expires_at=utcnow() - timedelta(seconds=1)))
        db.session.commit()
    assert not logged_in(client)


def test_a_password_reset_ends_every_session_of_the_user(app, ada):
    desktop = log_in(app, remember=True)
    stolen = copy_of(desktop, app, "remember_token")
    with app.app_context():
        link = "/reset-password?token=" + reset_token(db.session.scalar(select(User).where(User.email == "ada@example.com")))
    browser = app.test_client()
    response = browser.post(link, data={"password": STRONG, "confirm": STRONG, "csrf_token": csrf(browser, link)})
    assert response.status_code == 303
    assert logged_in(browser)  # the one that reset it is logged in, with a login of its own
    for client in (desktop, stolen, ada.client):
        client.delete_cookie("session")
        assert not logged_in(client)
    assert len(logins_of(app)) == 1


def test_changing_the_password_needs_the_current_one(app, ada):
    response = post(ada.client, "/account/password", {"current_password": "wrong-guess", "password": STRONG,
                                                      "confirm": STRONG})
    assert response.status_code == 422
    assert "That is not your current password." in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(User).where(User.email == "ada@example.com")).check_password("password123")


def test_changing_the_password_ends_the_other_sessions_and_keeps_this_one(app, ada):
    other = log_in(app, remember=True, user_agent="Phone")
    response = post(ada.client, "/account/password", {"current_password": "password123", "password": STRONG,
                                                      "confirm": STRONG})
    assert response.status_code == 303 and response.location == "/account"
    page = ada.get("/account").get_data(as_text=True)
    assert "Your password has been changed. Every other session was logged out." in page
    other.delete_cookie("session")
    assert not logged_in(other)
    assert len(logins_of(app)) == 1
    assert log_in(app, password=STRONG)


def test_the_account_page_lists_sessions_and_logs_out_everywhere(app, ada):
    phone = log_in(app, remember=True, user_agent="Mozilla/5.0 (Android 14; Mobile; rv:125.0) Gecko/125.0 Firefox/125.0")
    page = ada.get("/account")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Firefox on Android</strong>" in html and ">this browser<" in html
    assert html.count("Log out this session") == 2
    assert 'href="/account"' in ada.get("/boards/").get_data(as_text=True)  # linked from every page

    response = post(ada.client, "/account/logout-everywhere")
    assert response.status_code == 303 and response.location == "/login"
    assert "You are logged out everywhere (2 sessions)." in ada.get("/login").get_data(as_text=True)
    phone.delete_cookie("session")
    assert not logged_in(ada.client) and not logged_in(phone)
    assert logins_of(app) == []


def test_one_session_can_be_ended_from_the_account_page(app, ada):
    phone = log_in(app, user_agent="Phone browser")
    [phone_login] = [login for login in logins_of(app) if login.user_agent == "Phone browser"]
    response = post(ada.client, "/account/sessions/end", {"login": phone_login.id})
    assert response.status_code == 303 and response.location == "/account"
    assert not logged_in(phone)
    assert logged_in(ada.client)
    assert post(ada.client, "/account/sessions/end", {"login": phone_login.id}).status_code == 404


def test_nobody_can_end_someone_elses_session(app, ada, bob):
    [ada_login] = logins_of(app)
    for login in (ada_login.id, 2**64, -1, "x", ""):
        assert post(bob.client, "/account/sessions/end", {"login": login}).status_code == 404
    assert logged_in(ada.client)


def test_the_account_page_needs_a_login(app):
    response = app.test_client().get("/account")
    assert response.status_code == 302 and response.location.startswith("/login")


def test_a_cookie_with_a_made_up_login_is_refused(app, ada):
    [login] = logins_of(app)
    for forged in (str(login.user_id), f"{login.user_id}.{login.id}.wrong-secret", f"{login.user_id}.{login.id}.",
                   f"{login.user_id}.{2**64}.x", f"{2**64}.{login.id}.x"):
        client = app.test_client()
        with client.session_transaction() as session:
            session["_user_id"] = forged
        assert not logged_in(client), forged


def test_a_token_from_before_login_is_refused_after_it(app, ada):
    client = app.test_client()
    before = csrf(client, "/login")
    with client.session_transaction() as session:
        secret_before = session["csrf_token"]
    client.post("/login", data={"email": "ada@example.com", "password": "password123", "csrf_token": before})
    assert logged_in(client)
    with client.session_transaction() as session:
        assert session.get("csrf_token") != secret_before
    response = client.post("/boards/", data={"title": "Planted", "csrf_token": before})
    assert response.status_code == 400


def test_last_used_is_written_at_most_once_a_minute(app, ada):
    writes = []

    def record(conn, cursor, statement, *args):
        if statement.lstrip().upper().startswith("UPDATE LOGIN_SESSIONS"):
            writes.append(statement)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        for _ in range(5):
            assert ada.get(ada.board.url).status_code == 200
        assert writes == []
        with app.app_context():
            db.session.execute(update(LoginSession).values(last_used_at=utcnow() - timedelta(minutes=2)))
            db.session.commit()
        writes.clear()  # that one was this test's own
        for _ in range(3):
            assert ada.get("/boards/").status_code == 200
        assert len(writes) == 1
    finally:
        event.remove(engine, "before_cursor_execute", record)
    [login] = logins_of(app)
    assert utcnow() - as_utc(login.last_used_at) < timedelta(seconds=30)


# --- Weak passwords ----------------------------------------------------------------------------

def sign_up(client, password, name="Grace Hopper", email="grace@example.com"):
    return client.post("/signup", data={"name": name, "email": email, "password": password, "confirm": password,
                                        "csrf_token": csrf(client, "/signup")})


@pytest.mark.parametrize("password, reason", [
    ("password", "This is a top-10 common password."),
    ("12345678", "This is a top-10 common password."),
    ("password123", "This is a very common password."),
    ("grace@example.com", "Don&#39;t build your password from your name or email address"),
    ("grace@example.com1", "Don&#39;t build your password from your name or email address"),
    ("gracehopper2024", "Don&#39;t build your password from your name or email address"),
])
def test_sign_up_refuses_a_weak_password_and_says_why(app, password, reason):
    response = sign_up(app.test_client(), password)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert reason in html
    assert 'class="field-error"' in html and 'aria-invalid="true"' in html
    with app.app_context():
        assert db.session.scalar(select(User.id)) is None


def test_a_reset_refuses_a_weak_password(app, ada):
    with app.app_context():
        link = "/reset-password?token=" + reset_token(db.session.scalar(select(User).where(User.email == "ada@example.com")))
    client = app.test_client()
    for weak in ("password", "ada@example.com", "ada12345"):
        response = client.post(link, data={"password": weak, "confirm": weak, "csrf_token": csrf(client, link)})
        assert response.status_code == 422, weak
        assert "too easy to guess" in response.get_data(as_text=True) or "Don&#39;t build" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(User).where(User.email == "ada@example.com")).check_password("password123")


def test_a_password_change_refuses_a_weak_password(app, ada):
    response = post(ada.client, "/account/password", {"current_password": "password123", "password": "qwertyuiop",
                                                      "confirm": "qwertyuiop"})
    assert response.status_code == 422
    assert "This password is too easy to guess." in response.get_data(as_text=True)


# --- Login does the same work for known and unknown addresses ------------------------------

def test_an_unknown_address_costs_the_same_hash_check_as_a_known_one(app, ada, monkeypatch):
    checked = []
    real = models.check_password_hash

    def spy(password_hash, password):
        checked.append(password_hash.split("$", 1)[0])
        return real(password_hash, password)

    monkeypatch.setattr(models, "check_password_hash", spy)
    answers = []
    for email in ("ada@example.com", "nobody@example.com"):
        client = app.test_client()
        response = client.post("/login", data={"email": email, "password": "wrong-password",
                                               "csrf_token": csrf(client, "/login")})
        answers.append((response.status_code, response.get_data(as_text=True).replace(csrf(client, "/login"), "")))
    assert checked == ["pbkdf2:sha256:1000", "pbkdf2:sha256:1000"]
    assert answers[0][0] == answers[1][0] == 422
    assert "That email and password don&#39;t match an account." in answers[1][1]


# --- Live board streams belong to a login too ------------------------------------------------

def stream_token_of(client, board_url):
    page = client.get(board_url).get_data(as_text=True)
    return page.split("/events?token=", 1)[1].split('"', 1)[0]


def test_a_stream_link_stops_working_when_its_login_ends(app, ada):
    from tests.test_live import Browser, run
    token = stream_token_of(ada.client, ada.board.url)

    async def opens(streams):
        browser = await Browser(streams, ada.board.id, token).open()
        status = browser.status
        if status == 200:
            await browser.close()
        return status

    assert run(app, opens) == 200
    assert post(ada.client, "/logout").status_code == 303
    assert run(app, opens) == 404  # a reconnect (or a copied link) finds the login gone


def test_log_out_everywhere_ends_open_streams_at_once(app, ada):
    import asyncio

    from tests.test_live import Browser, run
    phone = log_in(app, user_agent="Phone")
    token = stream_token_of(phone, ada.board.url)

    async def scenario(streams):
        browser = await Browser(streams, ada.board.id, token).open()
        assert browser.status == 200
        await asyncio.to_thread(post, ada.client, "/account/logout-everywhere")
        assert (await browser.frame_named("revoked"))["event"] == "revoked"
        await asyncio.wait_for(browser.task, 5)  # the stream ended by itself
        again = await Browser(streams, ada.board.id, token).open()
        return again.status

    assert run(app, scenario) == 404


def test_in_development_a_sign_up_link_is_on_the_console(tmp_path, caplog):
    """`make dev`: the confirmation goes to an address with no account yet, so no one can read
    it at /dev/mail; the developer's console shows it."""
    import asyncio
    import logging
    from email.message import EmailMessage
    from types import SimpleNamespace

    from webapp.mail import DevMailbox
    message = EmailMessage()
    message["To"], message["Subject"] = "new@example.com", "Confirm your Corkboard account"
    message.set_content("Open this link: http://127.0.0.1:8000/signup/confirm?token=abc")
    envelope = SimpleNamespace(content=message.as_bytes(), rcpt_tos=["new@example.com"])
    with caplog.at_level(logging.WARNING, logger="webapp.mail"):
        asyncio.run(DevMailbox(tmp_path).handle_DATA(None, None, envelope))
    assert "http://127.0.0.1:8000/signup/confirm?token=abc" in caplog.text
    assert len(list(tmp_path.glob("*.eml"))) == 1


def test_logging_out_ends_that_logins_streams_and_no_other(app, ada):
    import asyncio

    from tests.test_live import Browser, run
    phone = log_in(app, user_agent="Phone")
    desk_token, phone_token = stream_token_of(ada.client, ada.board.url), stream_token_of(phone, ada.board.url)

    async def scenario(streams):
        desk = await Browser(streams, ada.board.id, desk_token).open()
        on_phone = await Browser(streams, ada.board.id, phone_token).open()
        await asyncio.to_thread(post, phone, "/logout")
        assert (await on_phone.frame_named("revoked"))["event"] == "revoked"
        await asyncio.wait_for(on_phone.task, 5)
        await asyncio.to_thread(ada.hx, "POST", f"{ada.board.column_url('Doing')}/cards", {"title": "Still live"})
        assert ">Still live</a>" in (await desk.frame_named("board"))["data"]  # the desk's stream goes on
        await desk.close()

    run(app, scenario)


def test_a_failed_note_of_a_login_use_still_serves_the_page(app, ada, monkeypatch, caplog):
    """Noting "last used" is a write: when the database refuses it (locked past its timeout,
    say), the request goes on; the next one notes it."""
    from sqlalchemy import text

    from webapp import auth
    with app.app_context():
        db.session.execute(update(LoginSession).values(last_used_at=utcnow() - timedelta(minutes=2)))
        db.session.commit()
    monkeypatch.setattr(auth, "TOUCH_LOGIN", text("UPDATE no_such_table SET x = :now"))  # fails as it runs
    assert ada.get("/boards/").status_code == 200
    assert "Could not note the use of login" in caplog.text
