"""A card move (or a new card) sends one card, not whole columns: the fragment's size does not grow with
the column, it is idempotent, and it lands where a reload shows the card."""
import re

import pytest

from webapp.extensions import db
from webapp.models import Board, BoardColumn, BoardMember, Card
from webapp.ordering import keys_after

from .conftest import UserClient, make_user


def long_board(app, cards: int) -> dict:
    """Ada's board with `cards` cards in "To do" and "Done" each (and an empty "Doing")."""
    with app.app_context():
        user = make_user("Ada")
        board = Board(title="Long", owner=user)
        board.members = [BoardMember(user=user, role="owner")]
        for title, key in zip(("To do", "Doing", "Done"), keys_after(None, 3)):
            column = BoardColumn(title=title, position=key)
            n = 0 if title == "Doing" else cards
            column.cards = [Card(board=board, title=f"{title} {i}", position=card_key)
                            for i, card_key in enumerate(keys_after(None, n))]
            board.columns.append(column)
        db.session.add(board)
        db.session.commit()
        return {"board": board.id, "columns": {c.title: c.id for c in board.columns},
                "cards": {c.title: c.id for column in board.columns for c in column.cards}}


def move(client, ids, title, column, position):
    return client.hx("PATCH", f"/boards/{ids['board']}/cards/{ids['cards'][title]}/move",
                     {"column_id": ids["columns"][column], "position": position})


def shown_order(client, ids, column) -> list[int]:
    page = client.get(f"/boards/{ids['board']}").get_data(as_text=True)
    listing = page.split(f'id="cards-{ids["columns"][column]}"', 1)[1].split("</ol>", 1)[0]
    return [int(card_id) for card_id in re.findall(r'<li id="card-(\d+)"', listing)]


@pytest.mark.parametrize("cards", [3, 200])
def test_a_move_sends_one_card_however_long_the_columns(app, cards):
    ids = long_board(app, cards)
    ada = UserClient(app, "ada@example.com")
    response = move(ada, ids, "To do 1", "Done", 1)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert html.count('<li id="card-') == 2  # the old face deleted, the fresh one inserted
    assert html.count('class="card"') == 1
    assert f'hx-swap-oob="beforebegin:#card-{ids["cards"]["Done 1"]}"' in html
    assert f'id="column-count-{ids["columns"]["To do"]}"' in html and f'id="column-count-{ids["columns"]["Done"]}"' in html
    assert len(html) < 4000, len(html)  # the old fragment re-sent both columns: ~400 KB for 2 x 200 cards


def test_a_new_card_is_appended_alone(app):
    ids = long_board(app, 200)
    ada = UserClient(app, "ada@example.com")
    response = ada.hx("POST", f"/boards/{ids['board']}/columns/{ids['columns']['To do']}/cards", {"title": "Fresh"})
    html = response.get_data(as_text=True)
    assert html.startswith("<!--v:") and "<!--/v-->" in html
    assert f'hx-swap-oob="beforeend:#cards-{ids["columns"]["To do"]}"' in html
    assert html.count('class="card"') == 1 and ">Fresh</a>" in html
    assert len(html) < 6000, len(html)


def test_the_move_lands_where_a_reload_shows_it(app):
    ids = long_board(app, 5)
    ada = UserClient(app, "ada@example.com")
    for title, column, position in [("To do 0", "Done", 5), ("Done 2", "To do", 0), ("To do 3", "To do", 2),
                                    ("Done 0", "Doing", 0), ("To do 1", "Done", 0)]:
        html = move(ada, ids, title, column, position).get_data(as_text=True)
        order = shown_order(ada, ids, column)
        moved = ids["cards"][title]
        following = re.search(r'hx-swap-oob="beforebegin:#card-(\d+)"', html)
        if following:
            assert order[order.index(moved) + 1] == int(following.group(1))
        else:
            assert order[-1] == moved


def test_the_response_carries_the_version_the_live_update_has(app):
    ids = long_board(app, 3)
    ada = UserClient(app, "ada@example.com")
    sent = []
    broker = app.extensions["live"]
    original = broker.publish
    broker.publish = lambda board_id, name, data, user_id=None: (sent.append(data), original(board_id, name, data, user_id))
    html = move(ada, ids, "To do 0", "Done", 0).get_data(as_text=True)
    broker.publish = original
    [event] = sent
    response_version = int(re.match(r"<!--v:(\d+)-->", html).group(1))
    event_version = int(re.match(r"<!--v:(\d+)-->", event).group(1))
    assert response_version == event_version > 0
    assert html.split("\n", 1)[1].split("<!--/v-->")[0] == event.split("\n", 1)[1]
