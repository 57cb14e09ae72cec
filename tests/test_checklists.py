"""Checklists: add items, tick them off, delete them; progress on the card's detail and face."""
import pytest
from sqlalchemy import select

from tests.test_assignees import activities, face, join, load_card
from webapp.extensions import db
from webapp.models import ChecklistItem


def checklist_url(ada, card="One"):
    return f"{ada.board.card_url(card)}/checklist"


def item_ids(app, card_id):
    with app.app_context():
        return db.session.scalars(select(ChecklistItem.id).where(ChecklistItem.card_id == card_id)
                                  .order_by(ChecklistItem.position)).all()


def add_items(ada, *texts, card="One"):
    for text in texts:
        assert ada.hx("POST", checklist_url(ada, card), {"text": text}).status_code == 200


def test_add_items_with_htmx(app, ada):
    card_id = ada.board.cards["One"]
    response = ada.hx("POST", checklist_url(ada), {"text": "  Write the tests "})
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and html.lstrip().startswith('<section id="checklist"')
    assert '<label for="checklist-done-' in html and ">Write the tests</label>" in html
    assert 'title="0 of 1 done">0/1</span>' in html
    assert 'value="" autofocus' in html  # the box is empty and ready for the next item
    assert '<span class="progress" title="Checklist">0/1</span>' in face(html, card_id)
    add_items(ada, "Run them", "Ship")
    assert load_card(app, card_id, "checklist") == [("Write the tests", False), ("Run them", False), ("Ship", False)]
    assert ("checklist.added", {"card": "One", "item": "Write the tests"}) in activities(app, ada.board.id)


def test_add_item_without_javascript(app, ada):
    response = ada.form("POST", checklist_url(ada), {"text": "Buy stamps"})
    assert response.status_code == 303 and response.location == ada.board.card_url("One")
    assert load_card(app, ada.board.cards["One"], "checklist") == [("Buy stamps", False)]


@pytest.mark.parametrize("text, error", [("   ", "Write the item first."), ("x" * 201, "Keep it under 200 characters.")])
def test_invalid_item_is_422(app, ada, text, error):
    response = ada.hx("POST", checklist_url(ada), {"text": text})
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and error in html and 'id="checklist"' in html
    assert 'aria-invalid="true"' in html
    plain = ada.form("POST", checklist_url(ada), {"text": text})
    assert plain.status_code == 422 and error in plain.get_data(as_text=True)
    assert load_card(app, ada.board.cards["One"], "checklist") == []


