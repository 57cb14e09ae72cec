"""Every error under /api/ is an `application/problem+json` document (RFC 9457).

`type` is about:blank and `title` the status's name, as the RFC asks when nothing more specific
applies; `detail` says what went wrong in words. A 422 adds `errors`, each field with its
messages; a 409 or 412 made against an old card adds `fresh`, the card as it now is.
"""
from http import HTTPStatus

from flask import current_app, g, json, make_response, request
from werkzeug.exceptions import HTTPException

from ..extensions import db

PROBLEM_JSON = "application/problem+json"
UNEXPECTED = "Something went wrong on our side. Nothing was saved; please try again."
SAVED_BUT_FAILED = ("The change was saved, but something went wrong on our side while answering. "
                    "Read the resource again rather than repeating the change.")


def is_api_request() -> bool:
    return request.path == "/api" or request.path.startswith("/api/")


def problem(status: int, detail: str, *, errors: dict | None = None, fresh: dict | None = None, headers=None):
    body = {"type": "about:blank", "title": HTTPStatus(status).phrase, "status": status, "detail": detail}
    if errors is not None:
        body["errors"] = errors
    if fresh is not None:
        body["fresh"] = fresh
    response = make_response(json.dumps(body), status)
    response.content_type = PROBLEM_JSON
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def answer(error: Exception, messages: dict[int, str]):
    """The problem document for an error raised while answering an API request."""
    if not isinstance(error, HTTPException):
        return unexpected(error)
    status = error.code or 500
    detail = error.description
    if detail == type(error).description:  # Werkzeug's generic text: say it plainly
        detail = messages.get(status, HTTPStatus(status).phrase)
    headers = {}
    if status == 405 and getattr(error, "valid_methods", None):
        headers["Allow"] = ", ".join(error.valid_methods)
    if status == 401:
        headers["WWW-Authenticate"] = getattr(error, "challenge", 'Bearer realm="Corkboard"')
    if status == 429:
        headers["Retry-After"] = str(getattr(error, "retry_after", 60))
    errors = field_errors(error) if status == 422 else None
    fresh = getattr(error, "fresh_body", None)
    if fresh is None and getattr(error, "fresh", None) is not None:  # an operation's Conflict
        from .cards import fresh_body
        fresh = fresh_body(error.fresh)
    return problem(status, detail, errors=errors, fresh=fresh, headers=headers)


def field_errors(error: HTTPException) -> dict[str, list[str]]:
    """{field: [messages]} from an operation's Invalid or from the request's parsing (webargs)."""
    if isinstance(getattr(error, "errors", None), dict):
        return {field: message if isinstance(message, list) else [message]
                for field, message in error.errors.items()}
    parsed = (getattr(error, "data", None) or {}).get("messages") or {}
    found: dict[str, list[str]] = {}
    for location_errors in parsed.values():  # {"json": {...}, "query": {...}}
        _flatten(location_errors, "", found)
    return found or {"request": [error.description or "Some of what you sent is not valid."]}


def _flatten(messages, prefix: str, found: dict) -> None:
    if isinstance(messages, dict):
        for key, value in messages.items():
            _flatten(value, f"{prefix}.{key}" if prefix else str(key), found)
    elif isinstance(messages, list) and all(isinstance(message, str) for message in messages):
        found.setdefault(prefix or "request", []).extend(messages)
    elif isinstance(messages, list):
        for index, value in enumerate(messages):
            _flatten(value, f"{prefix}.{index}", found)
    else:
        found.setdefault(prefix or "request", []).append(str(messages))


def unexpected(error: Exception):
    if current_app.config.get("PROPAGATE_EXCEPTIONS"):
        raise error
    current_app.logger.exception("Unhandled error on %s %s", request.method, request.path)
    db.session.rollback()
    return problem(500, SAVED_BUT_FAILED if g.get("committed") else UNEXPECTED)
