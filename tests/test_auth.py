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


def test_sign_up_logs_in_and_lands_on_boards(app):
    client = app.test_client()
    response = signup(client, email="  Grace@Example.com ")
    assert response.status_code == 303 and response.location == "/boards/"
    page = client.get("/boards/").get_data(as_text=True)
    assert "Grace" in page and "Create your first board" in page
    with app.app_context():
        user = db.session.scalar(db.select(User))
        assert user.email == "grace@example.com"
        assert "tidal-quince-lantern" not in user.password_hash and user.check_password("tidal-quince-lantern")


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


def test_sign_up_with_a_taken_email_is_refused(app, ada):
    response = signup(app.test_client(), email="ada@example.com")
    assert response.status_code == 422
    assert "already exists" in response.get_data(as_text=True)


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
