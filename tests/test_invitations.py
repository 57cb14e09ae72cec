"""Invitations by email: invite, read the email from a real SMTP server, follow the link, join."""
import re
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from itsdangerous import TimestampSigner
from sqlalchemy import func, select

from tests.conftest import TOKEN, UserClient, make_user
from tests.test_members import add_member, role_of, verbs
from webapp.extensions import db
from webapp.mail import outbox
from webapp.models import BoardMember, Invitation, User

LINK = re.compile(r"https?://\S+/invitation\?token=\S+")


def invite(client, email="grace@example.com", role="editor", htmx=True):
    send = client.hx if htmx else client.form
    return send("POST", f"{client.board.url}/invitations", {"email": email, "role": role})


def link_in(smtp, address):
    """The invitation link of the last email to `address`, as a path for the test client."""
    match = LINK.search(smtp.last_body(address))
    assert match, smtp.last_body(address)
    parts = urlsplit(match.group(0))
    return f"{parts.path}?{parts.query}"


def invitations(app):
    with app.app_context():
        return db.session.scalars(select(Invitation).order_by(Invitation.id)).all()


def csrf(client, url):
    return TOKEN.search(client.get(url).get_data(as_text=True)).group(1)


PASSWORD = "plum-kettle-orbit-93"  # strong enough for any password checker


def sign_up(client, name="Grace", email="grace@example.com"):
    token = csrf(client, "/signup")
    return client.post("/signup", data={"name": name, "email": email, "password": PASSWORD,
                                         "confirm": PASSWORD, "csrf_token": token})


def confirm_sign_up(client, smtp, email):
    """A sign-up the invitation did not prove the address of: the emailed link confirms it."""
    link = re.search(r"https?://\S+(/signup/confirm\?token=\S+)", smtp.last_body(email)).group(1)
    return client.post(link, data={"csrf_token": csrf(client, link)})


# --- Inviting ---------------------------------------------------------------------------------

def test_owner_invites_by_email_with_htmx(app, ada, smtp):
    response = invite(ada, "Grace@Example.com ", "editor")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    # A fresh form saying the invitation left, and the pending list swapped out of band.
    assert html.lstrip().startswith('<form id="invite-form"') and "Invitation sent to grace@example.com." in html
    assert '<section id="invitations"' in html and 'hx-swap-oob="true"' in html
    assert "<strong>grace@example.com</strong> as editor" in html

    [message] = smtp.to("grace@example.com")
    assert message["Subject"] == "Ada invited you to “Roadmap” on Corkboard"
    body = smtp.last_body("grace@example.com")
    assert "Ada invited you to the board “Roadmap” on Corkboard, as editor" in body
    assert "valid for 7 days" in body
    assert link_in(smtp, "grace@example.com").startswith("/invitation?token=")
    assert message.get_body(("html",)) is not None

    [stored] = invitations(app)
    assert (stored.email, stored.role, stored.accepted_at, stored.revoked_at) == \
        ("grace@example.com", "editor", None, None)
    assert verbs(app, ada.board.id) == [("member.invited", {"email": "grace@example.com", "role": "editor"})]


def test_owner_invites_without_javascript(app, ada, smtp):
    response = invite(ada, role="viewer", htmx=False)
    assert response.status_code == 303 and response.location == f"{ada.board.url}/members"
    page = ada.get(response.location).get_data(as_text=True)
    assert "Invitation sent to grace@example.com." in page and "<strong>grace@example.com</strong> as viewer" in page
    assert len(smtp.to("grace@example.com")) == 1


@pytest.mark.parametrize("email, role, message", [
    ("", "editor", "Enter the email address to invite."),
    ("not-an-email", "editor", "That is not an email address."),
    ("grace@example.com", "admin", "Choose viewer, editor or owner."),
    ("ada@example.com", "editor", "ada@example.com is already a member of this board."),
    ("ADA@example.com", "viewer", "ada@example.com is already a member of this board."),
])
@pytest.mark.parametrize("htmx", [True, False])
def test_bad_invitations_are_refused_inline(app, ada, smtp, email, role, message, htmx):
    response = invite(ada, email, role, htmx=htmx)
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and message in html and 'aria-invalid="true"' in html
    assert ("<html" in html) != htmx  # without JS, a page of its own
    assert invitations(app) == [] and smtp.messages == []


