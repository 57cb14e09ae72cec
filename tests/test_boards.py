import re

from tests.conftest import column_titles


def test_board_list_shows_my_boards_only(ada, bob):
    assert "Roadmap" in ada.get("/boards/").get_data(as_text=True)
    assert "Roadmap" not in bob.get("/boards/").get_data(as_text=True)


def test_create_board_gets_default_columns(app, ada):
    response = ada.form("POST", "/boards/", {"title": "  Launch  "})
    assert response.status_code == 303
    board_url = response.location
    page = ada.get(board_url).get_data(as_text=True)
    assert "<title>Launch · Corkboard</title>" in page
    assert column_titles(app, int(board_url.rsplit("/", 1)[1])) == ["To do", "Doing", "Done"]


def test_create_board_with_empty_title_shows_error(ada):
    response = ada.form("POST", "/boards/", {"title": "   "})
    assert response.status_code == 422
    assert "Give it a title." in response.get_data(as_text=True)
    assert len(re.findall(r'href="/boards/\d+"', ada.get("/boards/").get_data(as_text=True))) == 1


def test_board_page_shows_columns_and_cards_in_order(ada):
    page = ada.get(ada.board.url).get_data(as_text=True)
    positions = [page.index(title) for title in ("To do", "One", "Two", "Three", "Doing", "Done")]
    assert positions == sorted(positions)
    assert 'hx-headers=\'{"X-CSRFToken": "' in page


def test_rename_board_with_htmx_returns_the_title(app, ada):
    response = ada.hx("PATCH", ada.board.url, {"title": "Q3 roadmap"})
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert html.lstrip().startswith('<h1 id="board-title"') and "Q3 roadmap" in html
    assert "<html" not in html
    assert "Q3 roadmap" in ada.get(ada.board.url).get_data(as_text=True)


def test_rename_board_without_javascript_redirects(ada):
    response = ada.form("PUT", ada.board.url, {"title": "Plain"})
    assert response.status_code == 303 and response.location == ada.board.url
    assert "Plain" in ada.get(ada.board.url).get_data(as_text=True)


def test_rename_form_is_a_partial_and_a_page(ada):
    fragment = ada.hx("GET", f"{ada.board.url}/edit").get_data(as_text=True)
    page = ada.get(f"{ada.board.url}/edit").get_data(as_text=True)
    assert fragment.lstrip().startswith('<form id="board-title"') and 'value="Roadmap"' in fragment
    assert "<html" in page and 'value="Roadmap"' in page
    title = ada.hx("GET", f"{ada.board.url}/title").get_data(as_text=True)
    assert "Roadmap" in title and "<form" not in title


def test_rename_board_too_long_is_refused(ada):
    response = ada.hx("PATCH", ada.board.url, {"title": "x" * 201})
    assert response.status_code == 422
    assert "Keep it under 200 characters." in response.get_data(as_text=True)
    assert "Roadmap" in ada.get(ada.board.url).get_data(as_text=True)


def test_delete_board(ada):
    response = ada.hx("DELETE", ada.board.url)
    assert response.headers["HX-Redirect"] == "/boards/"
    assert "Board “Roadmap” deleted." in ada.get("/boards/").get_data(as_text=True)
    assert ada.get(ada.board.url).status_code == 404


def test_delete_board_without_javascript(ada):
    response = ada.form("DELETE", ada.board.url)
    assert response.status_code == 303 and response.location == "/boards/"
    assert ada.get(ada.board.url).status_code == 404


def test_search_filters_cards_and_is_bookmarkable(app, ada):
    ada.hx("PUT", ada.board.card_url("Two"), {"title": "Two", "description": "mentions the Zebra"})
    page = ada.get(f"{ada.board.url}?q=zebra").get_data(as_text=True)
    assert ">Two</a>" in page and ">One</a>" not in page and 'value="zebra"' in page
    fragment = ada.hx("GET", f"{ada.board.url}?q=thr")
    html = fragment.get_data(as_text=True)
    assert html.lstrip().startswith('<div id="board-columns"') and ">Three</a>" in html and ">Two</a>" not in html
    assert "HX-Request" in fragment.headers["Vary"]


def test_search_treats_wildcards_literally(ada):
    page = ada.get(f"{ada.board.url}?q=%25").get_data(as_text=True)
    assert ">One</a>" not in page


def test_boosted_and_history_restore_requests_get_the_whole_page(ada):
    for header in ("HX-Boosted", "HX-History-Restore-Request"):
        html = ada.hx("GET", f"{ada.board.url}?q=one", headers={header: "true"}).get_data(as_text=True)
        assert "<html" in html


# --- board colours and the My boards tiles -----------------------------------------------------------

from sqlalchemy import select  # noqa: E402

from tests.test_assignees import activities, join  # noqa: E402
from webapp.extensions import db  # noqa: E402
from webapp.models import BOARD_COLORS, Board  # noqa: E402


