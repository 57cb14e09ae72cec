"""Start and due dates: saved with the card's text, shown on its face as overdue or due soon."""
import re
from datetime import date, timedelta

import pytest

from tests.test_assignees import activities, face, join, load_card


def save(ada, title="One", method="hx", **fields):
    data = {"title": title, "description": "", **fields}
    send = ada.hx if method == "hx" else ada.form
    return send("PUT", ada.board.card_url(title), data)


def days(count: int) -> str:
    return (date.today() + timedelta(days=count)).isoformat()


def test_detail_has_date_inputs(ada):
    html = ada.hx("GET", ada.board.card_url("One")).get_data(as_text=True)
    assert '<input id="start_date" name="start_date" type="date" value="">' in html
    assert '<input id="due_date" name="due_date" type="date" value="">' in html


def test_set_start_and_due_dates_with_htmx(app, ada):
    response = save(ada, start_date="2030-03-01", due_date="2030-03-31")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'value="2030-03-01"' in html and 'value="2030-03-31"' in html
    assert '<time datetime="2030-03-01">1 Mar 2030</time>' in html  # shown beside labels and people
    assert re.search(r'<time class="due " datetime="2030-03-31" title="Due">31 Mar</time>', face(html, ada.board.cards["One"]))
    assert load_card(app, ada.board.cards["One"], "start_date", "due_date") == (date(2030, 3, 1), date(2030, 3, 31))
    assert ("card.dates_changed", {"card": "One"}) in activities(app, ada.board.id)
    assert ("card.edited", {"card": "One"}) not in activities(app, ada.board.id)  # only the dates changed


def test_set_dates_without_javascript(app, ada):
    response = save(ada, method="form", start_date="", due_date="2030-01-15")
    assert response.status_code == 303 and response.location == ada.board.card_url("One")
    assert load_card(app, ada.board.cards["One"], "start_date", "due_date") == (None, date(2030, 1, 15))


def test_clear_the_dates(app, ada):
    save(ada, start_date="2030-03-01", due_date="2030-03-31")
    save(ada, start_date="", due_date="")
    assert load_card(app, ada.board.cards["One"], "start_date", "due_date") == (None, None)


def test_a_form_without_date_inputs_keeps_the_dates(app, ada):
    save(ada, due_date="2030-03-31")
    assert ada.hx("PUT", ada.board.card_url("One"), {"title": "Uno"}).status_code == 200
    assert load_card(app, ada.board.cards["One"], "title", "due_date") == ("Uno", date(2030, 3, 31))


def test_changing_dates_makes_an_older_edit_stale(app, ada):
    save(ada, due_date="2030-03-31", version="1")
    response = save(ada, due_date="2031-01-01", version="1")
    assert response.status_code == 409
    assert load_card(app, ada.board.cards["One"], "due_date") == date(2030, 3, 31)


@pytest.mark.parametrize("fields, error", [
    ({"due_date": "2030-02-30"}, "Enter a date like 2025-03-31."),
    ({"start_date": "tomorrow"}, "Enter a date like 2025-03-31."),
    ({"due_date": "31/03/2030"}, "Enter a date like 2025-03-31."),
    ({"start_date": "2030-04-01", "due_date": "2030-03-31"}, "The due date can&#39;t be before the start date."),
])
def test_invalid_dates_are_422_and_nothing_is_saved(app, ada, fields, error):
    response = save(ada, **fields)
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and error in html
    assert 'aria-invalid="true"' in html and "<details class=\"card-edit\" open>" in html
    plain = save(ada, method="form", **fields)
    assert plain.status_code == 422 and "<html" in plain.get_data(as_text=True)
    assert load_card(app, ada.board.cards["One"], "start_date", "due_date", "version") == (None, None, 1)
    assert not [verb for verb, _ in activities(app, ada.board.id) if verb.startswith("card.")]


def test_same_day_start_and_due_is_fine(app, ada):
    assert save(ada, start_date="2030-03-01", due_date="2030-03-01").status_code == 200


@pytest.mark.parametrize("due, shown", [
    (-1, " · overdue"), (0, " · due soon"), (2, " · due soon"), (3, None),
])
def test_card_face_says_overdue_or_due_soon(ada, due, shown):
    save(ada, due_date=days(due))
    page = ada.get(ada.board.url).get_data(as_text=True)
    card_face = page[page.index(f'<li id="card-{ada.board.cards["One"]}"'):]
    card_face = card_face[:card_face.index("</li>")]
    if shown:
        assert shown in card_face
        assert f'class="due {"overdue" if due < 0 else "due-soon"}"' in card_face
    else:
        assert "overdue" not in card_face and "due soon" not in card_face
        assert f'datetime="{days(due)}"' in card_face


def test_viewer_cannot_change_dates(app, ada):
    vera = join(app, ada.board.id, "Vera", "viewer")
    response = vera.hx("PUT", ada.board.card_url("One"), {"title": "One", "due_date": "2030-01-01"})
    assert response.status_code == 403
    save(ada, start_date="2030-01-01")
    html = vera.get(ada.board.card_url("One")).get_data(as_text=True)
    assert "1 Jan 2030" in html and 'name="start_date"' not in html
    assert load_card(app, ada.board.cards["One"], "due_date") is None


def test_stranger_gets_404(app, ada, bob):
    assert bob.hx("PUT", ada.board.card_url("One"), {"title": "One", "due_date": "2030-01-01"}).status_code == 404
    assert load_card(app, ada.board.cards["One"], "due_date") is None
