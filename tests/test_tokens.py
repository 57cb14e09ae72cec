"""Personal access tokens: made on /account/tokens and shown once, kept only as a hash, listed
by prefix with their last use, revocable; and what the API asks of them (`user_for_bearer`)."""
import hashlib
import re
from datetime import timedelta

import pytest
from sqlalchemy import select, text

from tests.conftest import UserClient
from webapp.extensions import db
from webapp.models import AccessToken, User, utcnow
from webapp.tokens import TokenError, user_for_bearer

SECRET = re.compile(r'id="token-secret" type="text" value="([^"]+)"')


def make_token(client, name="Backup script", scope="read", expires="30", **extra):
    """Make a token through the page, as a person would; its secret, from the one page that shows it."""
    response = client.form("POST", "/account/tokens", {"name": name, "scope": scope, "expires": expires, **extra})
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    return SECRET.search(response.get_data(as_text=True)).group(1)


def stored_tokens(app):
    with app.app_context():
        return db.session.scalars(select(AccessToken).order_by(AccessToken.id)).all()


def bearer(app, secret, need_write=False, method="GET"):
    with app.test_request_context("/api/v1/boards", method=method):
        user = user_for_bearer(f"Bearer {secret}", need_write=need_write)
        return user.email if user else None


# --- Making one --------------------------------------------------------------------------------

def test_a_new_token_is_shown_once_and_stored_only_as_its_hash(app, ada):
    response = ada.form("POST", "/account/tokens", {"name": "Backup script", "scope": "write", "expires": "30"})
    html = response.get_data(as_text=True)
    secret = SECRET.search(html).group(1)
    assert re.fullmatch(r"cb_[A-Za-z0-9_-]{40}", secret)
    assert "This is the only time Corkboard shows it" in html
    assert response.headers["Cache-Control"] == "no-store"  # no copy kept in the browser's cache

    [token] = stored_tokens(app)
    assert token.token_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert token.prefix == secret[:8] and token.scope == "write" and token.name == "Backup script"
    with app.app_context():  # nowhere in the database: not in any column of any table
        dump = "\n".join(str(row) for table in db.metadata.sorted_tables
                         for row in db.session.execute(table.select()).all())
    assert secret not in dump and secret[8:] not in dump

    listing = ada.get("/account/tokens").get_data(as_text=True)
    assert secret not in listing  # the list never shows it again
    assert f"<code>{secret[:8]}…</code>" in listing and "Backup script" in listing
    assert "never used" in listing and "Read and write" in listing


def test_two_tokens_get_different_secrets(app, ada):
    assert make_token(ada, "One") != make_token(ada, "Two")
    assert len({token.token_hash for token in stored_tokens(app)}) == 2


@pytest.mark.parametrize("expires, days", [("7", 7), ("30", 30), ("90", 90)])
def test_expiry_in_days(app, ada, expires, days):
    make_token(ada, expires=expires)
    [token] = stored_tokens(app)
    assert abs(token.expires_at.replace(tzinfo=None) - (utcnow().replace(tzinfo=None) + timedelta(days=days))) \
        < timedelta(minutes=1)


def test_expiry_never_and_on_a_date(app, ada):
    make_token(ada, "Forever", expires="never")
    on = (utcnow() + timedelta(days=10)).date()
    make_token(ada, "Dated", expires="date", expiry_date=on.isoformat())
    forever, dated = stored_tokens(app)
    assert forever.expires_at is None
    # It stops working as the chosen day begins (UTC), the day the list names.
    assert dated.expires_at.replace(tzinfo=None).isoformat() == f"{on}T00:00:00"
    listing = ada.get("/account/tokens").get_data(as_text=True)
    assert "never expires" in listing and f"expires {on:%-d %b %Y}" in listing


@pytest.mark.parametrize("data, message", [
    ({"name": "  ", "scope": "read", "expires": "30"}, "Name it after what will use it"),
    ({"name": "x" * 101, "scope": "read", "expires": "30"}, "Keep it under 100 characters."),
    ({"name": "Script", "scope": "admin", "expires": "30"}, "Not a valid choice"),
    ({"name": "Script", "scope": "read", "expires": "365"}, "Not a valid choice"),
    ({"name": "Script", "scope": "read", "expires": "date"}, "Choose the date it expires on."),
    ({"name": "Script", "scope": "read", "expires": "date", "expiry_date": "2001-01-01"}, "Choose a date after today."),
    ({"name": "Script", "scope": "read", "expires": "date", "expiry_date": "9999-12-31"}, "within five years"),
])
def test_a_bad_form_is_refused_inline_and_makes_nothing(app, ada, data, message):
    response = ada.form("POST", "/account/tokens", data)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert stored_tokens(app) == []


