"""The ASGI front that Hypercorn serves: `hypercorn -c hypercorn.toml webapp.asgi:app`.

Flask stays a plain WSGI app running in a bounded thread pool. This front adds what a
WSGI app cannot do well under Hypercorn: lifespan start-up and shutdown, a request body
limit that lets Flask answer 413 itself, responses with an empty body (HEAD, 204, 304),
and the live board stream (webapp/live.py), served natively so that it holds no thread.
"""
import asyncio
import gc
import os
import re
from concurrent.futures import ThreadPoolExecutor
from functools import partial

from hypercorn.app_wrappers import WSGIWrapper, _build_environ

from . import create_app
from .live import BoardStreams

BOARD_EVENTS = re.compile(r"^/boards/(\d+)/events$")

# Flask runs in these threads; Hypercorn's default (cpus + 4) starves under load.
THREADS = int(os.environ.get("CORKBOARD_THREADS", "16"))


def always_send_status(wsgi_app):
    """Yield at least one chunk: Hypercorn sends the status line with the first chunk,
    so a response with no body (HEAD, 204, 304) would otherwise never be sent."""

    def app(environ, start_response):
        body = wsgi_app(environ, start_response)
        try:
            sent = False
            for chunk in body:
                sent = True
                yield chunk
            if not sent:
                yield b""
        finally:
            if hasattr(body, "close"):
                body.close()

    return app


class LimitedWSGIWrapper(WSGIWrapper):
    """Hypercorn's WSGI adapter, but an oversized body reaches Flask as a declared length
    with no content, so Flask answers 413 with its own error page instead of a bare 400."""

    async def handle_http(self, scope, receive, send, sync_spawn, call_soon):
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
        await sync_spawn(self.run_app, environ, partial(call_soon, send))
        await send({"type": "http.response.body", "body": b"", "more_body": False})


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
        self.wsgi = LimitedWSGIWrapper(always_send_status(flask_app.wsgi_app), limit)
        self.streams = BoardStreams(flask_app)

    async def __call__(self, scope, receive, send):
        if scope["type"] == "lifespan":
            await self.lifespan(receive, send)
        elif scope["type"] == "http":
            events = BOARD_EVENTS.match(scope["path"])
            if events and scope["method"] == "GET":
                return await self.streams(scope, receive, send, int(events.group(1)))
            loop = asyncio.get_running_loop()
            await self.wsgi(scope, receive, send, partial(loop.run_in_executor, None),
                            partial(_call_soon, loop))
        else:  # websockets are not served
            await send({"type": "websocket.close"})

    async def lifespan(self, receive, send):
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                loop = asyncio.get_running_loop()
                loop.set_default_executor(ThreadPoolExecutor(THREADS, "flask"))
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


def _call_soon(loop, func, *args):
    """Run a coroutine (an ASGI send) on the event loop from a Flask thread."""
    return asyncio.run_coroutine_threadsafe(func(*args), loop).result()


app = CorkboardASGI(create_app())
