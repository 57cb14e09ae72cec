"""Comments: add, edit and delete your own, rendered as Markdown; @mentions email board members."""
import re

import pytest
from sqlalchemy import select

from tests.conftest import UserClient, make_user
from tests.test_assignees import activities, face, join, load_card
from webapp.comments import mentioned_handles
from webapp.extensions import db
from webapp.models import Comment


def comments_url(ada, card="One"):
    return f"{ada.board.card_url(card)}/comments"


def comment_ids(app, card_id):
    with app.app_context():
        return db.session.scalars(select(Comment.id).where(Comment.card_id == card_id).order_by(Comment.id)).all()


def comment_badge(face_html: str) -> str | None:
    """The number on a card face's comments badge (a speech bubble icon, then the count)."""
    match = re.search(r'<span class="comments" title="Comments">(\d+)</span>', face_html)
    return match and match.group(1)


def comment(client, ada, body, card="One"):
    response = client.hx("POST", comments_url(ada, card), {"body": body})
    assert response.status_code == 200, response.get_data(as_text=True)
    return comment_ids(ada.app, ada.board.cards[card])[-1]


@pytest.fixture
def bob(app, ada):
    """Bob Stone, an editor of Ada's board (bob@example.com), logged in."""
    return join(app, ada.board.id, "Bob Stone", "editor", "bob@example.com")


# --- adding ----------------------------------------------------------------------------------------

