"""The members page: roles, changing them, removing members, leaving, the last owner rule."""
import pytest
from sqlalchemy import select

from tests.conftest import UserClient, make_user
from webapp.extensions import db
from webapp.models import Activity, Board, BoardMember, Card, User, card_assignees


def add_member(app, board_id, name, role):
    """Make a user (new, or existing by name) a member of the board; returns the membership id."""
    with app.app_context():
        user = db.session.scalar(select(User).where(User.name == name)) or make_user(name)
        member = BoardMember(board_id=board_id, user_id=user.id, role=role)
        db.session.add(member)
        db.session.commit()
        return member.id


def membership(app, board_id, name):
    with app.app_context():
        return db.session.scalar(select(BoardMember).join(BoardMember.user)
                                 .where(BoardMember.board_id == board_id, User.name == name))


def role_of(app, board_id, name):
    member = membership(app, board_id, name)
    return member.role if member else None


def verbs(app, board_id):
    with app.app_context():
        return [(a.verb, a.details) for a in db.session.scalars(
            select(Activity).where(Activity.board_id == board_id).order_by(Activity.id))]


def member_id(app, board_id, name):
    return membership(app, board_id, name).id


@pytest.fixture
def viewer(app, ada, bob):
    """Bob, a viewer of Ada's board."""
    add_member(app, ada.board.id, "Bob", "viewer")
    return bob


@pytest.fixture
def editor(app, ada):
    """Carol, an editor of Ada's board, logged in."""
    add_member(app, ada.board.id, "Carol", "editor")
    return UserClient(app, "carol@example.com")


def members_url(ada):
    return f"{ada.board.url}/members"


# --- The page -----------------------------------------------------------------------------

def test_owner_sees_members_roles_and_the_controls(app, ada, editor):
    html = ada.get(members_url(ada)).get_data(as_text=True)
    assert "Members of “Roadmap”" in html
    assert "Ada" in html and "ada@example.com" in html and "Carol" in html and "carol@example.com" in html
    assert 'aria-label="Remove Carol"' in html and "Role of Carol" in html
    assert 'id="invite-form"' in html and "Pending invitations" in html
    # Ada is the only owner: no select for her, and the page says why.
    assert "Role of Ada" not in html and "(only owner)" in html
    assert "cannot leave or step down" in html


@pytest.mark.parametrize("fixture", ["viewer", "editor"])
def test_other_members_see_the_list_without_the_owner_controls(request, ada, fixture):
    client = request.getfixturevalue(fixture)
    response = client.get(members_url(ada))
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Ada" in html and "Owner" in html
    assert "Role of" not in html and "Remove" not in html
    assert 'id="invite-form"' not in html and "Pending invitations" not in html
    assert "Leave board" in html


def test_members_page_is_also_a_fragment(ada, editor):
    response = ada.hx("GET", members_url(ada))
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "HX-Request" in response.headers["Vary"]
    assert html.lstrip().startswith('<section id="members"') and "<html" not in html


def test_board_page_links_to_its_members(ada, viewer):
    assert f'href="{members_url(ada)}"' in viewer.get(ada.board.url).get_data(as_text=True)


# --- Who may do what ------------------------------------------------------------------------

def member_routes(ada, target_member, invitation_id=1):
    url = members_url(ada)
    return [("GET", url, None),
            ("PATCH", f"{url}/{target_member}", {"role": "viewer"}),
            ("DELETE", f"{url}/{target_member}", None),
            ("DELETE", f"{ada.board.url}/membership", None),
            ("POST", f"{ada.board.url}/invitations", {"email": "x@example.com", "role": "editor"}),
            ("DELETE", f"{ada.board.url}/invitations/{invitation_id}", None)]


def test_a_stranger_gets_404_everywhere(app, ada, bob):
    target = member_id(app, ada.board.id, "Ada")
    for method, url, data in member_routes(ada, target):
        assert bob.hx(method, url, data).status_code == 404, f"{method} {url}"
        plain = bob.get(url) if method == "GET" else bob.form(method, url, data)
        assert plain.status_code == 404, f"{method} {url} (no JS)"
    assert role_of(app, ada.board.id, "Ada") == "owner"


