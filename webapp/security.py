"""What every response tells the browser, which numbers may name a row, and text no field holds.

Headers: a Content-Security-Policy that lets the page run only our own scripts and styles
(no inline script or handler, no eval), load images only from us, and never be framed; no
MIME sniffing; no referrer sent to other sites; HSTS once the site is reached over HTTPS
(directly, or behind a proxy that ends TLS when PUBLIC_URL says https://).
A view that needs a stricter policy (an attachment served inline, a reset link's page) sets
its own header and keeps it.

Ids: database ids are INTEGER columns, 32-bit on PostgreSQL and MariaDB. A larger number in a
URL names no row (404), and a query or form field that cannot name a row is refused with 422,
before it reaches the database, which would overflow on it and answer 500. Likewise a NUL
character, which PostgreSQL cannot store in text.
"""
from flask import Flask, abort, current_app, request
from werkzeug.routing import BaseConverter

MAX_ID = 2**31 - 1  # ids are INTEGER columns: 32 bits on PostgreSQL and MariaDB (64 on SQLite)
NO_ROW = 0  # ids start at 1

CONTENT_SECURITY_POLICY = "; ".join([
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "connect-src 'self'",
    "font-src 'self'",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
])

HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",  # frame-ancestors for browsers that predate it
    "Referrer-Policy": "same-origin",
}
HSTS = "max-age=31536000; includeSubDomains"


class IdConverter(BaseConverter):
    """`<int:...>` in our URLs. A number no row can have (0, 2**31 and beyond, thousands of digits)
    becomes NO_ROW instead of a routing failure: the view's own lookup then answers 404 as for
    any unknown id, whatever the method. (Failing in the converter gives 405 when another rule
    on the path takes other methods, and a plain int reaches the database and overflows.)"""

    regex = r"[0-9]+"  # not \d, which also matches "٣"
    part_isolating = True

    def to_python(self, value: str) -> int:
        number = parse_id(value)
        return NO_ROW if number is None else number

    def to_url(self, value) -> str:
        return str(int(value))


def init_app(app: Flask) -> None:
    # Rules pick their converter when they are added: this must run before any blueprint.
    app.url_map.converters["int"] = IdConverter
    app.before_request(refuse_nul_characters)
    app.before_request(refuse_nameless_fields)
    app.after_request(add_security_headers)


def add_security_headers(response):
    for name, value in HEADERS.items():
        response.headers.setdefault(name, value)
    if request.is_secure or (current_app.config.get("PUBLIC_URL") or "").startswith("https://"):
        response.headers.setdefault("Strict-Transport-Security", HSTS)
    return response


def refuse_nul_characters():
    """No text field has a use for U+0000, and PostgreSQL refuses it in text columns (a 500 at
    the commit), SQLite keeps it and the filesystem chokes on it: refuse it on the way in, in
    the path, the query string or a urlencoded form. (Multipart bodies are uploads, read only
    by the views that take them, after they have checked who is asking.)"""
    fields = [*request.args.items(multi=True)]
    if request.mimetype == "application/x-www-form-urlencoded":
        fields += request.form.items(multi=True)
    if "\x00" in request.path or any("\x00" in name or "\x00" in value for name, value in fields):
        abort(422, "Text cannot contain the NUL character (U+0000).")


def refuse_nameless_fields():
    """A multipart part whose name cannot be read (a CR or LF in it breaks its header line)
    comes out of Werkzeug named None, which the CSRF check and the forms cannot handle. No
    browser sends one. The CSRF check reads the whole form next anyway, so parsing it here first
    costs nothing."""
    if request.mimetype == "multipart/form-data" and (None in request.form or None in request.files):
        abort(400, "A field of this form has no name.")


def parse_id(value) -> int | None:
    """A row id written in ASCII digits, within the database's range; anything else is None."""
    if not isinstance(value, str) or not value.isascii() or not value.isdigit() or len(value) > 20:
        return None
    number = int(value)
    return number if 1 <= number <= MAX_ID else None


def id_arg(name: str) -> int | None:
    """An optional id in the query string (`?before=120`): absent or empty is None, garbage a 422."""
    value = request.args.get(name, "")
    if not value:
        return None
    number = parse_id(value)
    if number is None:
        abort(422, f"“{name}” must be a whole number from 1 to {MAX_ID}.")
    return number


def filter_ids(name: str, values: list[str]) -> list[int]:
    """Ids picked in a filter (`?label=3&label=5`). A word is left out, so a link with a stale
    filter still shows the board; a number beyond any row's id is a 422, like any other id."""
    ids = []
    for value in values:
        if not (value.isascii() and value.isdigit()):  # "²" and "٣" are digits to str.isdigit
            continue
        number = parse_id(value)
        if number is None and value.strip("0"):
            abort(422, f"“{name}” must be a whole number from 1 to {MAX_ID}.")
        ids.append(number or 0)
    return ids
