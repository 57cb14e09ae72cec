"""Flask in a bounded thread pool, behind the ASGI front (webapp/asgi.py).

Hypercorn's WSGI adapter, reworked: request bodies are read before Flask runs, and a response
comes back from its thread whole for the event loop to send.
"""
import asyncio
from functools import partial

from hypercorn.app_wrappers import _build_environ


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


def _send_from_thread(loop, send, message):
    """An ASGI send, from a Flask thread: runs on the event loop, waits until done."""
    return asyncio.run_coroutine_threadsafe(send(message), loop).result()
