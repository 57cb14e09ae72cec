"""The ASGI front that Hypercorn serves: `hypercorn -c hypercorn.toml webapp.asgi:app`.

Flask stays a plain WSGI app running in a bounded thread pool. This front adds what a
WSGI app cannot do well under Hypercorn: lifespan start-up and shutdown, a request body
limit that lets Flask answer 413 itself, responses with an empty body (HEAD, 204, 304),
and the live board stream (webapp/live/), served natively so that it holds no thread.
"""
import asyncio
import gc
import json
import os
import re
import signal
from concurrent.futures import ThreadPoolExecutor

import hypercorn.asyncio.run
from hypercorn.utils import ShutdownError

from . import config, create_app
from .live import BoardStreams
from .wsgi import FlaskInThreads

BOARD_EVENTS = re.compile(r"^/boards/([0-9]{1,19})/events$")  # ASCII digits, within a 64-bit id


class CorkboardASGI:
    serving: list["CorkboardASGI"] = []  # started in this process (lifespan): their streams end at shutdown
    stopping = False  # Hypercorn is stopping gracefully

    def __init__(self, flask_app):
        self.flask_app = flask_app
        limit = flask_app.config["MAX_CONTENT_LENGTH"]
        self.wsgi = FlaskInThreads(flask_app, limit)
        self.streams = BoardStreams(flask_app, abort=abort_connection)

    async def __call__(self, scope, receive, send):
        if scope["type"] == "lifespan":
            await self.lifespan(receive, send)
        elif scope["type"] == "http":
            events = BOARD_EVENTS.match(scope["path"])
            if events and scope["method"] == "GET":
                return await self.streams(scope, receive, send, int(events.group(1)))
            if scope["path"] == "/healthz/live" and scope["method"] == "GET":
                return await self.live_status(send)
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
                CorkboardASGI.serving.append(self)
                self.end_streams_on_signal(loop)
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.streams.close_all()
                await self.broker.stop()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def live_status(self, send):
        """Whether live updates reach this worker's streams (Redis may be down), for operators."""
        status = {**self.broker.status(), "open_streams": self.streams.open_streams}
        await send({"type": "http.response.start", "status": 200 if status["connected"] else 503,
                    "headers": [(b"content-type", b"application/json"), (b"cache-control", b"no-store"),
                                (b"x-content-type-options", b"nosniff")]})
        await send({"type": "http.response.body", "body": json.dumps(status).encode()})

    @property
    def broker(self):
        return self.flask_app.extensions["live"]

    def end_streams_on_signal(self, loop) -> None:
        """A worker that Hypercorn started is killed outright by SIGTERM (its supervisor stops
        it gracefully by another way): end the streams cleanly first, then die as it would have."""
        for signal_number in (signal.SIGTERM, signal.SIGINT):
            if signal.getsignal(signal_number) is signal.SIG_DFL:  # not Hypercorn's own, nor ignored
                loop.add_signal_handler(signal_number, lambda number=signal_number: asyncio.ensure_future(
                    self._end_streams_then_die(loop, number)))

    async def _end_streams_then_die(self, loop, signal_number) -> None:
        await self.streams.close_all()
        await asyncio.sleep(0.3)  # the supervisor got the signal too (a process group's): its stop wins
        if not CorkboardASGI.stopping:
            loop.remove_signal_handler(signal_number)
            os.kill(os.getpid(), signal_number)


def abort_connection(send) -> None:
    """Drop the connection a stream writes to, unsent bytes and all. ASGI has no way to say so,
    and closing a connection whose peer stopped reading waits for it to read: reach Hypercorn's
    transport through the `send` it gave (HTTPStream.app_send -> H11Protocol.stream_send ->
    TCPServer.protocol_send). Anything else (HTTP/2, another server) is left to close by itself."""
    stream = getattr(send, "__self__", None)
    protocol = getattr(getattr(stream, "send", None), "__self__", None)
    server = getattr(getattr(protocol, "send", None), "__self__", None)
    transport = getattr(getattr(server, "writer", None), "transport", None)
    if transport is not None and hasattr(transport, "abort"):
        transport.abort()


# Hypercorn begins to stop (a signal, or its supervisor's word) by closing its sockets, then
# waits up to graceful_timeout for every connection, and only then sends lifespan.shutdown:
# open streams would hold it that long and then be cancelled mid-write. So the moment it is
# told to stop, every stream sends its last event and ends; the browsers reconnect elsewhere.
# (Hypercorn has no hook for that moment; this wraps the function it awaits it with.)
async def raise_shutdown(shutdown_event) -> None:
    await shutdown_event()
    CorkboardASGI.stopping = True
    for front in CorkboardASGI.serving:
        await front.streams.close_all()
    raise ShutdownError()


hypercorn.asyncio.run.raise_shutdown = raise_shutdown

def with_debugger(flask_app):
    """In debug mode (`make dev`), an error shows Werkzeug's interactive debugger, as `flask run
    --debug` does, to requests from this machine only; its PIN (in the log) stays required."""
    if not flask_app.debug:
        return flask_app
    import logging
    from werkzeug.debug import DebuggedApplication

    flask_app.config["PROPAGATE_EXCEPTIONS"] = True  # else the error page answers, not the debugger
    served = flask_app.wsgi_app
    debugger = DebuggedApplication(served, evalex=True)

    def debugged_from_loopback(environ, start_response):
        chosen = debugger if environ.get("REMOTE_ADDR") in ("127.0.0.1", "::1") else served
        return chosen(environ, start_response)
    flask_app.wsgi_app = debugged_from_loopback
    logging.getLogger(__name__).warning("Debugger active for requests from this machine; its PIN: %s", debugger.pin)
    return flask_app


app = CorkboardASGI(with_debugger(create_app()))
