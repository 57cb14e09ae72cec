"""Markdown in descriptions and comments: formatted, and never a way to run code in someone's page."""
import re

import pytest

from tests.test_assignees import join
from webapp.markdown import render


def test_formats_the_usual_markdown():
    html = str(render("# Plan\n\n**bold** _it_ ~~old~~ `code`\n\n- one\n- two\n\n1. first\n\n> quoted"))
    for fragment in ("<h1>Plan</h1>", "<strong>bold</strong>", "<em>it</em>", "<s>old</s>", "<code>code</code>",
                     "<ul>\n<li>one</li>", "<ol>\n<li>first</li>", "<blockquote>"):
        assert fragment in html


def test_tables_and_line_breaks():
    html = str(render("| a | b |\n|---|---|\n| 1 | 2 |\n\nline one\nline two"))
    assert "<table>" in html and "<td>1</td>" in html
    assert "line one<br>\nline two" in html


def test_links_are_kept_with_a_safe_rel():
    html = str(render("[docs](https://example.com/docs) and [mail](mailto:ada@example.com)"))
    assert '<a href="https://example.com/docs" rel="noopener noreferrer nofollow">docs</a>' in html
    assert '<a href="mailto:ada@example.com" rel="noopener noreferrer nofollow">mail</a>' in html


@pytest.mark.parametrize("source, forbidden", [
    ("<script>alert(1)</script>", "<script"),
    ("<img src=x onerror=alert(1)>", "<img src=x"),
    ('<a href="javascript:alert(1)">x</a>', "<a href"),
    ("[click](javascript:alert(1))", "href"),
    ("[file](ftp://example.com/file)", "href"),
    ("[click](JaVaScRiPt:alert(1))", "href"),
    ("[click](vbscript:msgbox(1))", "href"),
    ("[click](data:text/html;base64,PHNjcmlwdD4=)", "href"),
    ("<javascript:alert(1)>", "href"),
    ("![x](javascript:alert(1))", "<img"),
    ('[x](https://example.com "a\\" onmouseover=\\"alert(1)")', "onmouseover=\""),
    ("<iframe src=https://evil.example></iframe>", "<iframe"),
    ("<style>body{display:none}</style>", "<style"),
    ("<div onclick=alert(1)>hi</div>", "<div"),
])
def test_html_and_dangerous_links_come_out_inert(source, forbidden):
    html = str(render(source))
    assert forbidden not in html, html
    # no real tag (text shows as &lt;...) runs a script, points at one or carries an event handler
    assert not re.search(r"<(script|[^>]*javascript:|[^>]*\son\w+=[\"'])", html, re.IGNORECASE), html


def test_raw_html_is_shown_as_text():
    assert str(render("<b>hi</b>")) == "<p>&lt;b&gt;hi&lt;/b&gt;</p>\n"


def test_relative_links_lose_their_address():
    """Only http(s) and mailto: nothing that resolves against Corkboard itself."""
    html = str(render("[logout](/logout) [up](../boards)"))
    assert "href" not in html and ">logout</a>" in html


def test_empty_text_renders_nothing():
    assert render("") == "" and render(None) == ""


def test_filter_is_registered(app):
    with app.app_context():
        template = app.jinja_env.from_string("{{ text|markdown }}")
        assert template.render(text="**x**") == "<p><strong>x</strong></p>\n"


# --- in the card detail ----------------------------------------------------------------------------

DESCRIPTION = "## Steps\n\n1. Open [the page](https://example.com)\n2. <script>alert(1)</script>\n\n[x](javascript:alert(2))"


