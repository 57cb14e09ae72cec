import re

import pytest

from webapp.auth import is_safe_next
from webapp.extensions import db
from webapp.models import User


def token(client, url="/signup"):
    html = client.get(url).get_data(as_text=True)
    return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html).group(1)


def signup(client, **fields):
    data = {"name": "Grace", "email": "grace@example.com", "password": "tidal-quince-lantern",
            "confirm": "tidal-quince-lantern", "csrf_token": token(client)}
    data.update(fields)
    return client.post("/signup", data=data)


SIGNUP_LINK = re.compile(r"https?://\S+(/signup/confirm\?token=\S+)")


def test_sign_up_emails_a_link_that_creates_the_account_and_logs_in(app, smtp):
    client = app.test_client()
    response = signup(client, email="  Grace@Example.com ")
    assert response.status_code == 200
    assert "Check your inbox" in response.get_data(as_text=True)
    assert "We sent a link to grace@example.com." in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(db.select(User)) is None  # nothing until the address is confirmed
    assert client.get("/boards/").status_code == 302

    [message] = smtp.to("grace@example.com")
    assert message["Subject"] == "Confirm your Corkboard account"
    link = SIGNUP_LINK.search(smtp.last_body("grace@example.com")).group(1)
    page = client.get(link)  # opening the link (a mail scanner does too) changes nothing
    assert page.status_code == 200 and "Create my account" in page.get_data(as_text=True)
    assert page.headers["Referrer-Policy"] == "no-referrer"
    with app.app_context():
        assert db.session.scalar(db.select(User)) is None

    response = client.post(link, data={"csrf_token": token(client, link)})
    assert response.status_code == 303 and response.location == "/boards/"
    page = client.get("/boards/").get_data(as_text=True)
    assert "Grace" in page and "Create your first board" in page
    with app.app_context():
        user = db.session.scalar(db.select(User))
        assert user.email == "grace@example.com" and user.name == "Grace"
        assert "tidal-quince-lantern" not in user.password_hash and user.check_password("tidal-quince-lantern")

    # The link is used up; in another browser it says so and makes nothing.
    other = app.test_client()
    again = other.get(link)
    assert again.status_code == 410 and "already been used" in again.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(User)) == 1


def test_a_sign_up_link_expires_after_a_day_and_cannot_be_forged(app, smtp, monkeypatch):
    from itsdangerous import TimestampSigner
    client = app.test_client()
    signup(client)
    link = SIGNUP_LINK.search(smtp.last_body("grace@example.com")).group(1)
    real = TimestampSigner.get_timestamp
    monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda self: real(self) + 25 * 3600)
    expired = client.get(link)
    assert expired.status_code == 410 and "links work for 24 hours" in expired.get_data(as_text=True)
    monkeypatch.undo()
    for forged in (link[:-3] + "xyz", "/signup/confirm", "/signup/confirm?token=garbage"):
        assert client.get(forged).status_code == 400
        assert client.post(forged, data={}).status_code == 400
    with app.app_context():
        assert db.session.scalar(db.select(User)) is None


@pytest.mark.parametrize("fields, message", [
    ({"email": "not-an-email"}, "That is not an email address."),
    ({"password": "short", "confirm": "short"}, "Use at least 8 characters."),
    ({"confirm": "different!"}, "The passwords differ."),
    ({"name": ""}, "Tell us your name."),
])
def test_sign_up_errors_are_shown_inline(app, fields, message):
    client = app.test_client()
    response = signup(client, **fields)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(User)) == 0


def per_response(html):
    """The page without what differs on every response anyway (the CSRF token, a nonce)."""
    return re.sub(r'("X-CSRFToken": "|value="|nonce=")[^"]+"', r'\1"', html)


def test_sign_up_with_a_taken_email_answers_the_same_and_tells_only_the_owner(app, ada, smtp, monkeypatch):
    from webapp import auth
    hashed = []
    real = auth.hash_password
    monkeypatch.setattr(auth, "hash_password", lambda password: hashed.append(password) or real(password))
    pages = []
    for email in ("ada@example.com", "newcomer@example.com"):
        client = app.test_client()
        response = signup(client, email=email)
        pages.append((response.status_code, per_response(response.get_data(as_text=True)).replace(email, "EMAIL")))
    assert pages[0] == pages[1] and pages[0][0] == 200
    assert hashed == ["tidal-quince-lantern"] * 2  # the same work either way

    body = smtp.last_body("ada@example.com")
    assert "you already have an account with it" in " ".join(body.split())
    assert "http://localhost/login" in body and "http://localhost/forgot-password" in body
    assert not SIGNUP_LINK.search(body)
    with app.app_context():
        ada_user = db.session.scalar(db.select(User).where(User.email == "ada@example.com"))
        assert ada_user.name == "Ada" and ada_user.check_password("password123")


def test_log_in_with_wrong_password_shows_error(app, ada):
    client = app.test_client()
    response = client.post("/login", data={"email": "ada@example.com", "password": "wrong-one",
                                           "csrf_token": token(client, "/login")})
    assert response.status_code == 422
    assert "don&#39;t match an account" in response.get_data(as_text=True)
    assert client.get("/boards/").status_code == 302


def test_log_out_then_log_back_in_finds_the_board(app, ada):
    assert ada.form("POST", "/logout").status_code == 303
    assert ada.get(ada.board.url).status_code == 302
    client = app.test_client()
    client.post("/login", data={"email": "ada@example.com", "password": "password123",
                                "csrf_token": token(client, "/login")})
    assert "Roadmap" in client.get(ada.board.url).get_data(as_text=True)


def test_logout_needs_post(ada):
    assert ada.get("/logout").status_code == 405


def test_remember_me_sets_a_lasting_cookie(app, ada):
    client = app.test_client()
    client.post("/login", data={"email": "ada@example.com", "password": "password123",
                                "remember": "y", "csrf_token": token(client, "/login")})
    cookie = client.get_cookie("remember_token")
    assert cookie is not None and cookie.expires is not None
    # A new browser session (session cookie gone) is still logged in.
    client.delete_cookie("session")
    assert client.get(ada.board.url).status_code == 200


def test_login_redirects_to_a_local_next(app, ada):
    client = app.test_client()
    response = client.get(ada.board.url)
    assert response.status_code == 302
    assert response.location == f"/login?next={ada.board.url}"
    response = client.post("/login", data={"email": "ada@example.com", "password": "password123",
                                           "next": ada.board.url, "csrf_token": token(client, "/login")})
    assert response.location == ada.board.url


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/", "/\\evil.example",
                                    "javascript:alert(1)", "evil", ""])
def test_login_never_redirects_off_site(app, ada, target):
    assert not is_safe_next(target)
    client = app.test_client()
    response = client.post("/login", data={"email": "ada@example.com", "password": "password123",
                                           "next": target, "csrf_token": token(client, "/login")})
    assert response.status_code == 303 and response.location == "/boards/"


def test_htmx_request_without_login_is_sent_to_login(app, ada):
    response = app.test_client().get(ada.board.url, headers={"HX-Request": "true"})
    assert response.status_code == 401
    assert response.headers["HX-Redirect"].startswith("/login?next=")


def test_json_request_without_login_gets_json(app, ada):
    response = app.test_client().get(ada.board.url, headers={"Accept": "application/json"})
    assert response.status_code == 401 and response.json["error"] == "unauthorized"


def test_landing_and_auth_pages_are_public(app):
    client = app.test_client()
    for url in ("/", "/login", "/signup", "/healthz"):
        assert client.get(url).status_code == 200