def test_an_invitation_is_made_even_while_the_mail_server_is_down(app, ada, caplog):
    # No `smtp` fixture: the app's mail server does not answer. The invitation is saved and the
    # owner told so; the email is tried again after the response, and given up in the log.
    app.config.update(MAIL_SEND_TRIES=2, MAIL_RETRY_DELAY=0.01)
    response = invite(ada)
    assert response.status_code == 200 and "Invitation sent to grace@example.com." in response.get_data(as_text=True)
    [stored] = invitations(app)
    assert stored.email == "grace@example.com" and verbs(app, ada.board.id)[0][0] == "member.invited"
    assert outbox.wait_idle(10)
    assert any("Gave up sending" in r.getMessage() and "grace@example.com" in r.getMessage()
               for r in caplog.records)


def test_inviting_again_replaces_the_pending_invitation(app, ada, smtp):
    invite(ada, role="viewer")
    first_link = link_in(smtp, "grace@example.com")
    invite(ada, role="editor")
    second_link = link_in(smtp, "grace@example.com")
    html = ada.get(f"{ada.board.url}/members").get_data(as_text=True)
    assert html.count("<strong>grace@example.com</strong>") == 1 and "as editor" in html
    grace = UserClient(app, make_grace(app))
    assert grace.get(first_link).status_code == 410
    assert grace.get(second_link).status_code == 200


def make_grace(app):
    with app.app_context():
        make_user("Grace")
    return "grace@example.com"


# --- Accepting ------------------------------------------------------------------------------

def test_an_existing_user_accepts_after_seeing_the_invitation(app, ada, bob, smtp):
    invite(ada, "bob@example.com", "editor")
    link = link_in(smtp, "bob@example.com")
    page = bob.get(link)
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Ada invited you" in html and "“Roadmap”" in html and "<strong>editor</strong>" in html
    assert "Accept invitation" in html
    assert role_of(app, ada.board.id, "Bob") is None  # looking is not accepting

    response = bob.form("POST", link)
    assert response.status_code == 303 and response.location == ada.board.url
    board = bob.get(ada.board.url).get_data(as_text=True)
    assert "You joined “Roadmap” as editor." in board
    assert role_of(app, ada.board.id, "Bob") == "editor"
    assert [verb for verb, _ in verbs(app, ada.board.id)] == ["member.invited", "member.joined"]
    [stored] = invitations(app)
    assert stored.accepted_at is not None
    # The members page shows Bob, and no pending invitation any more.
    members = ada.get(f"{ada.board.url}/members").get_data(as_text=True)
    assert "bob@example.com" in members and "No pending invitations." in members

    # The link is used up.
    again = bob.get(link)
    assert again.status_code == 410 and "already been used" in again.get_data(as_text=True)


def test_a_logged_out_user_logs_in_and_comes_back_to_the_invitation(app, ada, bob, smtp):
    invite(ada, "bob@example.com", "viewer")
    link = link_in(smtp, "bob@example.com")
    browser = app.test_client()
    response = browser.get(link)
    assert response.status_code == 302
    assert urlsplit(response.location).path == "/login"
    login_page = browser.get(response.location).get_data(as_text=True)
    assert "You are invited to the board “Roadmap”. Log in to accept" in login_page
    assert "Create an account" in login_page

    token = TOKEN.search(login_page).group(1)
    next_field = re.search(r'name="next" type="hidden" value="([^"]+)"', login_page).group(1)
    logged_in = browser.post("/login", data={"email": "bob@example.com", "password": "password123",
                                             "next": next_field.replace("&amp;", "&"), "csrf_token": token})
    assert logged_in.status_code == 303 and logged_in.location == link
    accept_page = browser.get(link).get_data(as_text=True)
    assert "Accept invitation" in accept_page
    browser.post(link, data={"csrf_token": TOKEN.search(accept_page).group(1)})
    assert role_of(app, ada.board.id, "Bob") == "viewer"


def test_a_new_person_signs_up_through_the_link_and_lands_on_the_board(app, ada, smtp):
    invite(ada, "grace@example.com", "viewer")
    link = link_in(smtp, "grace@example.com")
    browser = app.test_client()
    assert browser.get(link).status_code == 302

    signup_page = browser.get("/signup").get_data(as_text=True)
    assert 'value="grace@example.com"' in signup_page  # the email is filled in
    assert "Create your account to join “Roadmap” as viewer." in signup_page

    response = sign_up(browser)
    assert response.status_code == 303 and response.location == ada.board.url
    board = browser.get(ada.board.url).get_data(as_text=True)
    assert "Roadmap" in board and "You joined “Roadmap” as viewer." in board
    assert role_of(app, ada.board.id, "Grace") == "viewer"
    assert [verb for verb, _ in verbs(app, ada.board.id)] == ["member.invited", "member.joined"]
    assert invitations(app)[0].accepted_at is not None


