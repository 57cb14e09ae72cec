"""Markdown for descriptions and comments, rendered safely: the `markdown` template filter.

Two locks on the door: markdown-it never passes raw HTML through (html=False, so `<script>`
arrives as text), and nh3 then keeps only the tags and attributes below, so whatever the
renderer produces, no script, event handler, style or `javascript:` link reaches the page.
"""
import nh3
from markdown_it import MarkdownIt
from markupsafe import Markup

# "breaks": a line break in the text is a line break on the page, as people expect in a comment box.
_renderer = MarkdownIt("commonmark", {"html": False, "breaks": True}).enable(["table", "strikethrough"])

ALLOWED_TAGS = {
    "p", "br", "hr", "strong", "em", "s", "del", "code", "pre", "blockquote",
    "ul", "ol", "li", "h1", "h2", "h3", "h4", "h5", "h6", "a", "img",
    "table", "thead", "tbody", "tr", "th", "td",
}
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "img": {"src", "alt", "title"}, "ol": {"start"}}
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
