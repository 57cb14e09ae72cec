"""Password reset: "Forgot password?" → email with a signed link (one hour, single use) → new password."""
import re
from urllib.parse import urlsplit

import pytest
from itsdangerous import TimestampSigner
from sqlalchemy import select

from tests.conftest import TOKEN
from webapp.extensions import db
from webapp.models import User

LINK = re.compile(r"https?://\S+/reset-password\?token=\S+")
SENT = "If an account exists for {}, we have sent it a link to reset the password."


def csrf(client, url):
    html = client.get(url).get_data(as_text=True)
    return (TOKEN.search(html) or re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html)).group(1)


def ask_for_link(client, email):
    return client.post("/forgot-password", data={"email": email, "csrf_token": csrf(client, "/forgot-password")})


def link_in(smtp, address):
    match = LINK.search(smtp.last_body(address))
    assert match, smtp.last_body(address)
    parts = urlsplit(match.group(0))
    return f"{parts.path}?{parts.query}"


def choose_password(client, link, password="brand-new-secret", confirm=None):
    return client.post(link, data={"password": password, "confirm": confirm or password,
                                   "csrf_token": csrf(client, "/forgot-password")})


def can_log_in(app, email, password):
    with app.app_context():
        return db.session.scalar(select(User).where(User.email == email)).check_password(password)


def test_login_page_links_to_the_reset_form(app):
    client = app.test_client()
    login = client.get("/login").get_data(as_text=True)
    assert 'href="/forgot-password">Forgot password?</a>' in login
    page = client.get("/forgot-password")
    assert page.status_code == 200 and "Email me a link" in page.get_data(as_text=True)


def test_the_whole_reset(app, ada, smtp):
    client = app.test_client()
    response = ask_for_link(client, " ADA@example.com")
    assert response.status_code == 303 and response.location == "/login"
    assert SENT.format("ada@example.com") in client.get("/login").get_data(as_text=True)

    [message] = smtp.to("ada@example.com")
    assert message["Subject"] == "Reset your Corkboard password"
    assert "The link works once, for one hour." in smtp.last_body("ada@example.com")
    link = link_in(smtp, "ada@example.com")

    form = client.get(link)
    assert form.status_code == 200 and "Choose a new password" in form.get_data(as_text=True)
    assert form.headers["Referrer-Policy"] == "no-referrer"
    assert client.get("/boards/").status_code == 302  # not logged in just by opening the link

    response = choose_password(client, link)
    assert response.status_code == 303 and response.location == "/boards/"
    boards = client.get("/boards/").get_data(as_text=True)
    assert "Your password has been changed, and you are logged in." in boards and "Roadmap" in boards
    assert can_log_in(app, "ada@example.com", "brand-new-secret")
    assert not can_log_in(app, "ada@example.com", "password123")


def test_a_link_works_once(app, ada, smtp):
    client = app.test_client()
    ask_for_link(client, "ada@example.com")
    link = link_in(smtp, "ada@example.com")
    choose_password(client, link)
    again = app.test_client()
    for response in (again.get(link), choose_password(again, link, "attacker-password")):
        assert response.status_code == 410
        assert "already been used" in response.get_data(as_text=True)
        assert "Ask for a new link" in response.get_data(as_text=True)
    assert can_log_in(app, "ada@example.com", "brand-new-secret")


def test_an_older_link_dies_when_a_newer_one_is_used(app, ada, smtp):
    client = app.test_client()
    ask_for_link(client, "ada@example.com")
    first = link_in(smtp, "ada@example.com")
    ask_for_link(client, "ada@example.com")
    second = link_in(smtp, "ada@example.com")
    choose_password(client, second)
    assert app.test_client().get(first).status_code == 410


