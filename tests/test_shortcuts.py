"""The keyboard shortcuts list: a page of its own without JavaScript, a fragment for the dialog."""
import re

SHORTCUTS = ["n", "m", "/", "↑", "↓", "←", "→", "Enter", "Esc", "?"]


def keys(html):
    return re.findall(r"<kbd>([^<]+)</kbd>", html)


def test_the_shortcuts_page_lists_every_shortcut(ada):
    response = ada.get("/shortcuts")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "<html" in html and "<title>Keyboard shortcuts · Corkboard</title>" in html
    assert re.search(r'<h1 id="shortcuts-title">Keyboard shortcuts</h1>', html)
    assert set(SHORTCUTS) <= set(keys(html))
    assert "Add a card" in html and "Search the board" in html and "Show these shortcuts" in html
    assert "HX-Request" in response.headers["Vary"]


def test_htmx_gets_the_list_as_a_dialog_panel(ada):
    response = ada.hx("GET", "/shortcuts")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "<html" not in html
    assert html.lstrip().startswith('<article class="dialog-panel shortcuts" aria-labelledby="shortcuts-title">')
    assert '<h2 id="shortcuts-title">Keyboard shortcuts</h2>' in html
    assert 'aria-label="Close"' in html and '<form method="dialog"' in html
    assert set(SHORTCUTS) <= set(keys(html))


def test_the_shortcuts_need_a_login(app):
    response = app.test_client().get("/shortcuts")
    assert response.status_code == 302 and response.location.startswith("/login?next=")


def test_the_account_menu_offers_the_shortcuts(ada):
    html = ada.get("/boards/").get_data(as_text=True)
    assert "data-shortcuts" in html and "Keyboard shortcuts" in html
