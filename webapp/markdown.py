"""Markdown for descriptions and comments, rendered safely: the `markdown` template filter.

Two locks on the door: markdown-it never passes raw HTML through (html=False, so `<script>`
arrives as text), and nh3 then keeps only the tags and attributes below, so whatever the
renderer produces, no script, event handler, style or `javascript:` link reaches the page.

Images are never loaded: `![alt](https://...)` becomes a link reading "🖼 alt". An image from
another site would be fetched by every viewer's browser, telling that site who read the card
and when (a tracking pixel); the Content-Security-Policy would block it anyway (img-src 'self').

Mentions: given the handles of the board's members (`render(text, mentions)`), an `@handle` of
one of them, in the text (not in code, not in a link), becomes `<span class="mention">@handle</span>`,
the only span (and the only class) nh3 lets through. An @ of anyone else stays plain text.
"""
import re

import nh3
from markdown_it.token import Token
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

# The same pattern the comments use to find whom to email (webapp/comments.py MENTION).
MENTION = re.compile(r"(?<![\w@])@(\w[\w.+-]*)")


def _mentions(state) -> None:
    """Core rule: split the text of each paragraph around the mentions of members."""
    handles = state.env.get("mentions") if isinstance(state.env, dict) else None
    if not handles:
        return
    for block in state.tokens:
        if block.type != "inline" or not block.children:
            continue
        children, in_link = [], 0
        for token in block.children:
            in_link += (token.type == "link_open") - (token.type == "link_close")
            if token.type != "text" or in_link or "@" not in token.content:
                children.append(token)
                continue
            children.extend(_split_mentions(state, token, handles))
        block.children = children


def _split_mentions(state, token, handles):
    text, start = token.content, 0
    for match in MENTION.finditer(text):
        handle = match.group(1).rstrip(".+-")
        if handle.lower() not in handles:
            continue
        end = match.start() + 1 + len(handle)
        if match.start() > start:
            yield _text(state, text[start:match.start()])
        mention = Token("mention", "span", 0)
        mention.content = "@" + handle
        yield mention
        start = end
    if start < len(text):
        yield _text(state, text[start:])


def _text(state, content):
    token = Token("text", "", 0)
    token.content = content
    return token


def _render_mention(renderer, tokens, idx, options, env) -> str:
    return f'<span class="mention">{escapeHtml(tokens[idx].content)}</span>'


_renderer.core.ruler.after("text_join", "mentions", _mentions)
_renderer.add_render_rule("mention", _render_mention)

ALLOWED_TAGS = {
    "p", "br", "hr", "strong", "em", "s", "del", "code", "pre", "blockquote",
    "ul", "ol", "li", "h1", "h2", "h3", "h4", "h5", "h6", "a",
    "table", "thead", "tbody", "tr", "th", "td", "span",
}
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "ol": {"start"}}
ALLOWED_CLASSES = {"span": {"mention"}}  # a span is a mention, nothing else
ALLOWED_URL_SCHEMES = {"http", "https", "mailto"}
LINK_REL = "noopener noreferrer nofollow"


def render(text: str | None, mentions: frozenset[str] | set[str] | None = None) -> Markup:
    """Markdown source → sanitized HTML, safe to put in a page as is. `mentions`: the lower-cased
    handles to highlight (webapp/comments.py `mention_handles`)."""
    if not text:
        return Markup("")
    html = _renderer.render(text, {"mentions": mentions} if mentions else {})
    return Markup(nh3.clean(
        html, tags=ALLOWED_TAGS, attributes=ALLOWED_ATTRIBUTES, url_schemes=ALLOWED_URL_SCHEMES,
        allowed_classes=ALLOWED_CLASSES,
        url_relative="deny",  # only absolute http(s)/mailto links: nothing that resolves on our origin
        link_rel=LINK_REL, clean_content_tags={"script", "style"},
    ))
