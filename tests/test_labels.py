"""Labels: the board's palette of names and colours, managed on their page and put on cards."""
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from tests.test_assignees import activities, face, join, load_card
from webapp.extensions import db
from webapp.models import Card, Label, card_labels

XSS = '<img src=x onerror=alert(1)><script>1</script>'  # within the 50 characters of a name


def labels_url(ada):
    return f"{ada.board.url}/labels"


def stored_labels(app, board_id):
    with app.app_context():
        return [(label.name, label.color) for label in db.session.scalars(
            select(Label).where(Label.board_id == board_id).order_by(Label.name))]


def label_id(app, board_id, name):
    with app.app_context():
        return db.session.scalar(select(Label.id).where(Label.board_id == board_id, Label.name == name))


def make_label(ada, name, color="green"):
    response = ada.hx("POST", labels_url(ada), {"name": name, "color": color})
    assert response.status_code == 200, response.get_data(as_text=True)
    return label_id(ada.app, ada.board.id, name)


# --- the labels page ---------------------------------------------------------------------------------

def test_labels_page_and_its_fragment(ada):
    page = ada.get(labels_url(ada))
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "<html" in html
    assert "<h1>Labels</h1>" in html and "No labels yet." in html and 'id="add-label"' in html
    fragment = ada.hx("GET", labels_url(ada)).get_data(as_text=True)
    assert fragment.lstrip().startswith('<section id="labels"')


