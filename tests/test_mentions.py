"""@mentions: the comment box's suggestions of members, and mentions highlighted in posted comments."""
import re

import pytest

from tests.conftest import UserClient, make_user
from tests.test_assignees import join
from webapp.comments import mention_handle
from webapp.markdown import render
from webapp.models import User


def suggest_url(ada, query, card="One", **args):
    params = "&".join(f"{key}={value}" for key, value in {"q": query, **args}.items())
    return f"{ada.board.card_url(card)}/comments/mentions?{params}"


def suggested(response) -> list[tuple[str, str]]:
    """(name, handle) of each suggested member, in order."""
    html = response.get_data(as_text=True)
    options = re.findall(r'role="option"[^>]*data-handle="([^"]*)">.*?class="mention-option-name">([^<]*)<', html, re.S)
    return [(name, handle) for handle, name in options]


@pytest.fixture
def team(app, ada):
    """Ada's board with Bob Stone (editor), Beatrice Young (viewer) and Carol (bob.c@…, editor)."""
    bob = join(app, ada.board.id, "Bob Stone", "editor", "bob@example.com")
    join(app, ada.board.id, "Beatrice Young", "viewer", "bea@example.com")
    join(app, ada.board.id, "Carol King", "editor", "bobcat@example.com")
    return bob


# --- the suggestions -------------------------------------------------------------------------------

def test_suggestions_match_the_start_of_a_name_or_an_email_address(app, ada, team):
    response = ada.hx("GET", suggest_url(ada, "bo"))
    assert response.status_code == 200 and "HX-Request" in response.headers["Vary"]
    # Names first, then whoever's email address starts so.
    assert suggested(response) == [("Bob Stone", "BobStone"), ("Carol King", "CarolKing")]
    assert [name for name, _ in suggested(ada.hx("GET", suggest_url(ada, "st")))] == ["Bob Stone"]  # a later word
    assert [name for name, _ in suggested(ada.hx("GET", suggest_url(ada, "BEA")))] == ["Beatrice Young"]
    assert suggested(ada.hx("GET", suggest_url(ada, "zed"))) == []


def test_an_empty_query_offers_every_member(app, ada, team):
    names = [name for name, _ in suggested(ada.hx("GET", suggest_url(ada, "")))]
    assert names == ["Ada", "Beatrice Young", "Bob Stone", "Carol King"]


def test_each_option_is_an_aria_option_with_an_id_under_its_list(app, ada, team):
    html = ada.hx("GET", suggest_url(ada, "bob", list="comment-body-7-mentions")).get_data(as_text=True)
    assert re.search(r'<li id="comment-body-7-mentions-\d+" class="mention-option" role="option" aria-selected="false"', html)
    odd = ada.hx("GET", suggest_url(ada, "bob", list='x" onclick="alert(1)')).get_data(as_text=True)
    assert "onclick" not in odd and 'id="mention-list-' in odd  # an id it cannot use: the default one


def test_suggestions_are_for_members_only(app, ada, team):
    with app.app_context():
        make_user("Eve", "eve@example.com")
    eve = UserClient(app, "eve@example.com")
    assert eve.hx("GET", suggest_url(ada, "bo")).status_code == 404
    assert eve.get(suggest_url(ada, "bo")).status_code == 404
    viewer = UserClient(app, "bea@example.com")  # any member may ask, a viewer too
    assert viewer.hx("GET", suggest_url(ada, "bo")).status_code == 200
    assert ada.client.get(f"{ada.board.url}/cards/999999/comments/mentions?q=b",
                          headers={"HX-Request": "true"}).status_code == 404


def test_suggestions_escape_what_members_are_called(app, ada):
    join(app, ada.board.id, '<img src=x onerror="alert(1)">Mallory', "editor", "mallory@example.com")
    html = ada.hx("GET", suggest_url(ada, "mal")).get_data(as_text=True)
    assert "<img" not in html and "&lt;img src=x" in html


def test_a_query_that_is_no_handle_suggests_nobody(app, ada, team):
    assert suggested(ada.hx("GET", suggest_url(ada, "b%20o"))) == []


def test_the_handle_written_is_one_the_comment_reads_back(app):
    assert mention_handle(User(name="Ada Lovelace", email="ada.l@example.com")) == "AdaLovelace"
    assert mention_handle(User(name="Miles O'Brien", email="miles.ob@example.com")) == "miles.ob"
    assert mention_handle(User(name="Zoë Ångström", email="z@example.com")) == "ZoëÅngström"


# --- highlighting ------------------------------------------------------------------------------------

HANDLES = frozenset({"ada", "adalovelace", "bobstone", "bob"})


@pytest.mark.parametrize("text, html", [
    ("Thanks @AdaLovelace!", '<p>Thanks <span class="mention">@AdaLovelace</span>!</p>'),
    ("@bob.", '<p><span class="mention">@bob</span>.</p>'),
    ("**@ada** and @carol", '<p><strong><span class="mention">@ada</span></strong> and @carol</p>'),
    ("mail ada@example.com", "<p>mail ada@example.com</p>"),  # an address, not a mention
    ("`@ada` is code", "<p><code>@ada</code> is code</p>"),
    ("```\n@ada\n```", "<pre><code>@ada\n</code></pre>"),
    ("[ask @ada](https://example.com)",
     '<p><a href="https://example.com" rel="noopener noreferrer nofollow">ask @ada</a></p>'),
    ("<https://example.com/@ada>",
     '<p><a href="https://example.com/@ada" rel="noopener noreferrer nofollow">https://example.com/@ada</a></p>'),
])
def test_mentions_of_members_are_highlighted_outside_code_and_links(text, html):
    assert render(text, HANDLES).strip() == html


def test_no_other_span_or_class_gets_through():
    assert render("@ada", None).strip() == "<p>@ada</p>"  # no members given: nothing highlighted
    assert "<span" not in render('<span class="mention">@x</span>', HANDLES)  # raw HTML stays text
    assert render("hi", HANDLES).strip() == "<p>hi</p>"


def test_a_posted_comment_highlights_members_only(app, ada, team):
    url = f"{ada.board.card_url('One')}/comments"
    response = ada.hx("POST", url, {"body": "@BobStone and @bob.c, not @nobody nor `@BobStone`"})
    html = response.get_data(as_text=True)
    # "@bob.c" is one handle as written (dots belong to handles), and nobody's.
    assert '<p><span class="mention">@BobStone</span> and @bob.c, not @nobody nor <code>@BobStone</code></p>' in html
    page = ada.get(ada.board.card_url("One")).get_data(as_text=True)
    assert '<span class="mention">@BobStone</span>' in page


def test_the_email_handle_highlights_too(app, ada, team):
    url = f"{ada.board.card_url('One')}/comments"
    html = ada.hx("POST", url, {"body": "cc @bobcat"}).get_data(as_text=True)
    assert '<span class="mention">@bobcat</span>' in html
