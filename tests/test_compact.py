"""Pages are sent without their templates' indentation, and nothing they show changes."""
import re

from flask import render_template_string
from jinja2 import Environment

from webapp.compact import Dedent


def render(source: str, name: str = "page.html", **context) -> str:
    env = Environment(extensions=[Dedent], trim_blocks=True, lstrip_blocks=True)
    env.loader = None
    return env.from_string(Dedent(env).preprocess(source, name), globals=context).render()


def test_indentation_goes_and_attributes_stay_apart():
    html = render('<ul>\n    <li class="a"{% if x %}\n        data-x{% endif %}\n        title="t">one</li>\n</ul>\n', x=True)
    assert html == '<ul>\n<li class="a" data-x title="t">one</li>\n</ul>'
    html = render('<span class="count"\n      {% if over %}data-over{% endif %}\n      title="3 cards">3</span>', over=False)
    assert not re.search(r'"[\w-]+=', html)  # every attribute still starts after a space
    assert 'class="count"' in html and 'title="3 cards"' in html


def test_what_a_template_renders_is_left_as_it_is():
    text = "first line\n    indented code\n\tand a tab"
    html = render("<form>\n    <textarea name=body>{{ text }}</textarea>\n</form>", text=text)
    assert f"<textarea name=body>{text}</textarea>" in html


def test_plain_text_templates_keep_their_layout():
    source = "Hello,\n\n    Ada invited you.\n"
    assert render(source, name="email/invitation.txt").startswith("Hello,\n\n    Ada invited you.")


def test_the_board_page_has_no_indented_lines_and_no_joined_attributes(ada):
    html = ada.get(ada.board.url).get_data(as_text=True)
    assert not re.search(r"\n[ \t]{2,}<", html)  # at most the one space kept after a block tag
    assert not re.search(r'="[^"]*"[a-z-]+=', html)


def test_the_app_compiles_html_templates_dedented(app):
    with app.test_request_context():
        assert render_template_string("<p>\n    x</p>") == "<p>\n    x</p>"  # a string template has no name: kept