def test_an_unknown_address_gets_the_same_answer_and_no_link(app, ada, smtp):
    client = app.test_client()
    response = ask_for_link(client, "nobody@example.com")
    assert response.status_code == 303 and response.location == "/login"
    assert SENT.format("nobody@example.com") in client.get("/login").get_data(as_text=True)
    body = smtp.last_body("nobody@example.com")
    assert "there is no Corkboard account with this address" in body
    assert not LINK.search(body)


@pytest.mark.parametrize("email, message", [("", "Enter your email address."),
                                            ("nope", "That is not an email address.")])
def test_a_bad_address_is_refused_inline(app, smtp, email, message):
    response = ask_for_link(app.test_client(), email)
    assert response.status_code == 422 and message in response.get_data(as_text=True)
    assert smtp.messages == []


@pytest.mark.parametrize("email", ["ada@example.com", "nobody@example.com"])
def test_a_mail_outage_is_answered_the_same_for_everyone(app, ada, email):
    # No `smtp` fixture: nothing listens on the app's mail port. Mail leaves after the response
    # (webapp/mail.py's outbox, which retries), so the answer is the usual one, for everyone.
    response = ask_for_link(app.test_client(), email)
    assert response.status_code == 303 and response.location == "/login"


def test_an_expired_link_says_so(app, ada, smtp, monkeypatch):
    client = app.test_client()
    ask_for_link(client, "ada@example.com")
    link = link_in(smtp, "ada@example.com")
    real = TimestampSigner.get_timestamp
    monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda self: real(self) + 59 * 60)
    assert client.get(link).status_code == 200
    monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda self: real(self) + 61 * 60)
    for response in (client.get(link), choose_password(client, link)):
        assert response.status_code == 410
        assert "This password reset link has expired: links work for one hour." in response.get_data(as_text=True)
    assert can_log_in(app, "ada@example.com", "password123")


@pytest.mark.parametrize("query", ["", "?token=", "?token=garbage", "?token=eyJ1c2VyIjoxfQ.x.y"])
def test_a_broken_link_says_so(app, ada, query):
    response = app.test_client().get(f"/reset-password{query}")
    assert response.status_code == 400
    assert "This password reset link is not valid." in response.get_data(as_text=True)


def test_an_invitation_token_is_not_a_reset_token(app, ada, smtp):
    ada.hx("POST", f"{ada.board.url}/invitations", {"email": "ada2@example.com", "role": "viewer"})
    token = re.search(r"token=(\S+)", smtp.last_body("ada2@example.com")).group(1)
    assert app.test_client().get(f"/reset-password?token={token}").status_code == 400


def test_the_new_password_is_checked(app, ada, smtp):
    client = app.test_client()
    ask_for_link(client, "ada@example.com")
    link = link_in(smtp, "ada@example.com")
    for password, confirm, message in (("short", "short", "Use at least 8 characters."),
                                       ("long-enough-1", "long-enough-2", "The passwords differ.")):
        response = choose_password(client, link, password, confirm)
        assert response.status_code == 422 and message in response.get_data(as_text=True)
    assert can_log_in(app, "ada@example.com", "password123")
    assert client.get(link).status_code == 200  # a refused attempt does not use the link up


def test_links_in_emails_use_the_public_url_when_configured(app, ada, smtp):
    """The Host header is the client's to choose; PUBLIC_URL keeps a forged one out of the email."""
    app.config["PUBLIC_URL"] = "https://corkboard.example.org/"
    client = app.test_client()
    html = client.get("/forgot-password", base_url="http://evil.example").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html).group(1)
    response = client.post("/forgot-password", base_url="http://evil.example",
                           data={"email": "ada@example.com", "csrf_token": token})
    assert response.status_code == 303
    body = smtp.last_body("ada@example.com")
    assert "https://corkboard.example.org/reset-password?token=" in body and "evil.example" not in body


def test_without_public_url_links_point_to_the_site_that_sent_them(app, ada, smtp):
    ask_for_link(app.test_client(), "ada@example.com")
    assert "http://localhost/reset-password?token=" in smtp.last_body("ada@example.com")