@pytest.mark.parametrize("fixture", ["viewer", "editor"])
def test_only_owners_manage_members(app, request, ada, fixture):
    client = request.getfixturevalue(fixture)
    target = member_id(app, ada.board.id, "Ada")
    for method, url, data in member_routes(ada, target)[1:]:
        if url.endswith("/membership"):
            continue  # leaving is everyone's right: tested below
        response = client.hx(method, url, data)
        assert response.status_code == 403, f"{method} {url}"
        assert "Only the board&#39;s owners can do that." in response.get_data(as_text=True)
        assert client.form(method, url, data).status_code == 403
    assert role_of(app, ada.board.id, "Ada") == "owner"
    assert verbs(app, ada.board.id) == []


def test_a_member_of_another_board_is_not_found(app, ada, editor):
    with app.app_context():
        other = Board(title="Elsewhere", owner_id=db.session.scalar(select(User.id).where(User.name == "Carol")))
        db.session.add(other)
        db.session.commit()
        other_id = other.id
    stranger_member = add_member(app, other_id, "Carol", "owner")
    response = ada.hx("PATCH", f"{members_url(ada)}/{stranger_member}", {"role": "viewer"})
    assert response.status_code == 404 and "No such member" in response.get_data(as_text=True)
    assert ada.hx("DELETE", f"{members_url(ada)}/{stranger_member}").status_code == 404
    assert ada.hx("DELETE", f"{members_url(ada)}/999999").status_code == 404


# --- Changing roles --------------------------------------------------------------------------

