from tests.conftest import card_titles, column_titles


def test_add_column_with_htmx_returns_it_and_a_fresh_form(app, ada):
    response = ada.hx("POST", f"{ada.board.url}/columns/", {"title": "Review"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'class="column"' in html and "Review" in html
    assert 'id="add-column"' in html and 'hx-swap-oob="true"' in html
    assert column_titles(app, ada.board.id) == ["To do", "Doing", "Done", "Review"]


def test_add_column_without_javascript(app, ada):
    response = ada.form("POST", f"{ada.board.url}/columns/", {"title": "Blocked"})
    assert response.status_code == 303 and response.location == ada.board.url
    assert column_titles(app, ada.board.id)[-1] == "Blocked"


def test_add_column_empty_title_shows_error(app, ada):
    response = ada.hx("POST", f"{ada.board.url}/columns/", {"title": ""})
    assert response.status_code == 422
    assert "Give it a title." in response.get_data(as_text=True)
    page = ada.form("POST", f"{ada.board.url}/columns/", {"title": ""})
    assert page.status_code == 422 and "<html" in page.get_data(as_text=True)
    assert len(column_titles(app, ada.board.id)) == 3


def test_rename_column(app, ada):
    url = ada.board.column_url("Doing")
    form = ada.hx("GET", f"{url}/edit").get_data(as_text=True)
    assert 'value="Doing"' in form
    response = ada.hx("PATCH", url, {"title": "In progress"})
    assert "In progress" in response.get_data(as_text=True)
    assert column_titles(app, ada.board.id) == ["To do", "In progress", "Done"]


def test_column_title_partial_for_cancel(ada):
    html = ada.hx("GET", ada.board.column_url("Done")).get_data(as_text=True)
    assert html.lstrip().startswith('<h2 id="column-title-') and "Done" in html
    assert ada.get(ada.board.column_url("Done")).status_code == 302


def test_move_column_changes_only_its_key(app, ada):
    response = ada.hx("PATCH", f"{ada.board.column_url('Done')}/move", {"position": 0})
    assert response.status_code == 200
    assert column_titles(app, ada.board.id) == ["Done", "To do", "Doing"]
    ada.form("PATCH", f"{ada.board.column_url('Done')}/move", {"position": 5})
    assert column_titles(app, ada.board.id) == ["To do", "Doing", "Done"]


def test_move_column_with_bad_position_is_refused(app, ada):
    response = ada.hx("PATCH", f"{ada.board.column_url('Done')}/move", {"position": "-1"})
    assert response.status_code == 422
    assert "Positions start at 1." in response.get_data(as_text=True)


def test_delete_column_deletes_its_cards(app, ada):
    response = ada.hx("DELETE", ada.board.column_url("To do"))
    assert response.status_code == 200 and response.get_data() == b""
    assert column_titles(app, ada.board.id) == ["Doing", "Done"]
    assert ada.get(ada.board.card_url("One")).status_code == 404


def test_delete_column_without_javascript(app, ada):
    response = ada.form("DELETE", ada.board.column_url("Done"))
    assert response.status_code == 303
    assert column_titles(app, ada.board.id) == ["To do", "Doing"]
    assert card_titles(app, ada.board.id, "To do") == ["One", "Two", "Three"]
