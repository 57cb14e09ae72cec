"""Flask in a bounded thread pool, behind the ASGI front (webapp/asgi.py).

Hypercorn's WSGI adapter, reworked: request bodies are read before Flask runs, small ones into
memory and larger ones onto disk, and a response comes back from its thread whole for the event
loop to send.
"""
import asyncio
import io
import logging
import math
import tempfile
from functools import partial
from io import BytesIO
from urllib.parse import parse_qs

from flask_login.utils import decode_cookie
from hypercorn.app_wrappers import _build_environ
from werkzeug.exceptions import HTTPException, ServiceUnavailable
from werkzeug.http import parse_cookie
from werkzeug.routing import RequestRedirect

from . import config
from .auth import require_login
from .hypermedia import MethodOverrideMiddleware

log = logging.getLogger(__name__)

# How long the rest of a request body that will not be used is still received (and dropped)
# after the response has gone out, at most, before the connection is closed.
DISCARD_SECONDS = 2
# A response up to this size is built whole in the Flask thread and sent by the event loop in
# one go; a larger one (a big attachment) streams from the thread chunk by chunk.
BUFFERED_BODY = 256 * 1024


class FlaskInThreads:
    """Hypercorn's WSGI adapter, reworked for two things.

    A request body is read by the event loop before Flask runs, without holding more memory than
    it must: up to `memory_body` bytes it stays in memory as long as all such bodies of this process
    fit in `memory_budget`; anything else is written chunk by chunk to a temporary file, which Flask
    reads as `wsgi.input`. (Hypercorn's own adapter grows one buffer per body: 100 posts of 15 MiB
    took a worker to 2.4 GiB, and freed buffers left 1.7 GiB behind.) Chunked bodies reach Flask
    with their real length. What Flask would refuse is not read at all: a declared length over the
    limit (Flask answers 413 with its own page, not Hypercorn's bare 400), a urlencoded form larger
    than a form held in memory may be, a chunked body once it passes the limit, and a large body
    to a URL with no such page or to a page that needs an account asked without any session cookie.

    A response comes back from its thread whole and the event loop sends it: one hand-over each
    way per request instead of a blocking round trip per chunk, and a response with an empty body
    (HEAD, 204, 304) still sends its status line (Hypercorn issue #331).
    """

    def __init__(self, flask_app, max_body_size: int | None = None, *, memory_body: int | None = None,
                 memory_budget: int | None = None):
        self.flask_app = flask_app
        self.app = flask_app.wsgi_app
        if max_body_size is None:
            max_body_size = flask_app.config.get("MAX_CONTENT_LENGTH") or math.inf  # None: no limit
        self.max_body_size = max_body_size
        self.memory_body = memory_body if memory_body is not None else flask_app.config.get(
            "REQUEST_BODY_IN_MEMORY", config.REQUEST_BODY_IN_MEMORY)
        self.memory_budget = memory_budget if memory_budget is not None else flask_app.config.get(
            "REQUEST_BODIES_IN_MEMORY", config.REQUEST_BODIES_IN_MEMORY)
        self.spool_folder = flask_app.config.get("REQUEST_BODY_FOLDER")  # None: the system's temp folder
        self.in_memory = 0  # bytes of request bodies held in memory right now (all on the event loop)
        self.spooled = 0  # bodies written to disk so far: for tests and benchmarks

    async def __call__(self, scope, receive, send):
        environ = _build_environ(scope, b"")
        declared = _content_length(scope)
        chunked = "HTTP_TRANSFER_ENCODING" in environ
        limit = self.limit_for(environ)
        if declared is not None and declared > self.judged_above():
            limit = self.limit_for_large(environ, limit)
        body, reserved, unread = None, 0, True
        if limit is None:  # Flask will answer without it
            environ["CONTENT_LENGTH"] = "0"
        elif declared is not None and declared > limit:
            self.too_large(environ, declared)  # Flask answers 413 without reading anything
        else:
            read = await self.read_body(receive, declared, limit, environ if chunked else None)
            if read is None:  # the client left before it had sent the whole body
                return
            body, size, reserved, unread, verdict = read
            if verdict is UNUSED:
                environ["CONTENT_LENGTH"] = "0"
                environ.pop("HTTP_TRANSFER_ENCODING", None)
            elif verdict is TOO_LARGE:
                self.too_large(environ, size)
            elif verdict is NO_ROOM:  # Flask answers 503 with its own page when it reads the body
                environ["CONTENT_LENGTH"] = str(max(size, 1))
                environ.pop("HTTP_TRANSFER_ENCODING", None)
                environ["wsgi.input"] = _NoRoom()
            else:
                if declared is not None or chunked or size:
                    environ["CONTENT_LENGTH"] = str(size)
                    environ.pop("HTTP_TRANSFER_ENCODING", None)  # what Flask reads is no longer chunked
                if body is not None:
                    environ["wsgi.input"] = body
        # Whatever of the body is left unread is received and dropped. Left in Hypercorn's queue, it
        # would block Hypercorn's reading of the connection for good: the response never finishes
        # closing, and a client still sending waits until its own timeout (an oversized chunked
        # body "hung"). Once the response is out, Hypercorn closes the connection; bytes still
        # arriving then make the client's system reset it, and a client that sends its whole body
        # before it reads (most do) would never see the answer. So a response of known length goes
        # out at once but is only ended once the body is dropped (at most DISCARD_SECONDS), as a
        # web server's "lingering close" does: the connection even stays open if the body ended.
        discarding = asyncio.ensure_future(_discard_body(receive)) if unread else None
        try:
            try:
                loop = asyncio.get_running_loop()
                response = await loop.run_in_executor(None, self.run_app, environ,
                                                      partial(_send_from_thread, loop, send))
            finally:  # the body's memory or file goes before the response is sent, however slowly
                self.in_memory -= reserved
                if body is not None:
                    body.close()
            if response is None:  # streamed from the thread
                await send({"type": "http.response.body", "body": b"", "more_body": False})
                return
            status, headers, content = response
            await send({"type": "http.response.start", "status": status, "headers": headers})
            if discarding is not None and not discarding.done() and any(
                    name == b"content-length" for name, _ in headers):
                await send({"type": "http.response.body", "body": content, "more_body": True})
                await _wait_briefly(discarding)
                content = b""
            await send({"type": "http.response.body", "body": content, "more_body": False})
        finally:
            if discarding is not None:
                await _wait_briefly(discarding)  # ends when Hypercorn has closed the connection
                discarding.cancel()

    def limit_for(self, environ: dict) -> int:
        """The largest body this request may have, before its page is known. A urlencoded form is
        read whole into memory by Werkzeug, several copies of it (bytes, text, values), so it may
        be no larger than Flask's limit for a form field held in memory (MAX_FORM_MEMORY_SIZE,
        500 kB): the longest description in the most escaped script is a fraction of that."""
        form_limit = self.flask_app.config.get("MAX_FORM_MEMORY_SIZE")
        if form_limit is not None and environ.get("CONTENT_TYPE", "").startswith("application/x-www-form-urlencoded"):
            return min(self.max_body_size, form_limit)
        return self.max_body_size

    def judged_above(self) -> int:
        """A body larger than this is judged by its page before it is read (see limit_for_large)."""
        return min(self.memory_body, self.flask_app.config.get("MAX_FORM_MEMORY_SIZE") or math.inf)

    def limit_for_large(self, environ: dict, limit: int) -> int | None:
        """The limit for a large body, once its page is known: None if Flask will answer without
        reading it (see endpoint_for); a form's limit for a page that takes no files
        (marked with `takes_files`); else `limit`. A page of forms needs no more than a form."""
        endpoint = self.endpoint_for(environ)
        if endpoint is None or (self.needs_login(endpoint) and not self.may_be_logged_in(environ)):
            return None
        if not endpoint:  # a URL Werkzeug could not even match: Flask will judge it
            return limit
        form_limit = self.flask_app.config.get("MAX_FORM_MEMORY_SIZE")
        view = self.flask_app.view_functions.get(endpoint)
        if form_limit is not None and not getattr(view, "takes_files", False):
            return min(limit, form_limit)
        return limit

    def too_large(self, environ: dict, size: int) -> None:
        """Have Flask answer 413 (its own page, fragment or JSON) without reading the body: a length
        over its MAX_CONTENT_LENGTH is how it is told, as Flask has no say before its view runs."""
        flask_limit = self.flask_app.config.get("MAX_CONTENT_LENGTH") or 0
        environ["CONTENT_LENGTH"] = str(max(size, flask_limit + 1))
        environ.pop("HTTP_TRANSFER_ENCODING", None)
        environ["wsgi.input"] = BytesIO()

    async def read_body(self, receive, declared: int | None, limit: int, chunked_environ: dict | None):
        """(body as a readable file or None, its size, bytes of the memory budget it holds, whether
        some of it is left unread, READ, TOO_LARGE or UNUSED), or None if the client disconnected.
        Reading stops once the size passes the limit (TOO_LARGE). A chunked body, of unknown size
        until it ends, is judged by its page once it is large: UNUSED if Flask will not read it."""
        chunks, size, reserved, file, unread, verdict = [], 0, 0, None, True, READ
        judged_above = self.judged_above() if chunked_environ is not None else math.inf
        if declared is not None and declared <= self.memory_body and self.in_memory + declared <= self.memory_budget:
            reserved = declared
            self.in_memory += reserved
        try:
            if declared is not None and declared > self.memory_body and not reserved:  # straight onto disk
                file = self.spool_file()
            while True:
                message = await receive()
                if message["type"] == "http.disconnect":
                    raise _ClientLeft
                chunk = message.get("body", b"")
                size += len(chunk)
                unread = message.get("more_body", False)
                if size > judged_above:
                    judged_above = math.inf
                    limit = self.limit_for_large(chunked_environ, limit)
                    if limit is None:
                        verdict = UNUSED
                        break
                if size > limit:
                    verdict = TOO_LARGE
                    break
                if file is None and size > reserved:
                    if size <= self.memory_body and self.in_memory + size - reserved <= self.memory_budget:
                        self.in_memory += size - reserved
                        reserved = size
                    else:  # onto disk, chunk by chunk: no buffer grows, so nothing is left fragmented
                        file = self.spool_file()
                        file.writelines(chunks)
                        chunks.clear()
                        self.in_memory -= reserved
                        reserved = 0
                if file is not None:
                    file.write(chunk)
                elif chunk:
                    chunks.append(chunk)
                if not unread:
                    break
        except OSError:  # no room on disk, or no file to be had: stop reading, the request fails
            self.in_memory -= reserved
            if file is not None:
                file.close()
            log.exception("Could not keep a request body of %s bytes on disk", declared or size)
            return None, size, 0, unread, NO_ROOM
        except BaseException as error:
            self.in_memory -= reserved
            if file is not None:
                file.close()
            if isinstance(error, _ClientLeft):
                return None
            raise
        if file is not None:
            file.seek(0)
        elif chunks:
            file = BytesIO(chunks[0] if len(chunks) == 1 else b"".join(chunks))
        # else no body, as for most requests: the environ's empty stream will do
        return file, size, reserved, unread, verdict

    def spool_file(self):
        self.spooled += 1
        return tempfile.TemporaryFile(dir=self.spool_folder, prefix="corkboard-body-")

    def endpoint_for(self, environ: dict) -> str | None:
        """The endpoint Flask will route this request to; None when there is no page at this URL
        for this method (Flask answers 404, 405, or redirects to another URL) and so Flask will
        not read the body. A page that needs an account (needs_login), asked without a session or
        remember-me cookie, is sent to the login page or refused (CSRF first): no body read either."""
        method = environ["REQUEST_METHOD"]
        if method == "POST" and "_method=" in environ["QUERY_STRING"]:  # as MethodOverrideMiddleware does
            override = parse_qs(environ["QUERY_STRING"]).get("_method", [""])[0].upper()
            if override in MethodOverrideMiddleware.METHODS:
                method = override
        try:
            endpoint, _ = self.flask_app.url_map.bind_to_environ(environ).match(method=method)
        except (HTTPException, RequestRedirect):
            return None
        except Exception:  # whatever else is odd about it, Flask will judge it with its body
            return ""
        return endpoint

    def needs_login(self, endpoint: str) -> bool:
        blueprint = endpoint.rpartition(".")[0]
        names = [".".join(blueprint.split(".")[:end]) for end in range(1, blueprint.count(".") + 2)] if blueprint else []
        return any(require_login in self.flask_app.before_request_funcs.get(name, ()) for name in names)

    def may_be_logged_in(self, environ: dict) -> bool:
        """Whether this request may belong to someone logged in: a signed remember-me cookie, or a
        session (checked as Flask will check it) that names a login. Anyone gets a session by
        opening the login page, so a session alone does not make a large body worth reading."""
        app = self.flask_app
        cookies = parse_cookie(environ.get("HTTP_COOKIE", ""))
        remember = cookies.get(app.config.get("REMEMBER_COOKIE_NAME", "remember_token"))
        if remember and decode_cookie(remember, key=app.config["SECRET_KEY"]) is not None:
            return True  # whether its login still stands is for Flask to find out
        if app.config["SESSION_COOKIE_NAME"] not in cookies:
            return False
        try:
            session = app.session_interface.open_session(app, app.request_class(environ))
        except Exception:  # Flask will find out what is wrong with it
            return True
        return session is not None and "_user_id" in session  # where Flask-Login keeps the login

    def run_app(self, environ: dict, send):
        """Run Flask in this thread: returns (status, headers, body), or None once a body
        larger than BUFFERED_BODY has been streamed through `send`."""
        started = None

        def start_response(status, response_headers, exc_info=None):
            nonlocal started
            started = (int(status.split(" ", 1)[0]),
                       [(name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in response_headers])

        iterable = self.app(environ, start_response)
        try:
            chunks, size = [], 0
            body = iter(iterable)
            for chunk in body:
                chunks.append(chunk)
                size += len(chunk)
                if size > BUFFERED_BODY:
                    break
            else:
                if started is None:
                    raise RuntimeError("The WSGI app did not call start_response")
                return (*started, b"".join(chunks))
            send({"type": "http.response.start", "status": started[0], "headers": started[1]})
            send({"type": "http.response.body", "body": b"".join(chunks), "more_body": True})
            for chunk in body:
                send({"type": "http.response.body", "body": chunk, "more_body": True})
            return None
        finally:
            if hasattr(iterable, "close"):
                iterable.close()


READ, TOO_LARGE, UNUSED, NO_ROOM = "read", "too large", "unused", "no room"  # what became of a request body


class _NoRoom(io.RawIOBase):
    """The body of a request that could not be kept: reading it is a 503, which Flask answers
    with its own page ("nothing was saved"), whichever view or check reads it first."""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        raise ServiceUnavailable("The server has no room for what you sent right now. Nothing was saved; "
                                 "please try again in a minute.")


class _ClientLeft(Exception):
    """The client disconnected while its request body was being read."""


def _content_length(scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


def takes_files(view):
    """Marks a view that takes uploads: its requests may carry bodies up to MAX_CONTENT_LENGTH.
    Any other page's body may be no larger than a form (MAX_FORM_MEMORY_SIZE); a larger one is
    refused with 413 before it is read."""
    view.takes_files = True
    return view


async def _wait_briefly(discarding) -> None:
    """Wait for the body to be dropped, at most DISCARD_SECONDS; it goes on being dropped after
    that, for Hypercorn can only close the connection while its queue is being emptied."""
    await asyncio.wait({discarding}, timeout=DISCARD_SECONDS)


async def _discard_body(receive) -> None:
    try:
        while True:
            message = await receive()
            if message["type"] == "http.disconnect" or not message.get("more_body"):
                return
    except Exception:  # the connection is gone
        return


def _send_from_thread(loop, send, message):
    """An ASGI send, from a Flask thread: runs on the event loop, waits until done."""
    return asyncio.run_coroutine_threadsafe(send(message), loop).result()