def test_description_is_rendered_in_the_detail_with_the_source_behind_edit(app, ada):
    ada.hx("PUT", ada.board.card_url("One"), {"title": "One", "description": DESCRIPTION})
    html = ada.hx("GET", ada.board.card_url("One")).get_data(as_text=True)
    rendered = html[html.index('<div class="description markdown">'):html.index("</div>", html.index("description markdown"))]
    assert "<h2>Steps</h2>" in rendered
    assert '<a href="https://example.com" rel="noopener noreferrer nofollow">the page</a>' in rendered
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in rendered and "<script>" not in rendered
    assert "javascript:" not in rendered.replace("[x](javascript:alert(2))", "")
    assert '<details class="card-edit">' in html  # closed: there is something to read
    assert "Edit card</summary>" in html
    textarea = html[html.index('<textarea id="description"'):html.index("</textarea>")]
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in textarea  # the source, escaped, to edit
    assert "<script>" not in html


def test_edit_form_is_open_when_there_is_no_description(ada):
    html = ada.hx("GET", ada.board.card_url("Two")).get_data(as_text=True)
    assert '<details class="card-edit" open>' in html and 'class="description markdown"' not in html


def test_viewer_reads_the_rendered_description_only(app, ada):
    ada.hx("PUT", ada.board.card_url("One"), {"title": "One", "description": "**Important**"})
    vera = join(app, ada.board.id, "Vera", "viewer")
    html = vera.get(ada.board.card_url("One")).get_data(as_text=True)
    assert "<strong>Important</strong>" in html
    assert "<textarea" not in html.split('id="comments"')[0] and "Edit card" not in html


def test_card_search_still_finds_the_markdown_source(ada):
    ada.hx("PUT", ada.board.card_url("One"), {"title": "One", "description": "see **the roadmap**"})
    page = ada.get(f"{ada.board.url}?q=the roadmap").get_data(as_text=True)
    assert f'id="card-{ada.board.cards["One"]}"' in page


# --- images: never fetched from elsewhere ------------------------------------------------------------

def test_a_remote_image_is_a_link_not_a_request():
    """A tracking pixel in a description would report every viewer to its site: it is a link to click."""
    html = str(render('See ![the chart](https://tracker.example/pixel.gif?who=ada "Q3")'))
    assert "<img" not in html
    assert ('<a href="https://tracker.example/pixel.gif?who=ada" title="Q3" rel="noopener noreferrer nofollow">'
            "\U0001F5BC the chart</a>") in html


@pytest.mark.parametrize("source", [
    "![](https://tracker.example/p.gif)",
    "![x](//tracker.example/p.gif)",
    "![x](HTTP://TRACKER.EXAMPLE/p.gif)",
    "![x][ref]\n\n[ref]: https://tracker.example/p.gif",
    "![x](data:image/gif;base64,R0lGODlhAQABAAAAACw=)",
    "![x](/boards/1/attachments/2)",
    '<img src="https://tracker.example/p.gif">',
])
def test_no_image_syntax_makes_an_img(source):
    assert "<img" not in str(render(source))


def test_an_image_inside_a_link_joins_the_link():
    html = str(render("[![build](https://ci.example/badge.svg)](https://ci.example/runs)"))
    assert html == ('<p><a href="https://ci.example/runs" rel="noopener noreferrer nofollow">'
                    "\U0001F5BC build</a></p>\n")


def test_an_image_without_alt_text_shows_its_address():
    html = str(render("![](https://example.com/a.png)"))
    assert ">\U0001F5BC https://example.com/a.png</a>" in html


def test_image_alt_text_cannot_carry_markup():
    html = str(render('![<b onmouseover="x">&](https://example.com/a.png)'))
    assert "<b" not in html and "&lt;b" in html


def test_a_viewer_of_the_card_is_not_sent_to_the_tracker(ada):
    ada.hx("PUT", ada.board.card_url("One"), {"title": "One", "description": "![](https://tracker.example/p.gif)"})
    html = ada.hx("GET", ada.board.card_url("One")).get_data(as_text=True)
    rendered = html[html.index('<div class="description markdown">'):]
    rendered = rendered[:rendered.index("</div>")]
    assert "<img" not in rendered and 'href="https://tracker.example/p.gif"' in rendered
