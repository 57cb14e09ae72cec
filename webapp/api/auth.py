"""Who is calling: a personal access token (`Authorization: Bearer cb_…`) or the logged-in browser.

A token's call carries no cookie a browser could send on its own, so it needs no CSRF token; a
read-only token may only read. A call made with the browser's login is open to cross-site forgery
like any form, so its changes must carry the page's CSRF token in `X-CSRFToken`. The blueprints
are exempt from Flask-WTF's app-wide check (it knows nothing of tokens) and check it here.
"""
from flask import g, request
from flask_login import current_user
from flask_wtf.csrf import ValidationError, validate_csrf
from werkzeug.exceptions import Forbidden, Unauthorized

from ..access import Actor
from ..tokens import TokenError, user_for_bearer

READS = {"GET", "HEAD", "OPTIONS"}
TOKEN_PROBLEMS = {
    "revoked": "This access token was revoked. Make a new one on your account's Access tokens page.",
    "expired": "This access token has expired. Make a new one on your account's Access tokens page.",
}


def unauthorized(detail: str, challenge: str = 'Bearer realm="Corkboard"') -> Unauthorized:
    error = Unauthorized(detail)
    error.challenge = challenge
    return error


def load_actor() -> None:
    """`before_request` of every API blueprint: the caller, in `g.api_actor`, or 401 / 403."""
    header = request.headers.get("Authorization")
    writing = request.method not in READS
    if header:
        try:
            user = user_for_bearer(header, need_write=writing)
        except TokenError as refused:
            if refused.reason == "read-only":
                raise Forbidden("This access token may only read. Use a token with read and write access.")
            raise unauthorized(TOKEN_PROBLEMS[refused.reason],
                               'Bearer realm="Corkboard", error="invalid_token"') from None
        if user is None:
            raise unauthorized("That is not a valid access token.",
                               'Bearer realm="Corkboard", error="invalid_token"')
        g.api_actor = user
        return
    if not current_user.is_authenticated:
        raise unauthorized("Send a personal access token as `Authorization: Bearer …`, or log in.")
    if writing:
        try:
            validate_csrf(request.headers.get("X-CSRFToken"))
        except ValidationError:
            raise Forbidden("A change made with your login needs the page's CSRF token in the "
                            "X-CSRFToken header (or use an access token).") from None
    g.api_actor = current_user._get_current_object()


def actor() -> Actor:
    """The caller: a token's user (`Actor`), or the logged-in browser's `current_user`."""
    return g.api_actor
