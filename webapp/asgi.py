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

from . import config, create_app
from .live import BoardStreams
from .wsgi import FlaskInThreads

BOARD_EVENTS = re.compile(r"^/boards/(\d+)/events$")


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


app = CorkboardASGI(create_app())