def test_making_a_token_needs_the_csrf_token(app, ada):
    response = ada.client.post("/account/tokens", data={"name": "Sneaky", "scope": "write", "expires": "never"})
    assert response.status_code == 400
    assert stored_tokens(app) == []


def test_the_pages_need_a_login(app):
    client = app.test_client()
    assert client.get("/account/tokens").status_code == 302
    assert client.post("/account/tokens", data={"name": "x"}).status_code in (302, 400)


def test_the_account_page_links_to_the_tokens(ada):
    assert 'href="/account/tokens"' in ada.get("/account").get_data(as_text=True)


# --- Revoking ----------------------------------------------------------------------------------

def token_id(app, name):
    return next(token.id for token in stored_tokens(app) if token.name == name)


def test_revoke_with_htmx_swaps_the_list(app, ada):
    secret = make_token(ada, "Old laptop")
    make_token(ada, "CI")
    response = ada.hx("DELETE", f"/account/tokens/{token_id(app, 'Old laptop')}")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert html.startswith('<div id="token-list"') and "CI" in html and "Old laptop" not in html
    assert "Old laptop" not in ada.get("/account/tokens").get_data(as_text=True)
    with pytest.raises(TokenError) as refused:
        bearer(app, secret)
    assert refused.value.reason == "revoked"


def test_without_javascript_revoke_asks_first_then_revokes(app, ada):
    make_token(ada, "Old laptop")
    number = token_id(app, "Old laptop")
    listing = ada.get("/account/tokens").get_data(as_text=True)
    revoke_form = f'<form method="get" action="/account/tokens/{number}/revoke" hx-delete="/account/tokens/{number}"'
    assert revoke_form in listing

    question = ada.get(f"/account/tokens/{number}/revoke").get_data(as_text=True)
    assert "Revoke the token “Old laptop”?" in question
    assert stored_tokens(app)[0].revoked_at is None  # asking revokes nothing
    action = re.search(r'<form method="post" action="([^"]+_method=DELETE)">', question).group(1)
    assert action == f"/account/tokens/{number}?_method=DELETE"
    response = ada.client.post(action, data={"csrf_token": ada.token})
    assert response.status_code == 303 and response.headers["Location"] == "/account/tokens"
    assert stored_tokens(app)[0].revoked_at is not None


def test_revoke_by_a_plain_post(app, ada):
    make_token(ada, "Old laptop")
    response = ada.form("POST", f"/account/tokens/{token_id(app, 'Old laptop')}/revoke")
    assert response.status_code == 303
    assert stored_tokens(app)[0].revoked_at is not None


def test_revoking_needs_the_csrf_token(app, ada):
    make_token(ada, "Old laptop")
    number = token_id(app, "Old laptop")
    assert ada.client.post(f"/account/tokens/{number}/revoke").status_code == 400
    assert ada.client.delete(f"/account/tokens/{number}", headers={"HX-Request": "true"}).status_code == 400
    assert stored_tokens(app)[0].revoked_at is None


def test_nobody_else_can_see_or_revoke_your_token(app, ada, bob):
    make_token(ada, "Ada's script")
    number = token_id(app, "Ada's script")
    assert bob.get(f"/account/tokens/{number}/revoke").status_code == 404
    assert bob.hx("DELETE", f"/account/tokens/{number}").status_code == 404
    assert bob.form("POST", f"/account/tokens/{number}/revoke").status_code == 404
    assert "Ada's script" not in bob.get("/account/tokens").get_data(as_text=True)
    assert stored_tokens(app)[0].revoked_at is None


def test_a_revoked_token_cannot_be_revoked_again(app, ada):
    make_token(ada)
    number = stored_tokens(app)[0].id
    assert ada.form("POST", f"/account/tokens/{number}/revoke").status_code == 303
    assert ada.form("POST", f"/account/tokens/{number}/revoke").status_code == 404


# --- What the API asks: user_for_bearer -------------------------------------------------------

def test_a_read_token_reads_but_does_not_write(app, ada):
    secret = make_token(ada, scope="read")
    assert bearer(app, secret) == "ada@example.com"
    with pytest.raises(TokenError) as refused:
        bearer(app, secret, need_write=True, method="POST")
    assert refused.value.reason == "read-only"