def test_a_later_sign_up_in_the_same_browser_does_not_reuse_an_invitation(app, ada, smtp):
    invite(ada, "grace@example.com", "viewer")
    browser = app.test_client()
    browser.get(link_in(smtp, "grace@example.com"))
    sign_up(browser)
    browser.post("/logout", data={"csrf_token": csrf(browser, "/boards/")})
    sign_up(browser, name="Heidi", email="heidi@example.com")
    response = confirm_sign_up(browser, smtp, "heidi@example.com")
    assert response.location == "/boards/"
    assert role_of(app, ada.board.id, "Heidi") is None


def test_an_invitation_opened_by_a_member_says_so(app, ada, bob, smtp):
    invite(ada, "bob@example.com", "editor")
    link = link_in(smtp, "bob@example.com")
    add_member(app, ada.board.id, "Bob", "viewer")  # added directly before he opened the link
    html = bob.get(link).get_data(as_text=True)
    assert "You are already a member of this board, as viewer." in html
    response = bob.form("POST", link)
    assert response.status_code == 303 and role_of(app, ada.board.id, "Bob") == "viewer"
    assert "You are already a member of “Roadmap”, as viewer." in bob.get(ada.board.url).get_data(as_text=True)


def test_only_the_invited_address_can_accept(app, ada, bob, smtp):
    """Bob holds the link of Grace's invitation (forwarded, leaked): he cannot join with it."""
    invite(ada, "Grace@Example.com", "owner")
    link = link_in(smtp, "grace@example.com")
    for method in ("GET", "POST"):
        page = bob.get(link) if method == "GET" else bob.form("POST", link)
        html = page.get_data(as_text=True)
        assert page.status_code == 403, method
        assert "This invitation is for g…@example.com; log in with that address" in html
        assert "Accept invitation" not in html and "grace@example.com" not in html
    assert role_of(app, ada.board.id, "Bob") is None
    assert invitations(app)[0].accepted_at is None

    # Grace herself still can (invited as Grace@Example.com).
    grace = UserClient(app, make_grace(app))
    assert "Accept invitation" in grace.get(link).get_data(as_text=True)
    assert grace.form("POST", link).status_code == 303 and role_of(app, ada.board.id, "Grace") == "owner"


def test_signing_up_with_another_address_does_not_use_the_invitation(app, ada, smtp):
    invite(ada, "grace@example.com", "editor")
    browser = app.test_client()
    browser.get(link_in(smtp, "grace@example.com"))
    sign_up(browser, name="Mallory", email="mallory@example.com")  # another address: confirmed by email
    response = confirm_sign_up(browser, smtp, "mallory@example.com")
    assert response.status_code == 303 and response.location == "/boards/"
    page = browser.get("/boards/").get_data(as_text=True)
    assert "The invitation to “Roadmap” is for g…@example.com, so it was not used." in page
    assert role_of(app, ada.board.id, "Mallory") is None
    assert invitations(app)[0].accepted_at is None
    with app.app_context():
        assert db.session.scalar(select(User.id).where(User.email == "mallory@example.com")) is not None


# --- Links that no longer work ------------------------------------------------------------------

def test_a_revoked_invitation_link_says_so(app, ada, bob, smtp):
    invite(ada, "bob@example.com")
    link = link_in(smtp, "bob@example.com")
    invitation_id = invitations(app)[0].id
    response = ada.hx("DELETE", f"{ada.board.url}/invitations/{invitation_id}")
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and html.lstrip().startswith('<section id="invitations"')
    assert "bob@example.com" not in html and "No pending invitations." in html
    assert verbs(app, ada.board.id)[-1] == ("invitation.revoked", {"email": "bob@example.com"})

    for client in (bob, app.test_client()):
        page = client.get(link)
        assert page.status_code == 410 and "This invitation was withdrawn." in page.get_data(as_text=True)
    refused = bob.form("POST", link)
    assert refused.status_code == 410 and role_of(app, ada.board.id, "Bob") is None