def board_color(app, board_id):
    with app.app_context():
        return db.session.get(Board, board_id).color


def test_create_board_with_a_colour(app, ada):
    response = ada.form("POST", "/boards/", {"title": "Garden", "color": "green"})
    board_id = int(response.location.rsplit("/", 1)[1])
    assert board_color(app, board_id) == "green"
    page = ada.get("/boards/").get_data(as_text=True)
    tile = page[page.index('<li class="board-tile board-color-green">'):]
    assert tile.index("Garden") < tile.index("</li>")


def test_create_board_without_a_colour_is_blue(app, ada):
    response = ada.form("POST", "/boards/", {"title": "Plain"})
    assert board_color(app, int(response.location.rsplit("/", 1)[1])) == "blue"


def test_create_board_with_an_unknown_colour_is_refused(app, ada):
    response = ada.form("POST", "/boards/", {"title": "Garden", "color": "#ff0000"})
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and "Choose one of the colours offered." in html
    assert 'value="Garden"' in html  # what was typed stays
    with app.app_context():
        assert db.session.scalar(select(Board).where(Board.title == "Garden")) is None


def test_the_create_form_offers_every_board_colour_as_a_swatch(ada):
    page = ada.get("/boards/").get_data(as_text=True)
    form = page[page.index('id="add-board"'):page.index("</form>", page.index('id="add-board"'))]
    assert '<label for="add-board-title">New board</label>' in form and "Board colour" in form
    assert form.count('type="radio"') == len(BOARD_COLORS)
    assert 'value="blue" checked>' in form and '<span class="visually-hidden">Purple</span>' in form


def test_change_the_board_colour_where_it_is_renamed(app, ada):
    form = ada.hx("GET", f"{ada.board.url}/edit").get_data(as_text=True)
    assert 'id="board-color-blue" name="color" value="blue" checked>' in form
    response = ada.hx("PATCH", ada.board.url, {"title": "Roadmap", "color": "purple"})
    assert response.status_code == 200 and response.headers["HX-Refresh"] == "true"
    assert board_color(app, ada.board.id) == "purple"
    assert ("board.recolored", {"color": "purple"}) in activities(app, ada.board.id)
    assert ("board.renamed", {"title": "Roadmap"}) not in activities(app, ada.board.id)
    assert 'data-color="purple"' in ada.get(ada.board.url).get_data(as_text=True)
    assert "made the board purple" in ada.get(f"{ada.board.url}/activity").get_data(as_text=True)


def test_rename_without_a_colour_keeps_the_colour(app, ada):
    ada.hx("PATCH", ada.board.url, {"title": "Roadmap", "color": "red"})
    response = ada.hx("PATCH", ada.board.url, {"title": "Q4"})
    assert response.status_code == 200 and "HX-Refresh" not in response.headers
    assert board_color(app, ada.board.id) == "red"
    plain = ada.form("PATCH", ada.board.url, {"title": "Q4", "color": "lime"})
    assert plain.status_code == 303 and board_color(app, ada.board.id) == "lime"


def test_recolour_with_an_unknown_colour_is_refused(app, ada):
    response = ada.hx("PATCH", ada.board.url, {"title": "Roadmap", "color": "url(evil)"})
    assert response.status_code == 422 and "Choose one of the colours offered." in response.get_data(as_text=True)
    assert board_color(app, ada.board.id) == "blue"


def test_only_owners_change_the_colour(app, ada):
    carol = join(app, ada.board.id, "Carol", "editor")
    assert carol.hx("PATCH", ada.board.url, {"title": "Roadmap", "color": "red"}).status_code == 403
    assert board_color(app, ada.board.id) == "blue"


def test_my_boards_tiles_show_members_and_my_role(app, ada):
    join(app, ada.board.id, "Carol", "editor")
    page = ada.get("/boards/").get_data(as_text=True)
    assert "Your boards" in page and "Shared with you" not in page
    tile = page[page.index('<li class="board-tile board-color-blue">'):]
    tile = tile[:tile.index("</li>")]
    assert f'href="{ada.board.url}"' in tile and "Roadmap" in tile and "2 members" in tile and "owner" in tile


def test_boards_shared_with_me_are_listed_apart(app, ada):
    vera = join(app, ada.board.id, "Vera", "viewer")
    page = vera.get("/boards/").get_data(as_text=True)
    shared = page[page.index("Shared with you"):]
    assert "Roadmap" in shared and "2 members" in shared and "viewer" in shared
    assert "No boards yet." not in page  # she has a board to open


def test_a_new_user_sees_an_empty_state_and_the_create_tile(app, ada, bob):
    page = bob.get("/boards/").get_data(as_text=True)
    assert "No boards yet." in page and 'id="add-board"' in page and "Roadmap" not in page