def test_a_write_token_does_both(app, ada):
    secret = make_token(ada, scope="write")
    assert bearer(app, secret) == "ada@example.com"
    assert bearer(app, secret, need_write=True, method="POST") == "ada@example.com"


def test_an_expired_token_is_refused_as_expired(app, ada):
    secret = make_token(ada)
    with app.app_context():
        db.session.execute(text("UPDATE access_tokens SET expires_at = :past"),
                           {"past": utcnow() - timedelta(seconds=1)})
        db.session.commit()
    with pytest.raises(TokenError) as refused:
        bearer(app, secret)
    assert refused.value.reason == "expired"
    assert "expired" in ada.get("/account/tokens").get_data(as_text=True)  # the list says so too


@pytest.mark.parametrize("header", [
    None, "", "Bearer", "Bearer ", "Basic YWRhOnBhc3N3b3Jk", "Bearer not-a-token", "Bearer cb_",
    "Bearer cb_" + "x" * 40, "Bearer cb_" + "x" * 400, "Bearer cb_\x00",
])
def test_anything_but_a_real_token_is_nobody(app, ada, header):
    make_token(ada)
    with app.test_request_context("/api/v1/boards"):
        assert user_for_bearer(header, need_write=False) is None


def test_the_secret_itself_is_needed_not_its_prefix_or_hash(app, ada):
    secret = make_token(ada)
    [token] = stored_tokens(app)
    assert bearer(app, token.prefix) is None
    assert bearer(app, token.token_hash) is None
    assert bearer(app, "cb_" + token.token_hash) is None
    assert bearer(app, secret[:-1]) is None


def test_the_scheme_is_case_insensitive(app, ada):
    secret = make_token(ada)
    with app.test_request_context("/api/v1/boards"):
        assert user_for_bearer(f"bearer {secret}", need_write=False).email == "ada@example.com"


def test_last_use_is_noted_at_most_once_a_minute(app, ada):
    secret = make_token(ada)
    assert stored_tokens(app)[0].last_used_at is None
    bearer(app, secret)
    first = stored_tokens(app)[0].last_used_at
    assert first is not None
    bearer(app, secret)
    assert stored_tokens(app)[0].last_used_at == first  # a second call within the minute writes nothing
    with app.app_context():
        db.session.execute(text("UPDATE access_tokens SET last_used_at = :then"),
                           {"then": utcnow() - timedelta(minutes=2)})
        db.session.commit()
    bearer(app, secret)
    noted = stored_tokens(app)[0].last_used_at.replace(tzinfo=None)
    assert noted > utcnow().replace(tzinfo=None) - timedelta(seconds=30)
    assert "last used just now" in ada.get("/account/tokens").get_data(as_text=True)


def test_a_refused_token_notes_no_use(app, ada):
    secret = make_token(ada, scope="read")
    with pytest.raises(TokenError):
        bearer(app, secret, need_write=True, method="POST")
    assert stored_tokens(app)[0].last_used_at is None


def test_a_change_can_follow_the_check_in_the_same_request(app, ada):
    """On SQLite a change's session holds the write lock once it begins; the use is noted before."""
    secret = make_token(ada, scope="write")
    with app.test_request_context("/api/v1/boards", method="POST"):
        user = user_for_bearer(f"Bearer {secret}", need_write=True)
        db.session.get(User, user.id).name = "Ada Lovelace"
        db.session.commit()
    with app.app_context():
        assert db.session.scalar(text("SELECT name FROM users WHERE email = 'ada@example.com'")) == "Ada Lovelace"
    assert stored_tokens(app)[0].last_used_at is not None


def test_a_token_works_only_for_its_owner(app, ada, bob):
    ada_secret, bob_secret = make_token(ada), make_token(bob)
    assert bearer(app, ada_secret) == "ada@example.com"
    assert bearer(app, bob_secret) == "bob@example.com"


def test_a_deleted_account_takes_its_tokens_along(app, ada):
    secret = make_token(ada)
    with app.app_context():
        db.session.execute(text("DELETE FROM users WHERE email = 'ada@example.com'"))
        db.session.commit()
    assert stored_tokens(app) == []
    assert bearer(app, secret) is None


def test_a_token_survives_logging_out(app, ada):
    """A token is its own login: ending the browser's sessions leaves scripts working."""
    secret = make_token(ada)
    ada.form("POST", "/account/logout-everywhere")
    assert bearer(app, secret) == "ada@example.com"
    assert UserClient(app, "ada@example.com").get("/account/tokens").status_code == 200
