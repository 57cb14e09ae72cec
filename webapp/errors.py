"""Every error chooses its format here: JSON for JSON clients, a fragment for HTMX, a page otherwise."""
import math
import time

from flask import current_app, g, has_request_context, jsonify, make_response, render_template, request
from flask_limiter import RateLimitExceeded
from flask_wtf.csrf import CSRFError
from sqlalchemy import event
from werkzeug.exceptions import HTTPException, InternalServerError

from .api import problems
from .extensions import db, limiter
from .hypermedia import wants_fragment

MESSAGES = {
    400: "The request could not be understood.",
    403: "You are not allowed to do that.",
    404: "There is nothing here.",
    405: "That action is not possible here.",
    413: "That upload is too large.",
    422: "Some of what you sent is not valid.",
    429: "Too many requests.",
    500: "Something went wrong on our side. Nothing was saved; please try again.",
}
# A failure after the change was committed (showing it, say): retrying would make it twice.
SAVED_BUT_FAILED = ("Your change was saved, but something went wrong on our side while showing it. "
                    "Reload the page to see it; there is no need to do it again.")


def init_app(app):
    app.register_error_handler(CSRFError, handle_csrf_error)
    app.register_error_handler(RateLimitExceeded, handle_rate_limited)
    app.register_error_handler(HTTPException, handle_http_error)
    app.register_error_handler(Exception, handle_unexpected_error)


@event.listens_for(db.session, "after_commit")
def _remember_the_commit(_session) -> None:
    if has_request_context():
        g.committed = True


def handle_csrf_error(error: CSRFError):
    if problems.is_api_request():
        return problems.answer(error, MESSAGES)
    return render_error(400, "Your session's security token is missing or expired. "
                             "Reload the page and try again.")


def handle_rate_limited(error: RateLimitExceeded):
    """A limit of webapp/limits.py was reached: say what and for how long, in words and in Retry-After."""
    wait = retry_after(error)
    if problems.is_api_request():
        error.retry_after = wait
        return problems.answer(error, MESSAGES)
    minutes = max(1, math.ceil(wait / 60))
    response = render_error(429, f"{error.description} Try again in {minutes} minute{'s' if minutes > 1 else ''}.")
    response.headers["Retry-After"] = str(wait)
    return response


def retry_after(error: RateLimitExceeded) -> int:
    """Seconds until the limit lets a request through again."""
    try:
        return max(1, math.ceil(limiter.current_limit.window[0] - time.time()))
    except Exception:  # the limit's storage just failed: its whole window is a safe answer
        return int(error.limit.limit.get_expiry())


def handle_http_error(error: HTTPException):
    if problems.is_api_request():  # under /api/: application/problem+json, whatever the error
        return problems.answer(error, MESSAGES)
    code = error.code or 500
    description = error.description
    if description == type(error).description:  # Werkzeug's generic text: say it plainly
        description = MESSAGES.get(code, error.name)
    response = render_error(code, description)
    if code == 405 and hasattr(error, "valid_methods") and error.valid_methods:
        response.headers["Allow"] = ", ".join(error.valid_methods)
    return response


def handle_unexpected_error(error: Exception):
    if problems.is_api_request():
        return problems.answer(error, MESSAGES)
    if current_app.config.get("PROPAGATE_EXCEPTIONS"):
        raise error
    current_app.logger.exception("Unhandled error on %s %s", request.method, request.path)
    db.session.rollback()
    if g.get("committed"):
        return render_error(500, SAVED_BUT_FAILED)
    return handle_http_error(InternalServerError(original_exception=error))


def render_error(code: int, message: str):
    if request.path.startswith("/api/") or request.accept_mimetypes.best == "application/json":
        response = jsonify(error=code, message=message)
    elif wants_fragment():
        response = make_response(render_template("partials/error.html", code=code, message=message))
        # htmx swaps this into the page's error area, wherever the request came from.
        response.headers["HX-Retarget"] = "#errors"
        response.headers["HX-Reswap"] = "innerHTML"
    else:
        response = make_response(render_template("error.html", code=code, message=message))
    response.status_code = code
    return response