def test_tick_and_untick_with_the_checkbox(app, ada):
    card_id = ada.board.cards["One"]
    add_items(ada, "Design", "Build", "Test", "Document", "Release")
    first, second, third = item_ids(app, card_id)[:3]
    for item in (first, second):
        ada.hx("PATCH", f"{checklist_url(ada)}/{item}", {"done": "y"})
    response = ada.hx("PATCH", f"{checklist_url(ada)}/{third}", {"done": "y"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'title="3 of 5 done">3/5</span>' in html and '<progress value="3" max="5"' in html
    assert f'id="checklist-done-{third}" name="done" value="y" checked>' in html
    assert 'title="Checklist">3/5' in face(html, card_id)
    assert ("checklist.checked", {"card": "One", "item": "Test"}) in activities(app, ada.board.id)

    response = ada.hx("PATCH", f"{checklist_url(ada)}/{third}", {})  # an unticked box sends nothing
    assert 'title="Checklist">2/5' in face(response.get_data(as_text=True), card_id)
    assert [done for _, done in load_card(app, card_id, "checklist")] == [True, True, False, False, False]
    assert ("checklist.unchecked", {"card": "One", "item": "Test"}) in activities(app, ada.board.id)
    detail = ada.hx("GET", ada.board.card_url("One")).get_data(as_text=True)
    assert ">2/5</span>" in detail
    board = ada.get(ada.board.url).get_data(as_text=True)
    assert 'title="Checklist">2/5' in board


def test_all_done_is_marked_complete(app, ada):
    add_items(ada, "Only one")
    (item,) = item_ids(app, ada.board.cards["One"])
    html = ada.hx("PATCH", f"{checklist_url(ada)}/{item}", {"done": "y"}).get_data(as_text=True)
    assert '<span class="progress complete" title="Checklist">' in face(html, ada.board.cards["One"])
    assert 'title="Checklist">1/1</span>' in face(html, ada.board.cards["One"])


def test_tick_without_javascript(app, ada):
    add_items(ada, "Water the plants")
    (item,) = item_ids(app, ada.board.cards["One"])
    page = ada.get(ada.board.card_url("One")).get_data(as_text=True)
    assert '<noscript><button type="submit" class="secondary">Update</button></noscript>' in page
    response = ada.form("PATCH", f"{checklist_url(ada)}/{item}", {"done": "y"})
    assert response.status_code == 303 and response.location == ada.board.card_url("One")
    assert load_card(app, ada.board.cards["One"], "checklist") == [("Water the plants", True)]
    ada.form("PATCH", f"{checklist_url(ada)}/{item}", {})
    assert load_card(app, ada.board.cards["One"], "checklist") == [("Water the plants", False)]


def test_ticking_twice_records_once(app, ada):
    add_items(ada, "Once")
    (item,) = item_ids(app, ada.board.cards["One"])
    ada.hx("PATCH", f"{checklist_url(ada)}/{item}", {"done": "y"})
    ada.hx("PATCH", f"{checklist_url(ada)}/{item}", {"done": "y"})
    assert [verb for verb, _ in activities(app, ada.board.id)].count("checklist.checked") == 1


def test_delete_items(app, ada):
    card_id = ada.board.cards["One"]
    add_items(ada, "Keep", "Drop", "Also drop")
    keep, drop, also = item_ids(app, card_id)
    response = ada.hx("DELETE", f"{checklist_url(ada)}/{drop}")
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and ">Drop</label>" not in html and 'title="Checklist">0/2' in face(html, card_id)
    assert ("checklist.deleted", {"card": "One", "item": "Drop"}) in activities(app, ada.board.id)
    plain = ada.form("DELETE", f"{checklist_url(ada)}/{also}")
    assert plain.status_code == 303
    assert load_card(app, card_id, "checklist") == [("Keep", False)]


def test_item_of_another_card_is_404(app, ada):
    add_items(ada, "Two's item", card="Two")
    (item,) = item_ids(app, ada.board.cards["Two"])
    assert ada.hx("PATCH", f"{checklist_url(ada, 'One')}/{item}", {"done": "y"}).status_code == 404
    assert ada.hx("DELETE", f"{checklist_url(ada, 'One')}/{item}").status_code == 404
    assert load_card(app, ada.board.cards["Two"], "checklist") == [("Two's item", False)]


def test_viewer_sees_the_checklist_but_cannot_change_it(app, ada):
    add_items(ada, "Look, don't touch")
    (item,) = item_ids(app, ada.board.cards["One"])
    vera = join(app, ada.board.id, "Vera", "viewer")
    html = vera.hx("GET", ada.board.card_url("One")).get_data(as_text=True)
    assert "Look, don&#39;t touch" in html and "disabled" in html and "Add an item" not in html
    assert vera.hx("POST", checklist_url(ada), {"text": "Mine"}).status_code == 403
    assert vera.hx("PATCH", f"{checklist_url(ada)}/{item}", {"done": "y"}).status_code == 403
    assert vera.form("DELETE", f"{checklist_url(ada)}/{item}").status_code == 403
    assert load_card(app, ada.board.cards["One"], "checklist") == [("Look, don't touch", False)]


def test_stranger_gets_404(app, ada, bob):
    add_items(ada, "Private")
    (item,) = item_ids(app, ada.board.cards["One"])
    assert bob.hx("POST", checklist_url(ada), {"text": "Mine"}).status_code == 404
    assert bob.hx("PATCH", f"{checklist_url(ada)}/{item}", {"done": "y"}).status_code == 404
    assert bob.hx("DELETE", f"{checklist_url(ada)}/{item}").status_code == 404
    assert load_card(app, ada.board.cards["One"], "checklist") == [("Private", False)]


def test_item_text_is_inert(app, ada):
    add_items(ada, '<img src=x onerror=alert(1)>')
    html = ada.get(ada.board.card_url("One")).get_data(as_text=True)
    assert "&lt;img src=x onerror=alert(1)&gt;" in html and "<img src=x" not in html
