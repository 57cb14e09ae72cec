"""Rendered board pages, kept per process and keyed by the board's latest activity.

Every change to a board records an activity in the same transaction, so the newest
activity id is the board's version: a new change means a new key, and an old page is
never served. Per-request values (the CSRF token, the live stream's token) are rendered
as placeholders and filled in for each response.

The cache is a bonus, not what makes a board fast: PAGE_CACHE=0 in the environment (or
`PAGE_CACHE: False` in the app's config) turns it off, and every board page is then rendered
for its request, as benchmarks of the uncached page (bench/board_page.py --no-cache) need.
"""
import os
import secrets
import threading
from collections import OrderedDict

from flask import current_app, g, session
from flask_wtf.csrf import generate_csrf
from sqlalchemy import bindparam, func, select

from .extensions import db
from .models import Activity

TOKEN_PLACEHOLDER = "csrf-" + secrets.token_hex(16)


class RenderedCache:
    """A small thread-safe LRU (of rendered HTML, mostly)."""

    def __init__(self, size: int = 256):
        self.size = size
        self._items: OrderedDict = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key):
        with self._lock:
            value = self._items.get(key)
            if value is not None:
                self._items.move_to_end(key)
            return value

    def put(self, key, value) -> None:
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)


def init_app(app) -> None:
    app.config.setdefault("PAGE_CACHE", os.environ.get("PAGE_CACHE", "1") != "0")
    app.extensions["rendered"] = RenderedCache(512)
    app.extensions["signed_csrf_tokens"] = RenderedCache(4096)


def page_cache_enabled() -> bool:
    return bool(current_app.config["PAGE_CACHE"])


BOARD_VERSION = select(func.max(Activity.id)).where(Activity.board_id == bindparam("board_id"))


def board_version(board_id: int) -> int:
    return db.session.scalar(BOARD_VERSION, {"board_id": board_id}) or 0


def cached_render(key: tuple, render):
    """What `render()` makes, made once per `key`, with TOKEN_PLACEHOLDER where the CSRF token
    goes (filled in per request with `session_csrf_token()`). A key names everything the HTML
    shows: for a board, its version, the viewer's role and the date (due-soon and overdue
    badges change with it)."""
    cache = current_app.extensions["rendered"]
    html = cache.get(key)
    if html is None:
        html = render_with_placeholder_token(render)
        cache.put(key, html)
    return html


class Blanks:
    """HTML with blanks for per-request values, split and encoded once: filling them in is
    then a join of bytes, not a search through the page and an encoding of all of it."""

    def __init__(self, html: str, *blanks: str):
        pieces = [html]
        for blank in blanks:  # str.split: a regex over a whole board page costs several times more
            pieces = [part for piece in pieces for part in _around(piece, blank, blanks)]
        self.parts = [piece if piece in blanks else piece.encode() for piece in pieces]

    def fill(self, values: dict[str, str]) -> bytes:
        return b"".join(part if isinstance(part, bytes) else values[part].encode() for part in self.parts)


def _around(piece: str, blank: str, blanks: tuple) -> list[str]:
    """`piece` split at each `blank`, the blanks kept between the parts (a blank is left whole)."""
    if piece in blanks:
        return [piece]
    parts = piece.split(blank)
    return [item for index, part in enumerate(parts) for item in ((blank, part) if index else (part,))]


def session_csrf_token() -> str:
    """The session's CSRF token, as `generate_csrf()` gives it. Flask-WTF signs the session's
    secret anew on every request; with no time limit (config: WTF_CSRF_TIME_LIMIT) every
    signature stays valid, so the first one serves the session's later pages too."""
    secret = session.get("csrf_token")
    if secret is None or current_app.config["WTF_CSRF_TIME_LIMIT"] is not None:
        return generate_csrf()
    signed_tokens = current_app.extensions["signed_csrf_tokens"]
    token = signed_tokens.get(secret)
    if token is None:
        token = generate_csrf()
        signed_tokens.put(secret, token)
    else:
        g.csrf_token = token  # what generate_csrf() returns for the rest of this request
    return token


def render_with_placeholder_token(render, token: str = TOKEN_PLACEHOLDER) -> str:
    """Render with `token` where the forms' CSRF tokens go (the placeholder, or "" for a
    fragment broadcast to everyone: their HTMX requests carry the token as a header)."""
    real = generate_csrf()
    g.csrf_token = token
    try:
        return render()
    finally:
        g.csrf_token = real
