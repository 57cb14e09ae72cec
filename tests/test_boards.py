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
