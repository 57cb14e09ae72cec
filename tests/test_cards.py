import re

from webapp.extensions import db
from webapp.models import Card
from tests.conftest import card_titles, order_keys


def test_add_card_with_htmx_returns_the_column_list_and_a_fresh_form(app, ada):
    url = f"{ada.board.column_url('Doing')}/cards"
    response = ada.hx("POST", url, {"title": "Write tests"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    # The card's face, deleted wherever it is and then appended: applying it twice (response and live
    # update) shows the card once (tests/test_moves.py, e2e/test_live_moves.py).
    assert f'hx-swap-oob="beforeend:#cards-{ada.board.columns["Doing"]}"' in html
    assert html.count(">Write tests</a>") == 1
    assert f'id="add-card-{ada.board.columns["Doing"]}"' in html and "autofocus" in html
    ada.hx("POST", url, {"title": "Ship it"})
    assert card_titles(app, ada.board.id, "Doing") == ["Write tests", "Ship it"]


def test_add_card_without_javascript_redirects_to_board(app, ada):
    response = ada.form("POST", f"{ada.board.column_url('Done')}/cards", {"title": "Celebrate"})
    assert response.status_code == 303 and response.location == ada.board.url
    assert card_titles(app, ada.board.id, "Done") == ["Celebrate"]


def test_add_card_with_empty_title_shows_inline_error(app, ada):
    column_id = ada.board.columns["Doing"]
    response = ada.hx("POST", f"{ada.board.column_url('Doing')}/cards", {"title": "  "})
    assert response.status_code == 422
    assert response.headers["HX-Retarget"] == f"#add-card-{column_id}"
    html = response.get_data(as_text=True)
    assert "Give it a title." in html and 'aria-invalid="true"' in html
    assert card_titles(app, ada.board.id, "Doing") == []


def test_add_card_with_long_title_keeps_the_text_and_saves_nothing(app, ada):
    response = ada.form("POST", f"{ada.board.column_url('Doing')}/cards", {"title": "y" * 201})
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and "<html" in html
    assert "Keep it under 200 characters." in html and "y" * 201 in html
    assert card_titles(app, ada.board.id, "Doing") == []


def test_card_detail_is_a_page_and_a_dialog_fragment(ada):
    page = ada.get(ada.board.card_url("Two"))
    fragment = ada.hx("GET", ada.board.card_url("Two"))
    assert page.status_code == fragment.status_code == 200
    assert "<html" in page.get_data(as_text=True) and "Roadmap" in page.get_data(as_text=True)
    html = fragment.get_data(as_text=True)
    assert html.lstrip().startswith('<article id="card-detail"') and "<html" not in html
    assert 'value="Two"' in html and 'name="description"' in html
    assert "HX-Request" in fragment.headers["Vary"]


def test_edit_card_title_and_description(app, ada):
    response = ada.hx("PUT", ada.board.card_url("Two"), {"title": "Two, renamed", "description": "Details"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    # The open card's description section is replaced; its title, dates, actions, activity and the
    # card's face on the board come with it, out of band. The rest of the detail stays as it is.
    assert response.headers["HX-Retarget"] == "#card-description" and response.headers["HX-Reswap"] == "outerHTML"
    assert html.startswith('<section id="card-description" class="card-description">')
    assert '<div class="description markdown"><p>Details</p>' in html
    assert '<input type="hidden" name="version" value="2">' in html  # the next save is of this version
    assert '<h2 id="card-detail-title" hx-swap-oob="true">Two, renamed</h2>' in html
    assert 'hx-confirm="Delete the card “Two, renamed”?"' in html
    assert '<section id="card-activity" class="card-activity" aria-label="Activity" hx-swap-oob="true">' in html
    assert "<strong>Ada</strong> edited" in html and 'hx-trigger="load"' not in html  # no second request
    assert f'<li id="card-{ada.board.cards["Two"]}" class="card" hx-swap-oob="true">' in html
    with app.app_context():
        card = db.session.get(Card, ada.board.cards["Two"])
        assert (card.title, card.description, card.version) == ("Two, renamed", "Details", 2)


def test_edit_card_without_javascript(app, ada):
    url = ada.board.card_url("One")
    response = ada.form("PUT", url, {"title": "Uno", "description": ""})
    assert response.status_code == 303 and response.location == url
    assert card_titles(app, ada.board.id, "To do")[0] == "Uno"


def test_stale_edit_is_refused_with_the_current_card(app, ada):
    url = ada.board.card_url("One")
    ada.hx("PUT", url, {"title": "First edit", "version": "1"})
    response = ada.hx("PUT", url, {"title": "Stale edit", "version": "1"})
    assert response.status_code == 409
    html = response.get_data(as_text=True)
    assert "Ada changed this card while you were editing it" in html and 'name="version" value="2"' in html
    assert card_titles(app, ada.board.id, "To do")[0] == "First edit"


def test_move_card_to_another_column_changes_only_its_key(app, ada):
    before = order_keys(app, ada.board.id)
    card_id = ada.board.cards["Two"]
    response = ada.hx("PATCH", f"{ada.board.card_url('Two')}/move",
                      {"column_id": ada.board.columns["Done"], "position": 0})
    assert response.status_code == 200
    assert response.headers["HX-Trigger"] == "closeDialog"
    html = response.get_data(as_text=True)
    assert f'hx-swap-oob="beforeend:#cards-{ada.board.columns["Done"]}"' in html  # the card alone, at its place
    assert f'id="column-count-{ada.board.columns["To do"]}"' in html  # and both columns' counts
    assert card_titles(app, ada.board.id, "To do") == ["One", "Three"]
    assert card_titles(app, ada.board.id, "Done") == ["Two"]
    after = order_keys(app, ada.board.id)
    assert {k: v for k, v in after.items() if k != card_id} == {k: v for k, v in before.items() if k != card_id}


def test_reorder_within_a_column(app, ada):
    move = f"{ada.board.card_url('Three')}/move"
    ada.hx("PATCH", move, {"column_id": ada.board.columns["To do"], "position": 0})
    assert card_titles(app, ada.board.id, "To do") == ["Three", "One", "Two"]
    ada.hx("PATCH", f"{ada.board.card_url('One')}/move", {"column_id": ada.board.columns["To do"], "position": 2})
    assert card_titles(app, ada.board.id, "To do") == ["Three", "Two", "One"]
    ada.hx("PATCH", move, {"column_id": ada.board.columns["To do"], "position": 99})
    assert card_titles(app, ada.board.id, "To do") == ["Two", "One", "Three"]


def test_move_card_without_javascript(app, ada):
    form = ada.get(f"{ada.board.card_url('One')}/move").get_data(as_text=True)
    assert "<html" in form and "Move card" in form
    response = ada.form("PATCH", f"{ada.board.card_url('One')}/move",
                        {"column_id": ada.board.columns["Doing"], "position": 0})
    assert response.status_code == 303 and response.location == ada.board.url
    assert card_titles(app, ada.board.id, "Doing") == ["One"]


def test_move_card_to_a_column_of_another_board_is_404(app, ada, bob):
    bob_board = bob.form("POST", "/boards/", {"title": "Bob's"}).location
    bob_columns = bob.get(bob_board).get_data(as_text=True)
    foreign_column = re.search(r'data-column="(\d+)"', bob_columns).group(1)
    response = ada.hx("PATCH", f"{ada.board.card_url('One')}/move", {"column_id": foreign_column, "position": 0})
    assert response.status_code == 404
    assert card_titles(app, ada.board.id, "To do") == ["One", "Two", "Three"]


def test_move_card_with_missing_fields_is_422(app, ada):
    response = ada.hx("PATCH", f"{ada.board.card_url('One')}/move", {"position": "x"})
    assert response.status_code == 422
    assert "Choose a column." in response.get_data(as_text=True)


def test_delete_card(app, ada):
    response = ada.hx("DELETE", ada.board.card_url("Two"))
    assert f'<li id="card-{ada.board.cards["Two"]}" hx-swap-oob="delete">' in response.get_data(as_text=True)
    assert card_titles(app, ada.board.id, "To do") == ["One", "Three"]
    assert ada.get(ada.board.card_url("Two")).status_code == 404


def test_delete_card_without_javascript(app, ada):
    response = ada.form("DELETE", ada.board.card_url("One"))
    assert response.status_code == 303 and response.location == ada.board.url
    assert card_titles(app, ada.board.id, "To do") == ["Two", "Three"]


def test_titles_are_escaped(app, ada):
    payload = '<script>alert(1)</script><img src=x onerror=alert(2)>'
    ada.hx("POST", f"{ada.board.column_url('Doing')}/cards", {"title": payload})
    ada.hx("PATCH", ada.board.url, {"title": payload})
    page = ada.get(ada.board.url).get_data(as_text=True)
    assert "<script>alert" not in page and "<img src=x" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
