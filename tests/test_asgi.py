"""The ASGI front through a real Hypercorn: empty bodies, the body limit, the thread pool."""
import asyncio
import http.client
import socket
import threading

import pytest
from hypercorn.asyncio import serve
from hypercorn.config import Config

from webapp.asgi import CorkboardASGI


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def server(app):
    @app.get("/test/no-content")
    def no_content():
        return "", 204

    @app.get("/test/large")
    def large():
        # A body bigger than the front buffers: it streams from the Flask thread.
        return app.response_class((bytes([65 + i]) * 100_000 for i in range(5)), mimetype="text/plain")

    config = Config()
    port = free_port()
    config.bind = [f"127.0.0.1:{port}"]
    config.loglevel = "WARNING"
    loop = asyncio.new_event_loop()
    stop = asyncio.Event()
    started = threading.Event()

    async def main():
        loop.call_soon(started.set)
        await serve(CorkboardASGI(app), config, shutdown_trigger=stop.wait)

    thread = threading.Thread(target=loop.run_until_complete, args=(main(),), daemon=True)
    thread.start()
    started.wait(5)
    for _ in range(50):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
            break
        except OSError:
            threading.Event().wait(0.05)
    yield port
    loop.call_soon_threadsafe(stop.set)
    thread.join(5)


def request(port, method, path, body=None, headers=None):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    connection.request(method, path, body=body, headers=headers or {})
    response = connection.getresponse()
    data = response.read()
    connection.close()
    return response, data


def test_head_gets_status_and_headers(server):
    response, body = request(server, "HEAD", "/login")
    assert response.status == 200 and body == b""
    assert response.getheader("Content-Type").startswith("text/html")


def test_204_is_sent(server):
    response, body = request(server, "GET", "/test/no-content")
    assert response.status == 204 and body == b""


def test_304_for_a_cached_static_file(server):
    first, _ = request(server, "GET", "/static/app.css")
    etag = first.getheader("ETag")
    assert first.status == 200 and etag
    response, body = request(server, "GET", "/static/app.css", headers={"If-None-Match": etag})
    assert response.status == 304 and body == b""


def test_large_body_streams_whole_and_in_order(server):
    response, body = request(server, "GET", "/test/large")
    assert response.status == 200
    assert body == b"".join(bytes([65 + i]) * 100_000 for i in range(5))


def test_oversized_body_gets_flasks_413_page(server, app):
    app.config["MAX_CONTENT_LENGTH"] = 1024
    body = b"title=" + b"x" * 200_000
    response, data = request(server, "POST", "/signup", body=body,
                             headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert response.status == 413
    assert b"That upload is too large." in data


def test_body_under_the_limit_reaches_flask(server):
    response, data = request(server, "POST", "/login", body=b"email=a%40b.c&password=x",
                             headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert response.status == 400 and b"security token is missing" in data