def test_revoking_without_javascript_and_twice(app, ada, smtp):
    invite(ada)
    url = f"{ada.board.url}/invitations/{invitations(app)[0].id}"
    response = ada.form("DELETE", url)
    assert response.status_code == 303 and response.location == f"{ada.board.url}/members"
    assert ada.form("DELETE", url).status_code == 303  # already revoked: nothing more happens
    assert [verb for verb, _ in verbs(app, ada.board.id)] == ["member.invited", "invitation.revoked"]
    assert ada.hx("DELETE", f"{ada.board.url}/invitations/999999").status_code == 404


def test_an_accepted_invitation_cannot_be_revoked(app, ada, bob, smtp):
    invite(ada, "bob@example.com")
    bob.form("POST", link_in(smtp, "bob@example.com"))
    response = ada.hx("DELETE", f"{ada.board.url}/invitations/{invitations(app)[0].id}")
    assert response.status_code == 409 and "already accepted" in response.get_data(as_text=True)


def test_viewers_and_strangers_cannot_revoke(app, ada, bob, smtp):
    invite(ada)
    url = f"{ada.board.url}/invitations/{invitations(app)[0].id}"
    assert bob.hx("DELETE", url).status_code == 404
    add_member(app, ada.board.id, "Bob", "viewer")
    assert bob.hx("DELETE", url).status_code == 403
    assert invitations(app)[0].revoked_at is None


def test_an_expired_invitation_link_says_so(app, ada, bob, smtp, monkeypatch):
    invite(ada, "bob@example.com")
    link = link_in(smtp, "bob@example.com")
    real = TimestampSigner.get_timestamp
    monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda self: real(self) + 6 * 86400)
    assert bob.get(link).status_code == 200  # six days later it still works
    monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda self: real(self) + 7 * 86400 + 60)
    for client in (bob, app.test_client()):
        page = client.get(link)
        assert page.status_code == 410
        assert "This invitation has expired: invitations are valid for 7 days." in page.get_data(as_text=True)
    assert bob.form("POST", link).status_code == 410
    assert role_of(app, ada.board.id, "Bob") is None
    # Nor is it pending any more on the members page, once its week is over.
    with app.app_context():
        stored = db.session.scalar(select(Invitation))
        stored.created_at = stored.created_at - timedelta(days=7, minutes=1)
        db.session.commit()
    assert "bob@example.com" not in ada.get(f"{ada.board.url}/members").get_data(as_text=True)


@pytest.mark.parametrize("query", ["", "?token=", "?token=nonsense", "?token=MQ.tampered.signature"])
def test_a_broken_link_says_so(app, bob, query):
    for client in (bob, app.test_client()):
        page = client.get(f"/invitation{query}")
        assert page.status_code == 400
        assert "This invitation link is not valid." in page.get_data(as_text=True)


def test_a_link_signed_for_something_else_is_not_an_invitation(app, ada, bob):
    from webapp.auth import reset_token
    from webapp.models import User
    with app.app_context():
        token = reset_token(db.session.scalar(select(User).where(User.name == "Bob")))
    assert bob.get(f"/invitation?token={token}").status_code == 400


def test_the_link_of_a_deleted_board_says_so(app, ada, bob, smtp):
    invite(ada, "bob@example.com")
    link = link_in(smtp, "bob@example.com")
    ada.form("DELETE", ada.board.url)
    page = bob.get(link)
    assert page.status_code == 410 and "no longer exists" in page.get_data(as_text=True)


# --- Redirects stay on this site ----------------------------------------------------------------

@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/x", "/\\evil.example"])
def test_login_after_an_invitation_never_leaves_the_site(app, ada, bob, smtp, target):
    invite(ada, "bob@example.com")
    link = link_in(smtp, "bob@example.com")
    browser = app.test_client()
    browser.get(link)
    token = csrf(browser, "/login")
    response = browser.post("/login", data={"email": "bob@example.com", "password": "password123",
                                            "next": target, "csrf_token": token})
    # An unsafe `next` is ignored: the pending invitation is where the person was going.
    assert response.status_code == 303 and response.location == link


def test_accepting_needs_a_csrf_token(app, ada, bob, smtp):
    invite(ada, "bob@example.com")
    response = bob.client.post(link_in(smtp, "bob@example.com"))
    assert response.status_code == 400 and role_of(app, ada.board.id, "Bob") is None
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(BoardMember)) == 1