def test_add_comment_with_htmx(app, ada):
    card_id = ada.board.cards["One"]
    response = ada.hx("POST", comments_url(ada), {"body": "Looks **good** to me"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and html.lstrip().startswith('<section id="comments"')
    assert '<strong class="comment-author">Ada</strong>' in html and "just now</time>" in html
    assert "<p>Looks <strong>good</strong> to me</p>" in html
    assert '<textarea id="comment-new"' in html and "Looks **good**" not in html  # a fresh, empty box
    assert comment_badge(face(html, card_id)) == "1"
    assert load_card(app, card_id, "comments") == ["Looks **good** to me"]
    assert ("comment.added", {"card": "One"}) in activities(app, ada.board.id)


def test_add_comment_without_javascript(app, ada):
    response = ada.form("POST", comments_url(ada), {"body": "Plain and simple"})
    assert response.status_code == 303 and response.location == ada.board.card_url("One")
    assert load_card(app, ada.board.cards["One"], "comments") == ["Plain and simple"]


@pytest.mark.parametrize("body, error", [("  \n ", "Write something first."),
                                         ("x" * 10_001, "Keep it under 10000 characters.")])
def test_invalid_comment_is_422(app, ada, body, error):
    response = ada.hx("POST", comments_url(ada), {"body": body})
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and error in html and 'id="comments"' in html
    plain = ada.form("POST", comments_url(ada), {"body": body})
    assert plain.status_code == 422 and "<html" in plain.get_data(as_text=True)
    assert load_card(app, ada.board.cards["One"], "comments") == []


def test_comments_show_oldest_first_with_their_authors(app, ada, bob):
    comment(ada, ada, "First")
    comment(bob, ada, "Second")
    comment(ada, ada, "Third")
    html = ada.get(ada.board.card_url("One")).get_data(as_text=True)
    assert html.index("<p>First</p>") < html.index("<p>Second</p>") < html.index("<p>Third</p>")
    second = html[html.index("<p>Second</p>") - 700:html.index("<p>Second</p>")]
    assert '<strong class="comment-author">Bob Stone</strong>' in second


# --- editing and deleting ------------------------------------------------------------------------

def test_edit_own_comment_with_htmx(app, ada):
    comment_id = comment(ada, ada, "Frist")
    url = f"{comments_url(ada)}/{comment_id}"
    form = ada.hx("GET", f"{url}/edit").get_data(as_text=True)
    assert form.lstrip().startswith(f'<form id="comment-{comment_id}"') and ">Frist</textarea>" in form
    response = ada.hx("PATCH", url, {"body": "First"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and html.lstrip().startswith(f'<article id="comment-{comment_id}"')
    assert "<p>First</p>" in html and "edited" in html
    assert load_card(app, ada.board.cards["One"], "comments") == ["First"]
    assert ("comment.edited", {"card": "One"}) in activities(app, ada.board.id)
    cancel = ada.hx("GET", url).get_data(as_text=True)
    assert cancel.lstrip().startswith(f'<article id="comment-{comment_id}"')


def test_edit_own_comment_without_javascript(app, ada):
    comment_id = comment(ada, ada, "Frist")
    url = f"{comments_url(ada)}/{comment_id}"
    page = ada.get(f"{url}/edit").get_data(as_text=True)
    assert "<html" in page and "Edit your comment" in page
    response = ada.form("PATCH", url, {"body": "First"})
    assert response.status_code == 303 and response.location == ada.board.card_url("One")
    assert load_card(app, ada.board.cards["One"], "comments") == ["First"]
    assert ada.get(url).status_code == 302  # a comment's own URL leads to its card


def test_edit_to_nothing_is_422(app, ada):
    comment_id = comment(ada, ada, "Keep me")
    response = ada.hx("PATCH", f"{comments_url(ada)}/{comment_id}", {"body": ""})
    assert response.status_code == 422 and "Write something first." in response.get_data(as_text=True)
    assert load_card(app, ada.board.cards["One"], "comments") == ["Keep me"]


def test_delete_own_comment(app, ada):
    card_id = ada.board.cards["One"]
    first = comment(ada, ada, "Going")
    comment(ada, ada, "Staying")
    response = ada.hx("DELETE", f"{comments_url(ada)}/{first}")
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "<p>Going</p>" not in html and "<p>Staying</p>" in html
    assert comment_badge(face(html, card_id)) == "1"
    assert ("comment.deleted", {"card": "One"}) in activities(app, ada.board.id)
    (last,) = comment_ids(app, card_id)
    assert ada.form("DELETE", f"{comments_url(ada)}/{last}").status_code == 303
    assert load_card(app, card_id, "comments") == []


def test_others_comments_cannot_be_changed_even_by_the_owner(app, ada, bob):
    bobs = comment(bob, ada, "Bob's words")
    url = f"{comments_url(ada)}/{bobs}"
    html = ada.get(ada.board.card_url("One")).get_data(as_text=True)
    assert f"{url}/edit" not in html and f'hx-delete="{url}"' not in html  # no controls on others' comments
    assert ada.get(f"{url}/edit").status_code == 403
    for method in ("PATCH", "DELETE"):
        response = ada.hx(method, url, {"body": "Ada's words"})
        assert response.status_code == 403 and "your own comments" in response.get_data(as_text=True)
        assert ada.form(method, url, {"body": "Ada's words"}).status_code == 403
    assert load_card(app, ada.board.cards["One"], "comments") == ["Bob's words"]
    assert bob.hx("PATCH", url, {"body": "Bob's better words"}).status_code == 200


def test_comment_of_another_card_is_404(app, ada):
    comment_id = comment(ada, ada, "On Two", card="Two")
    assert ada.hx("PATCH", f"{comments_url(ada, 'One')}/{comment_id}", {"body": "x"}).status_code == 404
    assert ada.hx("DELETE", f"{comments_url(ada, 'One')}/{comment_id}").status_code == 404


# --- roles ------------------------------------------------------------------------------------------

def test_viewer_reads_comments_but_cannot_write(app, ada):
    comment_id = comment(ada, ada, "For everyone")
    vera = join(app, ada.board.id, "Vera", "viewer")
    html = vera.get(ada.board.card_url("One")).get_data(as_text=True)
    assert "<p>For everyone</p>" in html and 'id="add-comment"' not in html
    assert vera.hx("POST", comments_url(ada), {"body": "Me too"}).status_code == 403
    assert vera.form("POST", comments_url(ada), {"body": "Me too"}).status_code == 403
    assert vera.hx("DELETE", f"{comments_url(ada)}/{comment_id}").status_code == 403
    assert load_card(app, ada.board.cards["One"], "comments") == ["For everyone"]


def test_a_demoted_author_cannot_change_their_comment(app, ada, bob):
    bobs = comment(bob, ada, "Before")
    with app.app_context():
        from webapp.models import BoardMember
        member = db.session.scalar(select(BoardMember).where(BoardMember.board_id == ada.board.id,
                                                             BoardMember.role == "editor"))
        member.role = "viewer"
        db.session.commit()
    assert bob.hx("PATCH", f"{comments_url(ada)}/{bobs}", {"body": "After"}).status_code == 403


def test_stranger_gets_404(app, ada):
    comment_id = comment(ada, ada, "Private")
    with app.app_context():
        make_user("Eve")
    eve = UserClient(app, "eve@example.com")
    assert eve.hx("POST", comments_url(ada), {"body": "Hi"}).status_code == 404
    assert eve.get(f"{comments_url(ada)}/{comment_id}/edit").status_code == 404
    assert eve.hx("DELETE", f"{comments_url(ada)}/{comment_id}").status_code == 404
    assert load_card(app, ada.board.cards["One"], "comments") == ["Private"]


# --- safety ------------------------------------------------------------------------------------------

def test_comment_html_and_script_links_are_inert(app, ada):
    comment(ada, ada, '<script>alert(1)</script> <img src=x onerror=alert(2)> [x](javascript:alert(3)) '
                      '<a href="javascript:alert(4)">y</a>')
    html = ada.get(ada.board.card_url("One")).get_data(as_text=True)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "<script>alert" not in html
    assert "&lt;img src=x onerror=alert(2)&gt;" in html and "<img src=x" not in html
    assert '&lt;a href="javascript:alert(4)"&gt;y&lt;/a&gt;' in html and '<a href="javascript' not in html
    assert "[x](javascript:alert(3))" in html  # a refused link stays as its text


# --- mentions -----------------------------------------------------------------------------------------

def test_mention_handles():
    assert mentioned_handles("@AdaLovelace and @bob.stone, thanks @Carol.") == {"adalovelace", "bob.stone", "carol"}
    assert mentioned_handles("mail ada@example.com or @@x") == set()


def test_mention_emails_the_member(app, ada, bob, smtp):
    text = "Could you look at this, @BobStone? (not @Mallory)"
    with app.app_context():
        make_user("Mallory")  # exists, but not on this board
    comment(ada, ada, text)
    assert len(smtp.to("bob@example.com")) == 1
    message = smtp.to("bob@example.com")[0]
    assert message["Subject"] == "Ada mentioned you on “One”"
    body = smtp.last_body("bob@example.com")
    assert "Hello Bob Stone" in body and "Ada mentioned you in a comment on “One”" in body
    assert text in body and f"http://localhost{ada.board.card_url('One')}" in body
    assert smtp.to("mallory@example.com") == []


def test_mention_by_email_name_ignores_case_and_emails_once(app, ada, bob, smtp):
    comment(ada, ada, "@BOB and again @bobstone.")
    assert len(smtp.messages) == 1 and len(smtp.to("bob@example.com")) == 1


def test_mentioning_yourself_or_strangers_sends_nothing(app, ada, bob, smtp):
    with app.app_context():
        make_user("Eve")
    comment(ada, ada, "Note to self @Ada @ada, and hello @Eve @eve @nobody")
    assert smtp.messages == []


def test_editing_emails_only_the_newly_mentioned(app, ada, bob, smtp):
    join(app, ada.board.id, "Carol", "viewer")
    comment_id = comment(ada, ada, "@bob please check")
    ada.hx("PATCH", f"{comments_url(ada)}/{comment_id}", {"body": "@bob please check, @carol FYI"})
    assert len(smtp.to("bob@example.com")) == 1 and len(smtp.to("carol@example.com")) == 1


def test_a_comment_is_kept_when_the_mention_email_cannot_be_sent(app, ada, bob):
    """No `smtp` fixture: nothing listens on the mail port."""
    response = ada.hx("POST", comments_url(ada), {"body": "@bob are you there?"})
    assert response.status_code == 200
    assert load_card(app, ada.board.cards["One"], "comments") == ["@bob are you there?"]


def test_editing_a_comment_tells_open_boards_the_card_changed(app, ada, monkeypatch):
    """The card's face goes out live, as for a new comment: a card dialog open elsewhere refreshes on it."""
    comment_id = comment(ada, ada, "Frist")
    published = []
    monkeypatch.setattr("webapp.live._publish", lambda board_id, name, data="", user_id=None: published.append(data))
    response = ada.hx("PATCH", f"{comments_url(ada)}/{comment_id}", {"body": "First"})
    card_id = ada.board.cards["One"]
    assert response.status_code == 200 and comment_badge(face(response.get_data(as_text=True), card_id)) == "1"
    assert len(published) == 1 and f'<li id="card-{card_id}" class="card"' in published[0]
    assert "csrf" not in published[0].lower()


# --- a card leaving the board -------------------------------------------------------------------------

@pytest.mark.parametrize("method, path, why", [("PATCH", "/archive", "archived"), ("DELETE", "", "deleted")])
def test_a_removed_card_always_has_a_face_to_remove(app, ada, method, path, why):
    """The removal is sent twice to its author (response and live update), and the card's own page has
    no face nor counts: hidden stand-ins with their ids come first, so every swap finds a target, and
    go last; the face's says why the card went."""
    card_id = ada.board.cards["Two"]
    html = ada.hx(method, ada.board.card_url("Two") + path).get_data(as_text=True)
    column_id = ada.board.columns["To do"]
    stand_ins = (f'<div hx-swap-oob="beforeend:body"><div class="oob-stand-ins" hidden><i id="card-{card_id}" '
                 f'data-card-gone="{why}"></i><i id="column-count-{column_id}"></i></div></div>')
    assert stand_ins in html
    order = [html.index(stand_ins), html.index(f'<li id="card-{card_id}" hx-swap-oob="delete">'),
             html.index(f'<span id="column-count-{column_id}"'), html.index('hx-swap-oob="delete:.oob-stand-ins"')]
    assert order == sorted(order)
