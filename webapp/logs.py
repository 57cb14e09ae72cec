"""Logs: one line per record, as JSON objects with LOG_FORMAT=json (`make run`) or as plain text,
every record made while a request is handled tagged with that request's id, and one access line
per request.

A request's id is the `X-Request-Id` it came with (the proxy's, so its log and ours can be
joined) when that is a short token of safe characters, else a fresh one; it goes back in the
response's `X-Request-Id`. Whatever a client sends (a path with line breaks, a header with
quotes) is escaped inside its line: a log line is never broken into two, nor made to look like
another record.
"""
import contextvars
import json
import logging
import re
import sys
import time
import uuid
from datetime import datetime, timezone

from flask.logging import default_handler

REQUEST_ID = contextvars.ContextVar("request_id", default=None)
# A proxy's id (nginx's $request_id, a UUID, a tracing header's token) fits; anything longer
# or with other characters is replaced.
SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:=+/-]{0,127}")
# A calendar feed's address is its key: it is not written into the log.
SECRET_IN_PATH = re.compile(r"^/feeds/[^/]+/")
ACCESS = logging.getLogger("webapp.access")
# Attributes every LogRecord has: anything else on a record was passed with `extra=`.
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime", "request_id"}


def init_app(app) -> None:
    """Send every record (Corkboard's, Hypercorn's, the libraries') to standard error, formatted
    as LOG_FORMAT says; give each request its id and its access line."""
    configure(app.config["LOG_FORMAT"], app.config["LOG_LEVEL"])
    app.wsgi_app = RequestIds(app.wsgi_app, access_log=app.config["LOG_ACCESS"])


def configure(log_format: str = "text", level: str = "INFO") -> None:
    """Once per process in effect: a later call (another app, in tests) replaces the handler."""
    root = logging.getLogger()
    for handler in [h for h in root.handlers if isinstance(h, StandardErrorHandler)]:
        root.removeHandler(handler)
    handler = StandardErrorHandler()
    handler.setFormatter(JSONFormatter() if log_format == "json" else TextFormatter())
    handler.addFilter(add_request_id)
    handler.addFilter(not_shown_by_hypercorn)
    root.addHandler(handler)
    root.setLevel(level.upper())
    # Flask adds its own handler to the app's logger when nothing else would show its records:
    # here something does, and it would print them twice.
    logging.getLogger("webapp").removeHandler(default_handler)
    # aiosmtpd (the dev mailbox) tells of every SMTP connection at INFO.
    logging.getLogger("mail.log").setLevel(max(root.level, logging.WARNING))


def add_request_id(record: logging.LogRecord) -> bool:
    if not hasattr(record, "request_id"):
        record.request_id = REQUEST_ID.get()
    return True


def not_shown_by_hypercorn(record: logging.LogRecord) -> bool:
    """Hypercorn gives its logger a handler of its own unless told otherwise (hypercorn.toml
    does): what that handler shows already is not shown twice."""
    return not (record.name == "hypercorn.error" and logging.getLogger(record.name).handlers)


class StandardErrorHandler(logging.StreamHandler):
    """Writes to whatever sys.stderr is when a record comes (a test may have replaced it)."""

    def __init__(self):
        super().__init__(sys.stderr)

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, _value):
        pass


class JSONFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request_id, and what was passed
    with `extra=` (the access line's method, path, status, duration_ms)."""

    def format(self, record: logging.LogRecord) -> str:
        line = {
            "time": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None),
        }
        line.update((key, value) for key, value in vars(record).items() if key not in _STANDARD)
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            line["stack"] = self.formatStack(record.stack_info)
        return json.dumps(line, default=str)


# Line breaks and other control characters a client may have put in a path or a header.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


class TextFormatter(logging.Formatter):
    """`time level [request id] logger: message`, with control characters in the message shown
    escaped (\\n, \\x1b): a traceback still spans its own lines."""

    def __init__(self):
        super().__init__("%(asctime)s %(levelname)s [%(request_id)s] %(name)s: %(message)s")

    def formatMessage(self, record: logging.LogRecord) -> str:
        record.message = _CONTROL.sub(_escape, record.message)
        if getattr(record, "request_id", None) is None:
            record.request_id = "-"
        return super().formatMessage(record)


def _escape(match: re.Match) -> str:
    return match.group().encode("unicode_escape").decode("ascii")


class RequestIds:
    """WSGI middleware: the request's id (in `environ["corkboard.request_id"]`, in every record
    logged while the app runs, in the response's X-Request-Id) and its access line."""

    def __init__(self, app, access_log: bool = True):
        self.app = app
        self.access_log = access_log

    def __call__(self, environ, start_response):
        started = time.perf_counter()
        incoming = environ.get("HTTP_X_REQUEST_ID", "")
        current = incoming if SANE_REQUEST_ID.fullmatch(incoming) else uuid.uuid4().hex
        environ["corkboard.request_id"] = current
        header = ("X-Request-Id", current)
        status = []

        def start_with_id(status_line, headers, exc_info=None):
            status[:] = [status_line]
            headers = [(name, value) for name, value in headers if name.lower() != "x-request-id"]
            headers.append(header)
            return start_response(status_line, headers, exc_info)

        token = REQUEST_ID.set(current)
        try:
            body = self.app(environ, start_with_id)
        except BaseException:
            if self.access_log:
                self.log_access(environ, current, "500", started)
            raise
        finally:
            REQUEST_ID.reset(token)
        return _Body(body, self, environ, current, status, started)

    def log_access(self, environ, current, status_line, started) -> None:
        duration_ms = round((time.perf_counter() - started) * 1000, 1)
        method = environ.get("REQUEST_METHOD", "")
        path = environ.get("PATH_INFO", "").encode("latin-1", "replace").decode("utf-8", "replace")  # as WSGI has it
        path = SECRET_IN_PATH.sub("/feeds/<secret>/", path)
        status = int(status_line.split(" ", 1)[0]) if status_line else 0
        ACCESS.info("%s %s %s %.1f ms", method, path, status, duration_ms, extra={
            "request_id": current, "method": method, "path": path, "status": status,
            "duration_ms": duration_ms, "client": environ.get("REMOTE_ADDR")})


class _Body:
    """The response's body, passed through; its access line is written once it is closed
    (sent, or abandoned), so that the duration covers the body too."""

    def __init__(self, body, middleware, environ, current, status, started):
        self.body, self.middleware, self.environ = body, middleware, environ
        self.current, self.status, self.started = current, status, started

    def __iter__(self):
        return iter(self.body)

    def close(self) -> None:
        try:
            if hasattr(self.body, "close"):
                self.body.close()
        finally:
            if self.middleware.access_log:
                self.middleware.log_access(self.environ, self.current,
                                           self.status[0] if self.status else "", self.started)
