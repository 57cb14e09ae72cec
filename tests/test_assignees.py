"""Assignees: several board members per card, chosen from the card's detail."""
import re

import pytest
from sqlalchemy import select

from tests.conftest import UserClient, make_user
from webapp.extensions import db
from webapp.models import Activity, BoardMember, Card, User


# --- helpers the other rich-card tests share ---------------------------------------------------

def join(app, board_id, name, role, email=None) -> UserClient:
    """A new user, member of the board with `role`, logged in."""
    with app.app_context():
        user = make_user(name, email)
        db.session.add(BoardMember(board_id=board_id, user_id=user.id, role=role))
        db.session.commit()
        email = user.email
    return UserClient(app, email)


def user_id(app, name) -> int:
    with app.app_context():
        return db.session.scalar(select(User.id).where(User.name == name))


def activities(app, board_id) -> list[tuple[str, dict]]:
    with app.app_context():
        return [(a.verb, a.details) for a in db.session.scalars(
            select(Activity).where(Activity.board_id == board_id).order_by(Activity.id))]


def load_card(app, card_id, *attributes):
    """The card's stored state: `load_card(app, 1, "labels")` → [label names]."""
    with app.app_context():
        card = db.session.get(Card, card_id)
        values = []
        for attribute in attributes:
            value = getattr(card, attribute)
            if attribute in ("labels", "assignees"):
                value = [item.name for item in value]
            elif attribute == "checklist":
                value = [(item.text, item.done) for item in value]
            elif attribute == "comments":
                value = [comment.body for comment in value]
            values.append(value)
        return values[0] if len(values) == 1 else tuple(values)


def face(html, card_id) -> str:
    """The out-of-band card face in a response."""
    start = html.index(f'<li id="card-{card_id}" class="card" hx-swap-oob="true">')
    return html[start:html.index("</li>", start)]


# --- assigning -------------------------------------------------------------------------------------

@pytest.fixture
def team(app, ada):
    """Bob Stone (editor) and Vera (viewer) join Ada's board."""
    join(app, ada.board.id, "Bob Stone", "editor", "bob@example.com")
    join(app, ada.board.id, "Vera", "viewer")
    return {name: user_id(app, name) for name in ("Ada", "Bob Stone", "Vera")}


def test_detail_offers_every_board_member(ada, team):
    html = ada.hx("GET", ada.board.card_url("One")).get_data(as_text=True)
    for name, person_id in team.items():
        assert f'name="assignees" value="{person_id}">{name}</label>' in html


def test_assign_several_members_with_htmx(app, ada, team):
    card_id = ada.board.cards["One"]
    response = ada.hx("PUT", f"{ada.board.card_url('One')}/assignees",
                      {"assignees": [team["Bob Stone"], team["Ada"]]})
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert html.lstrip().startswith('<section id="card-fields"')
    assert f'value="{team["Bob Stone"]}" checked>Bob Stone' in html
    assert re.search(r'<span class="avatar avatar-\d" title="Ada">A</span><span class="avatar avatar-\d" title="Bob Stone">BS</span>',
                     face(html, card_id))
    assert load_card(app, card_id, "assignees") == ["Ada", "Bob Stone"]
    assert ("card.assigned", {"card": "One", "member": "Bob Stone"}) in activities(app, ada.board.id)
    board = ada.get(ada.board.url).get_data(as_text=True)
    assert 'title="Bob Stone">BS</span>' in board


def test_unassign_keeps_the_others(app, ada, team):
    url = f"{ada.board.card_url('Two')}/assignees"
    ada.hx("PUT", url, {"assignees": [team["Bob Stone"], team["Vera"]]})
    response = ada.hx("PUT", url, {"assignees": [team["Vera"]]})
    assert response.status_code == 200
    assert load_card(app, ada.board.cards["Two"], "assignees") == ["Vera"]
    assert ("card.unassigned", {"card": "Two", "member": "Bob Stone"}) in activities(app, ada.board.id)
    ada.hx("PUT", url, {})  # every box unticked
    assert load_card(app, ada.board.cards["Two"], "assignees") == []


def test_assign_without_javascript(app, ada, team):
    url = ada.board.card_url("Three")
    response = ada.form("PUT", f"{url}/assignees", {"assignees": team["Vera"]})
    assert response.status_code == 303 and response.location == url
    assert load_card(app, ada.board.cards["Three"], "assignees") == ["Vera"]
    page = ada.get(url).get_data(as_text=True)
    assert "Apply assignees" in page  # the no-JS button, inside <noscript>


@pytest.mark.parametrize("who", ["stranger", "unknown", "not a number"])
def test_only_members_can_be_assigned(app, ada, team, who):
    with app.app_context():
        stranger = make_user("Mallory").id
    value = {"stranger": stranger, "unknown": 999999, "not a number": "x"}[who]
    response = ada.hx("PUT", f"{ada.board.card_url('One')}/assignees", {"assignees": [team["Ada"], value]})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "Only members of this board can be assigned." in html and 'id="card-fields"' in html
    assert load_card(app, ada.board.cards["One"], "assignees") == []
    plain = ada.form("PUT", f"{ada.board.card_url('One')}/assignees", {"assignees": value})
    assert plain.status_code == 422 and "<html" in plain.get_data(as_text=True)


def test_someone_who_left_can_still_be_unassigned(app, ada, team):
    url = f"{ada.board.card_url('One')}/assignees"
    ada.hx("PUT", url, {"assignees": [team["Bob Stone"]]})
    with app.app_context():
        db.session.execute(db.delete(BoardMember).where(BoardMember.user_id == team["Bob Stone"]))
        db.session.commit()
    html = ada.hx("GET", ada.board.card_url("One")).get_data(as_text=True)
    assert f'value="{team["Bob Stone"]}" checked>Bob Stone' in html
    assert ada.hx("PUT", url, {"assignees": []}).status_code == 200
    assert ada.hx("PUT", url, {"assignees": [team["Bob Stone"]]}).status_code == 422


def test_viewer_cannot_assign_and_sees_names_only(app, ada, team):
    vera = UserClient(app, "vera@example.com")
    url = f"{ada.board.card_url('One')}/assignees"
    ada.hx("PUT", url, {"assignees": [team["Bob Stone"]]})
    assert vera.hx("PUT", url, {"assignees": [team["Vera"]]}).status_code == 403
    assert vera.form("PUT", url, {"assignees": team["Vera"]}).status_code == 403
    html = vera.hx("GET", ada.board.card_url("One")).get_data(as_text=True)
    assert "Bob Stone" in html and 'name="assignees"' not in html
    assert load_card(app, ada.board.cards["One"], "assignees") == ["Bob Stone"]


def test_stranger_gets_404(app, ada, bob):
    url = f"{ada.board.card_url('One')}/assignees"
    assert bob.hx("PUT", url, {"assignees": [user_id(app, "Bob")]}).status_code == 404
    assert load_card(app, ada.board.cards["One"], "assignees") == []
