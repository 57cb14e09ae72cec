"""Markdown for descriptions and comments, rendered safely: the `markdown` template filter.

Two locks on the door: markdown-it never passes raw HTML through (html=False, so `<script>`
arrives as text), and nh3 then keeps only the tags and attributes below, so whatever the
renderer produces, no script, event handler, style or `javascript:` link reaches the page.

Images are never loaded: `![alt](https://...)` becomes a link reading "🖼 alt". An image from
another site would be fetched by every viewer's browser, telling that site who read the card
and when (a tracking pixel); the Content-Security-Policy would block it anyway (img-src 'self').
"""
import nh3
from markdown_it import MarkdownIt
from markdown_it.common.utils import escapeHtml
from markupsafe import Markup

# "breaks": a line break in the text is a line break on the page, as people expect in a comment box.
_renderer = MarkdownIt("commonmark", {"html": False, "breaks": True}).enable(["table", "strikethrough"])


def _image_as_link(renderer, tokens, idx, options, env) -> str:
    token = tokens[idx]
    src = str(token.attrGet("src") or "")
    alt = renderer.renderInlineAsText(token.children or [], options, env) or src
    title = token.attrGet("title")
    title_attr = f' title="{escapeHtml(str(title))}"' if title else ""
    text = f"\U0001F5BC {escapeHtml(alt)}"
    inside_link = sum((t.type == "link_open") - (t.type == "link_close") for t in tokens[:idx]) > 0
    if inside_link:  # a badge linking somewhere: the text joins that link (no link in a link)
        return text
    # nh3 below keeps the href only if it is absolute http(s), and adds the rel.
    return f'<a href="{escapeHtml(src)}"{title_attr}>{text}</a>'


_renderer.add_render_rule("image", _image_as_link)

ALLOWED_TAGS = {
    "p", "br", "hr", "strong", "em", "s", "del", "code", "pre", "blockquote",
    "ul", "ol", "li", "h1", "h2", "h3", "h4", "h5", "h6", "a",
    "table", "thead", "tbody", "tr", "th", "td",
}
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "ol": {"start"}}
ALLOWED_URL_SCHEMES = {"http", "https", "mailto"}
LINK_REL = "noopener noreferrer nofollow"


def render(text: str | None) -> Markup:
    """Markdown source → sanitized HTML, safe to put in a page as is."""
    if not text:
        return Markup("")
    html = _renderer.render(text)
    return Markup(nh3.clean(
        html, tags=ALLOWED_TAGS, attributes=ALLOWED_ATTRIBUTES, url_schemes=ALLOWED_URL_SCHEMES,
        url_relative="deny",  # only absolute http(s)/mailto links: nothing that resolves on our origin
        link_rel=LINK_REL, clean_content_tags={"script", "style"},
    ))