def test_owner_changes_a_role_with_htmx(app, ada, editor):
    carol = member_id(app, ada.board.id, "Carol")
    response = ada.hx("PATCH", f"{members_url(ada)}/{carol}", {"role": "viewer"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and html.lstrip().startswith('<section id="members"')
    assert '<option value="viewer" selected>' in html
    assert role_of(app, ada.board.id, "Carol") == "viewer"
    assert verbs(app, ada.board.id) == [("member.role_changed", {"member": "Carol", "role": "viewer"})]
    # Carol, now a viewer, may look but no longer change the board.
    assert editor.hx("POST", f"{ada.board.column_url('Doing')}/cards", {"title": "Mine"}).status_code == 403


def test_owner_changes_a_role_without_javascript(app, ada, editor):
    carol = member_id(app, ada.board.id, "Carol")
    response = ada.form("PATCH", f"{members_url(ada)}/{carol}", {"role": "owner"})
    assert response.status_code == 303 and response.location == members_url(ada)
    assert role_of(app, ada.board.id, "Carol") == "owner"
    # Two owners now: both get role selects.
    html = ada.get(members_url(ada)).get_data(as_text=True)
    assert "Role of Ada" in html and "Role of Carol" in html and "(only owner)" not in html


@pytest.mark.parametrize("role", ["", "admin", "OWNER"])
def test_an_unknown_role_is_refused(app, ada, editor, role):
    carol = member_id(app, ada.board.id, "Carol")
    response = ada.hx("PATCH", f"{members_url(ada)}/{carol}", {"role": role})
    assert response.status_code == 422
    assert "Choose viewer, editor or owner." in response.get_data(as_text=True)
    assert role_of(app, ada.board.id, "Carol") == "editor"


def test_the_only_owner_cannot_step_down(app, ada):
    ada_id = member_id(app, ada.board.id, "Ada")
    for client_call in (ada.hx, ada.form):
        response = client_call("PATCH", f"{members_url(ada)}/{ada_id}", {"role": "editor"})
        assert response.status_code == 409
        assert ("You are the board&#39;s only owner and cannot become an editor. "
                "Make another member an owner first.") in response.get_data(as_text=True)
    assert role_of(app, ada.board.id, "Ada") == "owner"
    assert verbs(app, ada.board.id) == []


def test_an_owner_steps_down_when_another_owner_remains(app, ada, editor):
    carol = member_id(app, ada.board.id, "Carol")
    ada.hx("PATCH", f"{members_url(ada)}/{carol}", {"role": "owner"})
    response = ada.hx("PATCH", f"{members_url(ada)}/{member_id(app, ada.board.id, 'Ada')}", {"role": "editor"})
    # The page loses its owner controls: it reloads whole.
    assert response.status_code == 200 and response.headers["HX-Redirect"] == members_url(ada)
    assert role_of(app, ada.board.id, "Ada") == "editor"
    with app.app_context():  # the board's recorded owner is one who still owns it
        board = db.session.get(Board, ada.board.id)
        assert board.owner.name == "Carol"
    # Now Carol is the only owner: she cannot be demoted either, even by a fellow owner's stale page.
    response = editor.hx("PATCH", f"{members_url(ada)}/{carol}", {"role": "viewer"})
    assert response.status_code == 409 and "only owner" in response.get_data(as_text=True)


# --- Removing and leaving ---------------------------------------------------------------------

def test_owner_removes_a_member_with_htmx(app, ada, editor):
    card_id = ada.board.cards["One"]
    with app.app_context():
        carol = db.session.scalar(select(User).where(User.name == "Carol"))
        card = db.session.get(Card, card_id)
        card.assignees.append(carol)
        db.session.commit()
    response = ada.hx("DELETE", f"{members_url(ada)}/{member_id(app, ada.board.id, 'Carol')}")
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and html.lstrip().startswith('<section id="members"')
    assert "Carol" not in html
    assert role_of(app, ada.board.id, "Carol") is None
    assert verbs(app, ada.board.id) == [("member.removed", {"member": "Carol"})]
    with app.app_context():  # no card stays assigned to someone who cannot see it
        assert db.session.execute(select(card_assignees)).all() == []
    assert editor.get(ada.board.url).status_code == 404


def test_owner_removes_a_member_without_javascript(app, ada, viewer):
    response = ada.form("DELETE", f"{members_url(ada)}/{member_id(app, ada.board.id, 'Bob')}")
    assert response.status_code == 303 and response.location == members_url(ada)
    assert role_of(app, ada.board.id, "Bob") is None
    assert viewer.get(ada.board.url).status_code == 404


@pytest.mark.parametrize("fixture", ["viewer", "editor"])
def test_any_member_can_leave(app, request, ada, fixture):
    client = request.getfixturevalue(fixture)
    name = {"viewer": "Bob", "editor": "Carol"}[fixture]
    response = client.hx("DELETE", f"{ada.board.url}/membership")
    assert response.status_code == 200 and response.headers["HX-Redirect"] == "/boards/"
    assert role_of(app, ada.board.id, name) is None
    assert verbs(app, ada.board.id) == [("member.left", {})]
    page = client.get("/boards/").get_data(as_text=True)
    assert "You left the board “Roadmap”." in page and "Roadmap</a>" not in page
    assert client.get(ada.board.url).status_code == 404


def test_leaving_without_javascript(app, ada, viewer):
    response = viewer.form("DELETE", f"{ada.board.url}/membership")
    assert response.status_code == 303 and response.location == "/boards/"
    assert role_of(app, ada.board.id, "Bob") is None


def test_the_only_owner_cannot_leave(app, ada, editor):
    for url in (f"{ada.board.url}/membership", f"{members_url(ada)}/{member_id(app, ada.board.id, 'Ada')}"):
        response = ada.hx("DELETE", url)
        assert response.status_code == 409 and response.headers["HX-Retarget"] == "#errors"
        assert "You are the board&#39;s only owner and cannot leave." in response.get_data(as_text=True)
        plain = ada.form("DELETE", url)
        assert plain.status_code == 409 and "only owner" in plain.get_data(as_text=True)
    assert role_of(app, ada.board.id, "Ada") == "owner"
    assert "Leave board" not in ada.get(members_url(ada)).get_data(as_text=True)


def test_an_owner_can_leave_when_another_owner_remains(app, ada, editor):
    ada.hx("PATCH", f"{members_url(ada)}/{member_id(app, ada.board.id, 'Carol')}", {"role": "owner"})
    response = ada.hx("DELETE", f"{members_url(ada)}/{member_id(app, ada.board.id, 'Ada')}")
    assert response.headers["HX-Redirect"] == "/boards/"
    assert role_of(app, ada.board.id, "Ada") is None
    with app.app_context():
        assert db.session.get(Board, ada.board.id).owner.name == "Carol"
    assert "Roadmap" in editor.get(ada.board.url).get_data(as_text=True)


def test_changes_of_membership_end_the_members_live_streams(app, ada, editor):
    """Their open board reloads: with the new role's controls, or to a 404 once removed."""
    carol = membership(app, ada.board.id, "Carol")
    broker = app.extensions["live"]
    ada.hx("PATCH", f"{members_url(ada)}/{carol.id}", {"role": "viewer"})
    ada.hx("DELETE", f"{members_url(ada)}/{carol.id}")
    revoked = [(event.name, event.user_id) for event in broker._logs[ada.board.id]]
    assert revoked == [("revoke", carol.user_id), ("revoke", carol.user_id)]
