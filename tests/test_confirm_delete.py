"""Without JavaScript a delete button opens a page that asks first; only its own button deletes."""
import re

from tests.conftest import card_titles, column_titles


def confirmation(response):
    html = response.get_data(as_text=True)
    assert response.status_code == 200, html[:300]
    return html


def test_deleting_a_card_asks_first(app, ada):
    html = confirmation(ada.get(ada.board.card_url("Two") + "/delete"))
    assert "Delete the card “Two”?" in html
    assert card_titles(app, ada.board.id, "To do") == ["One", "Two", "Three"]  # asking deletes nothing
    form = re.search(r'<form method="post" action="([^"]+_method=DELETE)">', html).group(1)
    assert form == ada.board.card_url("Two") + "?_method=DELETE"
    assert f'href="{ada.board.card_url("Two")}">Cancel' in html
    response = ada.client.post(form, data={"csrf_token": ada.token})
    assert response.status_code == 303
    assert card_titles(app, ada.board.id, "To do") == ["One", "Three"]


def test_the_card_page_sends_a_plain_browser_to_ask(ada):
    html = ada.get(ada.board.card_url("One")).get_data(as_text=True)
    assert f'<form method="get" action="{ada.board.card_url("One")}/delete" hx-delete="{ada.board.card_url("One")}"' in html


def test_cancel_goes_back_where_the_question_came_from(ada):
    archive = f"{ada.board.url}/archive"
    html = confirmation(ada.get(ada.board.card_url("One") + f"/delete?next={archive}"))
    assert f'href="{archive}">Cancel' in html
    html = confirmation(ada.get(ada.board.card_url("One") + "/delete?next=https://evil.example/"))
    assert "evil.example" not in html


def test_deleting_a_column_or_the_board_asks_first(app, ada):
    html = confirmation(ada.get(ada.board.column_url("Done") + "/delete"))
    assert "Delete the column “Done” and its cards?" in html
    html = confirmation(ada.get(ada.board.url + "/delete"))
    assert "Delete the board “Roadmap” with all its columns and cards?" in html
    assert "Done" in column_titles(app, ada.board.id)
    assert ada.get(ada.board.url).status_code == 200


def test_only_who_may_delete_is_asked(ada, bob):
    for url in (ada.board.card_url("One") + "/delete", ada.board.column_url("Done") + "/delete",
                ada.board.url + "/delete"):
        assert bob.get(url).status_code == 404  # a stranger learns nothing of the board
