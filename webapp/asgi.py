"""The ASGI front that Hypercorn serves: `hypercorn -c hypercorn.toml webapp.asgi:app`.

Flask stays a plain WSGI app running in a bounded thread pool. This front adds what a
WSGI app cannot do well under Hypercorn: lifespan start-up and shutdown, a request body
limit that lets Flask answer 413 itself, responses with an empty body (HEAD, 204, 304),
and the live board stream (webapp/live.py), served natively so that it holds no thread.
"""
import asyncio
import gc
import re
from concurrent.futures import ThreadPoolExecutor
from functools import partial

from hypercorn.app_wrappers import _build_environ

from . import config, create_app
from .live import BoardStreams

BOARD_EVENTS = re.compile(r"^/boards/(\d+)/events$")

# A response up to this size is built whole in the Flask thread and sent by the event loop in
# one go; a larger one (a big attachment) streams from the thread chunk by chunk.
BUFFERED_BODY = 256 * 1024


class FlaskInThreads:
    """Hypercorn's WSGI adapter, reworked for two things.

    A response comes back from its thread whole and the event loop sends it: one hand-over
    each way per request instead of a blocking round trip per chunk, and a response with an
    empty body (HEAD, 204, 304) still sends its status line (Hypercorn issue #331).
    An oversized request body reaches Flask as a declared length with no content, so Flask
    answers 413 with its own error page instead of Hypercorn's bare 400.
    """

    def __init__(self, wsgi_app, max_body_size: int):
        self.app = wsgi_app
        self.max_body_size = max_body_size

    async def __call__(self, scope, receive, send):
        declared = _content_length(scope)
        body = bytearray()
        too_large = declared is not None and declared > self.max_body_size
        while not too_large:
            message = await receive()
            body.extend(message.get("body", b""))
            if len(body) > self.max_body_size:
                too_large = True
            elif not message.get("more_body"):
                break
        environ = _build_environ(scope, b"" if too_large else bytes(body))
        if too_large:
            environ["CONTENT_LENGTH"] = str(max(declared or 0, len(body)))
        loop = asyncio.get_running_loop()
        response = await loop.run_in_executor(None, self.run_app, environ, partial(_send_from_thread, loop, send))
        if response is None:  # streamed from the thread
            await send({"type": "http.response.body", "body": b"", "more_body": False})
            return
        status, headers, content = response
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": content, "more_body": False})

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


def _content_length(scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


class CorkboardASGI:
    def __init__(self, flask_app):
        self.flask_app = flask_app
        limit = flask_app.config["MAX_CONTENT_LENGTH"]
        self.wsgi = FlaskInThreads(flask_app.wsgi_app, limit)
        self.streams = BoardStreams(flask_app)

    async def __call__(self, scope, receive, send):
        if scope["type"] == "lifespan":
            await self.lifespan(receive, send)
        elif scope["type"] == "http":
            events = BOARD_EVENTS.match(scope["path"])
            if events and scope["method"] == "GET":
                return await self.streams(scope, receive, send, int(events.group(1)))
            await self.wsgi(scope, receive, send)
        else:  # websockets are not served
            await send({"type": "websocket.close"})

    async def lifespan(self, receive, send):
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                loop = asyncio.get_running_loop()
                loop.set_default_executor(ThreadPoolExecutor(config.THREADS, "flask"))
                # What start-up made lives as long as the process: keep it out of every collection,
                # and collect less often (thousands of open streams make many small objects).
                gc.freeze()
                gc.set_threshold(50_000, 20, 20)
                await self.broker.start()
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.broker.stop()  # ends every open stream
                await send({"type": "lifespan.shutdown.complete"})
                return

    @property
    def broker(self):
        return self.flask_app.extensions["live"]


def _send_from_thread(loop, send, message):
    """An ASGI send, from a Flask thread: runs on the event loop, waits until done."""
    return asyncio.run_coroutine_threadsafe(send(message), loop).result()


app = CorkboardASGI(create_app())