def test_create_label_with_htmx(app, ada):
    response = ada.hx("POST", labels_url(ada), {"name": "  Bug ", "color": "red"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and html.lstrip().startswith('<section id="labels"')
    assert '<span class="label label-red">Bug</span>' in html
    assert 'id="add-label-name"' in html and 'value="" autofocus' in html  # a fresh form, ready for the next
    assert stored_labels(app, ada.board.id) == [("Bug", "red")]
    assert ("label.created", {"label": "Bug"}) in activities(app, ada.board.id)


def test_new_label_form_offers_an_unused_colour(ada):
    make_label(ada, "Bug", "green")
    html = ada.get(labels_url(ada)).get_data(as_text=True)
    form = html[html.index('id="add-label"'):]
    assert 'value="yellow" checked>' in form and form.count(" checked>") == 1


def test_create_label_without_javascript(app, ada):
    response = ada.form("POST", labels_url(ada), {"name": "Design", "color": "purple"})
    assert response.status_code == 303 and response.location == labels_url(ada)
    assert stored_labels(app, ada.board.id) == [("Design", "purple")]


@pytest.mark.parametrize("data, error", [
    ({"name": "x" * 51, "color": "red"}, "Keep it under 50 characters."),
    ({"name": "Bug", "color": "#f00; background: url(https://evil.example)"}, "Choose one of the colours offered."),
])
def test_invalid_label_is_refused(app, ada, data, error):
    response = ada.hx("POST", labels_url(ada), data)
    assert response.status_code == 422
    assert error in response.get_data(as_text=True)
    plain = ada.form("POST", labels_url(ada), data)
    assert plain.status_code == 422 and error in plain.get_data(as_text=True)
    assert stored_labels(app, ada.board.id) == []


def test_label_names_are_unique_on_a_board_whatever_the_case(app, ada):
    make_label(ada, "Bug")
    response = ada.hx("POST", labels_url(ada), {"name": "BUG", "color": "red"})
    assert response.status_code == 422
    assert "This board already has a label called “BUG”." in response.get_data(as_text=True)
    assert stored_labels(app, ada.board.id) == [("Bug", "green")]


def test_rename_and_recolour_a_label(app, ada):
    bug = make_label(ada, "Bug", "green")
    response = ada.hx("PATCH", f"{labels_url(ada)}/{bug}", {"name": "Defect", "color": "red"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and html.lstrip().startswith(f'<li id="label-{bug}"')
    assert '<span class="label label-red">Defect</span>' in html
    assert stored_labels(app, ada.board.id) == [("Defect", "red")]
    assert ("label.edited", {"label": "Defect"}) in activities(app, ada.board.id)
    plain = ada.form("PATCH", f"{labels_url(ada)}/{bug}", {"name": "Defect", "color": "blue"})
    assert plain.status_code == 303 and plain.location == labels_url(ada)
    assert stored_labels(app, ada.board.id) == [("Defect", "blue")]


def test_rename_to_another_labels_name_or_nothing_is_refused(app, ada):
    bug = make_label(ada, "Bug")
    make_label(ada, "Idea", "yellow")
    response = ada.hx("PATCH", f"{labels_url(ada)}/{bug}", {"name": "idea", "color": "green"})
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and "already has a label called “idea”" in html
    assert 'value="idea"' in html  # what was typed stays in the field
    assert ada.hx("PATCH", f"{labels_url(ada)}/{bug}", {"name": "Bug", "color": "green"}).status_code == 200
    assert stored_labels(app, ada.board.id) == [("Bug", "green"), ("Idea", "yellow")]


def test_delete_a_label_takes_it_off_every_card(app, ada):
    bug = make_label(ada, "Bug")
    ada.hx("PUT", f"{ada.board.card_url('One')}/labels", {"labels": [bug]})
    response = ada.hx("DELETE", f"{labels_url(ada)}/{bug}")
    assert response.status_code == 200 and response.get_data(as_text=True) == ""
    assert stored_labels(app, ada.board.id) == []
    assert load_card(app, ada.board.cards["One"], "labels") == []
    with app.app_context():
        assert db.session.execute(select(card_labels)).all() == []
    assert ("label.deleted", {"label": "Bug"}) in activities(app, ada.board.id)


def test_delete_a_label_without_javascript(app, ada):
    idea = make_label(ada, "Idea")
    response = ada.form("DELETE", f"{labels_url(ada)}/{idea}")
    assert response.status_code == 303 and response.location == labels_url(ada)
    assert stored_labels(app, ada.board.id) == []


def test_label_of_another_board_is_404(app, ada):
    other = ada.form("POST", "/boards/", {"title": "Other"}).location
    response = ada.hx("POST", f"{other}/labels", {"name": "Elsewhere", "color": "red"})
    assert response.status_code == 200
    foreign = label_id(app, int(other.rsplit("/", 1)[1]), "Elsewhere")
    assert ada.hx("PATCH", f"{labels_url(ada)}/{foreign}", {"name": "Mine", "color": "red"}).status_code == 404
    assert ada.hx("DELETE", f"{labels_url(ada)}/{foreign}").status_code == 404


# --- roles ------------------------------------------------------------------------------------------

def test_viewer_sees_labels_but_cannot_change_them(app, ada):
    bug = make_label(ada, "Bug")
    vera = join(app, ada.board.id, "Vera", "viewer")
    html = vera.get(labels_url(ada)).get_data(as_text=True)
    assert '<span class="label label-green">Bug</span>' in html
    assert 'id="add-label"' not in html and "Delete" not in html
    assert vera.hx("POST", labels_url(ada), {"name": "Mine", "color": "red"}).status_code == 403
    assert vera.hx("PATCH", f"{labels_url(ada)}/{bug}", {"name": "Mine", "color": "red"}).status_code == 403
    assert vera.form("DELETE", f"{labels_url(ada)}/{bug}").status_code == 403
    assert vera.hx("PUT", f"{ada.board.card_url('One')}/labels", {"labels": [bug]}).status_code == 403
    assert stored_labels(app, ada.board.id) == [("Bug", "green")]
    assert load_card(app, ada.board.cards["One"], "labels") == []


def test_editor_manages_labels(app, ada):
    carol = join(app, ada.board.id, "Carol", "editor")
    assert carol.hx("POST", labels_url(ada), {"name": "Carol's", "color": "pink"}).status_code == 200
    assert stored_labels(app, ada.board.id) == [("Carol's", "pink")]


def test_stranger_gets_404_everywhere(app, ada, bob):
    bug = make_label(ada, "Bug")
    assert bob.get(labels_url(ada)).status_code == 404
    assert bob.hx("POST", labels_url(ada), {"name": "Mine", "color": "red"}).status_code == 404
    assert bob.hx("PATCH", f"{labels_url(ada)}/{bug}", {"name": "Mine", "color": "red"}).status_code == 404
    assert bob.hx("DELETE", f"{labels_url(ada)}/{bug}").status_code == 404
    assert bob.hx("PUT", f"{ada.board.card_url('One')}/labels", {"labels": [bug]}).status_code == 404
    assert stored_labels(app, ada.board.id) == [("Bug", "green")]


# --- labels on a card -------------------------------------------------------------------------------

def test_card_detail_offers_the_boards_labels(ada):
    bug = make_label(ada, "Bug", "red")
    html = ada.hx("GET", ada.board.card_url("One")).get_data(as_text=True)
    assert f'name="labels" value="{bug}"><span class="label label-red">Bug</span>' in html
    assert f'href="{labels_url(ada)}"' in html


def test_put_labels_on_a_card_with_htmx(app, ada):
    bug, idea = make_label(ada, "Bug", "red"), make_label(ada, "Idea", "yellow")
    card_id = ada.board.cards["Two"]
    response = ada.hx("PUT", f"{ada.board.card_url('Two')}/labels", {"labels": [idea, bug]})
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and html.lstrip().startswith('<section id="card-fields"')
    assert f'value="{bug}" checked>' in html and f'value="{idea}" checked>' in html
    assert ('<span class="labels"><span class="label label-red">Bug</span>'
            '<span class="label label-yellow">Idea</span></span>') in face(html, card_id)
    assert load_card(app, card_id, "labels") == ["Bug", "Idea"]
    assert ("card.labeled", {"card": "Two", "label": "Bug"}) in activities(app, ada.board.id)
    board = ada.get(ada.board.url).get_data(as_text=True)
    assert '<span class="label label-yellow">Idea</span>' in board

    response = ada.hx("PUT", f"{ada.board.card_url('Two')}/labels", {"labels": [idea]})
    assert load_card(app, card_id, "labels") == ["Idea"]
    assert "label-red" not in face(response.get_data(as_text=True), card_id)
    assert ("card.unlabeled", {"card": "Two", "label": "Bug"}) in activities(app, ada.board.id)


def test_put_labels_on_a_card_without_javascript(app, ada):
    bug = make_label(ada, "Bug")
    url = ada.board.card_url("One")
    response = ada.form("PUT", f"{url}/labels", {"labels": bug})
    assert response.status_code == 303 and response.location == url
    assert load_card(app, ada.board.cards["One"], "labels") == ["Bug"]
    assert "Apply labels" in ada.get(url).get_data(as_text=True)


def test_labels_do_not_make_an_open_edit_stale(app, ada):
    """Labels sit beside the card's text: ticking one does not refuse the edit form already open."""
    bug = make_label(ada, "Bug")
    ada.hx("PUT", f"{ada.board.card_url('One')}/labels", {"labels": [bug]})
    response = ada.hx("PUT", ada.board.card_url("One"), {"title": "One", "description": "", "version": "1"})
    assert response.status_code == 200


@pytest.mark.parametrize("bad", ["unknown", "other board", "not a number"])
def test_unknown_label_is_422(app, ada, bad):
    bug = make_label(ada, "Bug")
    other = ada.form("POST", "/boards/", {"title": "Other"}).location
    ada.hx("POST", f"{other}/labels", {"name": "Elsewhere", "color": "red"})
    value = {"unknown": 999999, "other board": label_id(app, int(other.rsplit("/", 1)[1]), "Elsewhere"),
             "not a number": "red"}[bad]
    response = ada.hx("PUT", f"{ada.board.card_url('One')}/labels", {"labels": [bug, value]})
    assert response.status_code == 422
    assert "That label is not one of this board&#39;s labels." in response.get_data(as_text=True)
    assert load_card(app, ada.board.cards["One"], "labels") == []


def test_label_names_are_inert_everywhere(app, ada):
    evil = make_label(ada, XSS, "red")
    ada.hx("PUT", f"{ada.board.card_url('One')}/labels", {"labels": [evil]})
    escaped = "&lt;img src=x onerror=alert(1)&gt;&lt;script&gt;1&lt;/script&gt;"
    for url in (labels_url(ada), ada.board.card_url("One"), ada.board.url):
        html = ada.get(url).get_data(as_text=True)
        assert escaped in html, url
        assert "<script>1" not in html and "<img src=x" not in html, url


def test_a_card_carrying_label_person_dates_and_progress_keeps_a_small_face(app, ada):
    """A busy card's face stays small: 1,200 bytes of HTML (it was 600 before the icons became <svg><use>)."""
    bug = make_label(ada, "Bug", "red")
    card_url, card_id = ada.board.card_url("One"), ada.board.cards["One"]
    with app.app_context():
        ada_id = db.session.get(Card, card_id).board.owner_id
    ada.hx("PUT", f"{card_url}/labels", {"labels": [bug]})
    ada.hx("PUT", f"{card_url}/assignees", {"assignees": [ada_id]})
    due = (date.today() + timedelta(days=1)).isoformat()
    ada.hx("PUT", card_url, {"title": "Review pull request 1234", "description": "", "due_date": due})
    ada.hx("POST", f"{card_url}/checklist", {"text": "Read it"})
    ada.hx("POST", f"{card_url}/comments", {"body": "Looks good"})
    page = ada.get(ada.board.url).get_data(as_text=True)
    start = page.index(f'<li id="card-{card_id}"')
    html = page[start:page.index("</li>", start) + len("</li>")]
    assert "due soon" in html and 'title="Checklist">' in html and "0/1" in html and 'title="Comments">' in html
    assert 'title="Ada">A<' in html
    assert "label-red" in html
    assert len(html.encode()) <= 1200, html


def test_every_card_content_change_reaches_open_boards(app, ada):
    """Open boards get the card's fresh face (labels, people, progress, comments) or a refresh."""
    broker = app.extensions["live"]
    bug = make_label(ada, "Bug", "red")
    with app.app_context():
        ada_id = db.session.get(Card, ada.board.cards["One"]).board.owner_id
    card_url, card_id = ada.board.card_url("One"), ada.board.cards["One"]
    changes = [
        (f"{card_url}/labels", "PUT", {"labels": [bug]}, '<span class="label label-red">Bug</span>'),
        (f"{card_url}/assignees", "PUT", {"assignees": [ada_id]}, 'title="Ada">A</span>'),
        (f"{card_url}/checklist", "POST", {"text": "Check"}, 'title="Checklist">0/1</span>'),
        (f"{card_url}/comments", "POST", {"body": "Said"}, 'title="Comments">1</span>'),
    ]
    for url, method, data, expected in changes:
        before = len(broker._logs.get(ada.board.id, ()))
        assert ada.hx(method, url, data).status_code == 200
        (event,) = list(broker._logs[ada.board.id])[before:]
        assert event.name == "board" and f'<li id="card-{card_id}"' in event.data and expected in event.data
        assert "csrf" not in event.data  # one fragment for every viewer: nothing personal
    ada.hx("PATCH", f"{labels_url(ada)}/{bug}", {"name": "Defect", "color": "blue"})
    assert list(broker._logs[ada.board.id])[-1].name == "refresh"


# --- unnamed labels -------------------------------------------------------------------------------

def test_a_label_may_have_no_name(app, ada):
    response = ada.hx("POST", labels_url(ada), {"name": "  ", "color": "purple"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert '<span class="label label-purple unnamed" title="Purple label"><span class="visually-hidden">purple label</span></span>' in html
    assert 'Edit </span><span class="label label-purple unnamed"' in html and 'aria-label="Delete purple label"' in html
    ada.hx("POST", labels_url(ada), {"name": "", "color": "purple"})  # unnamed twice: no clash
    assert stored_labels(app, ada.board.id) == [("", "purple"), ("", "purple")]
    assert ("label.created", {"label": "purple label"}) in activities(app, ada.board.id)


def test_an_unnamed_label_keeps_an_accessible_name_on_the_card(app, ada):
    green = make_label(ada, "", "green")
    response = ada.hx("PUT", f"{ada.board.card_url('One')}/labels", {"labels": [green]})
    html = response.get_data(as_text=True)
    assert f'value="{green}" checked><span class="label label-green unnamed"' in html
    assert '<span class="visually-hidden">green label</span>' in html
    assert "green label" in face(html, ada.board.cards["One"])
    assert ("card.labeled", {"card": "One", "label": "green label"}) in activities(app, ada.board.id)


def test_rename_a_label_to_nothing_makes_it_unnamed(app, ada):
    bug = make_label(ada, "Bug", "red")
    assert ada.hx("PATCH", f"{labels_url(ada)}/{bug}", {"name": "", "color": "red"}).status_code == 200
    assert stored_labels(app, ada.board.id) == [("", "red")]


def test_labels_page_has_swatches_named_by_colour(ada):
    make_label(ada, "Bug", "red")
    html = ada.get(labels_url(ada)).get_data(as_text=True)
    form = html[html.index('id="add-label"'):]
    for color in ("Green", "Yellow", "Red", "Grey"):
        assert f'<span class="visually-hidden">{color}</span>' in form
    assert form.count('type="radio"') == 10 and 'name="color"' in form
    row = html[html.index('<li id="label-'):]
    assert 'value="red" checked>' in row and "Colour of Bug" in row


def test_empty_labels_page_for_a_viewer_says_so(app, ada):
    vera = join(app, ada.board.id, "Vera", "viewer")
    html = vera.get(labels_url(ada)).get_data(as_text=True)
    assert "No labels yet." in html and "Make one below" not in html


# --- new boards start with six colour labels -------------------------------------------------------

def test_a_new_board_starts_with_six_unnamed_colour_labels(app, ada):
    board_url = ada.form("POST", "/boards/", {"title": "Launch"}).location
    board_id = int(board_url.rsplit("/", 1)[1])
    assert stored_labels(app, board_id) == [("", color) for color in
                                            ("green", "yellow", "orange", "red", "purple", "blue")]
    html = ada.get(f"{board_url}/labels").get_data(as_text=True)
    positions = [html.index(f"{color} label</span>") for color in ("green", "yellow", "orange", "red", "purple", "blue")]
    assert positions == sorted(positions)  # in the order of the rainbow, as created
    assert stored_labels(app, ada.board.id) == []  # boards made before keep what they had


# --- create a label from the card -----------------------------------------------------------------

def new_label_url(ada, title="One"):
    return f"{ada.board.card_url(title)}/labels/new"


def test_card_detail_offers_to_create_a_label(ada):
    make_label(ada, "Bug", "green")
    html = ada.hx("GET", ada.board.card_url("One")).get_data(as_text=True)
    form = html[html.index("Create a label"):]
    assert f'hx-post="{new_label_url(ada)}"' in form and f'action="{new_label_url(ada)}"' in form
    assert '<label for="card-new-label-name">Name</label>' in form
    assert form.count('type="radio"') == 10 and 'value="yellow" checked>' in form  # an unused colour first


def test_create_a_label_from_the_card_puts_it_on_the_card(app, ada):
    broker = app.extensions["live"]
    card_id = ada.board.cards["One"]
    response = ada.hx("POST", new_label_url(ada), {"name": " Urgent ", "color": "orange"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and html.lstrip().startswith('<section id="card-fields"')
    urgent = label_id(app, ada.board.id, "Urgent")
    assert f'value="{urgent}" checked autofocus><span class="label label-orange">Urgent</span>' in html
    assert '<span class="label label-orange">Urgent</span>' in face(html, card_id)  # the face, out of band
    assert stored_labels(app, ada.board.id) == [("Urgent", "orange")]
    assert load_card(app, card_id, "labels") == ["Urgent"]
    log = activities(app, ada.board.id)
    assert ("label.created", {"label": "Urgent"}) in log and ("card.labeled", {"card": "One", "label": "Urgent"}) in log
    event = list(broker._logs[ada.board.id])[-1]
    assert f'<li id="card-{card_id}"' in event.data and "Urgent" in event.data and "csrf" not in event.data


def test_create_an_unnamed_label_from_the_card(app, ada):
    response = ada.hx("POST", new_label_url(ada), {"name": "", "color": "sky"})
    assert response.status_code == 200
    assert load_card(app, ada.board.cards["One"], "labels") == [""]
    assert "sky label" in face(response.get_data(as_text=True), ada.board.cards["One"])


def test_create_a_label_from_the_card_without_javascript(app, ada):
    url = ada.board.card_url("One")
    response = ada.form("POST", new_label_url(ada), {"name": "Docs", "color": "lime"})
    assert response.status_code == 303 and response.location == url
    assert load_card(app, ada.board.cards["One"], "labels") == ["Docs"]
    page = ada.get(url).get_data(as_text=True)
    assert "Create a label" in page and '<span class="label label-lime">Docs</span>' in page


@pytest.mark.parametrize("data, error", [
    ({"name": "x" * 51, "color": "red"}, "Keep it under 50 characters."),
    ({"name": "Bug", "color": "chartreuse"}, "Choose one of the colours offered."),
    ({"name": "bug", "color": "red"}, "This board already has a label called “bug”."),
])
def test_create_a_label_from_the_card_shows_errors_inline(app, ada, data, error):
    make_label(ada, "Bug", "green")
    response = ada.hx("POST", new_label_url(ada), data)
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and html.lstrip().startswith('<section id="card-fields"')
    assert error in html and '<details class="label-create" open>' in html
    plain = ada.form("POST", new_label_url(ada), data)
    assert plain.status_code == 422 and "<html" in plain.get_data(as_text=True) and error in plain.get_data(as_text=True)
    assert stored_labels(app, ada.board.id) == [("Bug", "green")]
    assert load_card(app, ada.board.cards["One"], "labels") == []


def test_create_a_label_from_the_card_keeps_what_was_typed(ada):
    html = ada.hx("POST", new_label_url(ada), {"name": "y" * 51, "color": "pink"}).get_data(as_text=True)
    assert f'value="{"y" * 51}"' in html and 'id="card-new-label-color-pink" name="color" value="pink" checked>' in html


def test_a_viewer_cannot_create_a_label_from_a_card(app, ada):
    vera = join(app, ada.board.id, "Vera", "viewer")
    assert "Create a label" not in vera.get(ada.board.card_url("One")).get_data(as_text=True)
    assert vera.hx("POST", new_label_url(ada), {"name": "Mine", "color": "red"}).status_code == 403
    assert vera.form("POST", new_label_url(ada), {"name": "Mine", "color": "red"}).status_code == 403
    assert stored_labels(app, ada.board.id) == []


def test_a_stranger_cannot_create_a_label_from_a_card(app, ada, bob):
    assert bob.hx("POST", new_label_url(ada), {"name": "Mine", "color": "red"}).status_code == 404
    assert stored_labels(app, ada.board.id) == []


def test_a_card_of_another_board_is_404(app, ada):
    other = ada.form("POST", "/boards/", {"title": "Other"}).location
    url = f"{other}/cards/{ada.board.cards['One']}/labels/new"
    assert ada.hx("POST", url, {"name": "Lost", "color": "red"}).status_code == 404
    assert label_id(app, int(other.rsplit("/", 1)[1]), "Lost") is None
