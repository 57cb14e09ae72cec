"""Request bodies through a real Hypercorn: chunked bodies work, what Flask would refuse is not
read, large bodies go to disk, and a burst of large posts leaves the server's memory bounded."""
import asyncio
import http.client
import os
import socket
import threading
import time
import uuid

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypercorn.asyncio import serve
from hypercorn.config import Config
from sqlalchemy import select

from bench.body_memory import MULTIPART, rss_peak_mb, start_server, stop_server
from tests.conftest import make_board, make_user
from tests.servers import HttpUser, free_port
from webapp import create_app
from webapp.asgi import CorkboardASGI
from webapp.extensions import csrf, db
from webapp.models import Attachment, Card
from webapp.wsgi import FlaskInThreads, takes_files

TIMEOUT = 5  # any wait on the server longer than this is a hang: the test fails instead of blocking


@pytest.fixture
def serve_app(app):
    """Serve `app` with a real Hypercorn in a thread; yields a function that starts it, so a test
    can change the app's limits first. It returns (port, the FlaskInThreads front)."""
    running = []

    def start():
        front = CorkboardASGI(app)
        config = Config()
        port = free_port()
        config.bind = [f"127.0.0.1:{port}"]
        config.loglevel = "WARNING"
        loop = asyncio.new_event_loop()
        stop = asyncio.Event()

        async def main():
            await serve(front, config, shutdown_trigger=stop.wait)

        thread = threading.Thread(target=loop.run_until_complete, args=(main(),), daemon=True)
        thread.start()
        running.append((loop, stop, thread))
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
                break
            except OSError:
                time.sleep(0.05)
        return port, front.wsgi

    yield start
    for loop, stop, thread in running:
        loop.call_soon_threadsafe(stop.set)
        thread.join(5)


@pytest.fixture
def board(app):
    with app.app_context():
        board = make_board(make_user("Ada"), columns={"To do": ["One"]})
        return board.id, board.columns[0].id, board.columns[0].cards[0].id


def logged_in(port, board_id) -> tuple[str, str]:
    """(Cookie header, CSRF token) of Ada, logged in over HTTP."""
    user = HttpUser(f"http://127.0.0.1:{port}").login("ada@example.com", "password123")
    user.board_page(board_id)
    return "; ".join(f"{cookie.name}={cookie.value}" for cookie in user.jar), user.token


def chunked_request(port, path, chunks, headers):
    """A POST whose body is sent with Transfer-Encoding: chunked (no Content-Length)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=TIMEOUT)
    connection.request("POST", path, body=iter(chunks), headers=headers, encode_chunked=True)
    response = connection.getresponse()
    data = response.read()
    connection.close()
    return response, data


def card_titles(app, column_id):
    with app.app_context():
        return list(db.session.scalars(select(Card.title).where(Card.column_id == column_id).order_by(Card.position)))


def read_response_head(sock) -> bytes:
    head = b""
    while b"\r\n\r\n" not in head:
        data = sock.recv(65536)
        if not data:
            break
        head += data
    return head


# --- chunked bodies -----------------------------------------------------------------------------

def test_a_chunked_card_create_is_saved(app, serve_app, board):
    board_id, column_id, _ = board
    port, _ = serve_app()
    cookie, token = logged_in(port, board_id)
    response, data = chunked_request(port, f"/boards/{board_id}/columns/{column_id}/cards",
                                     [b"title=Sent+in", b"+chunks"],
                                     {"Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie,
                                      "HX-Request": "true", "X-CSRFToken": token})
    assert response.status == 200, data[:500]
    assert "Sent in chunks" in data.decode()
    assert card_titles(app, column_id) == ["One", "Sent in chunks"]


def test_a_chunked_multipart_upload_is_attached(app, serve_app, board, tmp_path):
    board_id, _, card_id = board
    port, _ = serve_app()
    cookie, token = logged_in(port, board_id)
    content = uuid.uuid4().bytes * 50_000  # 800 KB: large enough to be spooled to disk on the way
    boundary = "corkboard-test-boundary"
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"files\"; filename=\"notes.bin\"\r\n"
            f"Content-Type: application/octet-stream\r\n\r\n").encode() + content + f"\r\n--{boundary}--\r\n".encode()
    chunks = [body[start:start + 100_000] for start in range(0, len(body), 100_000)]
    response, data = chunked_request(port, f"/boards/{board_id}/cards/{card_id}/attachments", chunks,
                                     {"Content-Type": f"multipart/form-data; boundary={boundary}", "Cookie": cookie,
                                      "HX-Request": "true", "X-CSRFToken": token})
    assert response.status == 200, data[:500]
    with app.app_context():
        [attachment] = db.session.scalars(select(Attachment)).all()
        assert (attachment.filename, attachment.size) == ("notes.bin", len(content))
    uploads = tmp_path / "uploads"
    stored = [path for path in uploads.rglob("*") if path.is_file() and path.relative_to(uploads).parts[0] != "tmp"]
    assert [path.read_bytes() for path in stored] == [content]


def test_a_chunked_body_over_the_limit_gets_413_at_once_and_the_connection_closes(app, serve_app):
    app.config["MAX_CONTENT_LENGTH"] = 64 * 1024
    port, _ = serve_app()
    with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as sock:
        sock.sendall(b"POST /signup HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n"
                     b"Content-Type: application/x-www-form-urlencoded\r\n\r\n")
        chunk = b"x" * 16 * 1024
        for _ in range(8):  # 128 KiB, twice the limit, and the body never ends
            sock.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        started = time.monotonic()
        head = read_response_head(sock)
        assert head.startswith(b"HTTP/1.1 413"), head[:200]
        assert time.monotonic() - started < 1
        rest = b""
        while data := sock.recv(65536):  # the server closes (after a 2 s linger): no hang until a timeout
            rest += data
        assert time.monotonic() - started < 4
    assert b"That upload is too large." in head + rest


def test_an_endless_chunked_body_is_answered_413_while_the_client_is_still_sending(app, serve_app):
    app.config["MAX_CONTENT_LENGTH"] = 64 * 1024
    port, _ = serve_app()
    sock = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
    stop = threading.Event()

    def keep_sending():
        try:
            sock.sendall(b"POST /signup HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n"
                         b"Content-Type: application/x-www-form-urlencoded\r\n\r\n")
            chunk = b"x" * 16 * 1024
            while not stop.is_set():
                sock.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        except OSError:
            pass  # the server closed the connection: what it should do

    sender = threading.Thread(target=keep_sending, daemon=True)
    sender.start()
    try:
        started = time.monotonic()
        head = read_response_head(sock)
        assert head.startswith(b"HTTP/1.1 413"), head[:200]
        assert time.monotonic() - started < 1
        sender.join(TIMEOUT)
        assert not sender.is_alive(), "the server kept reading an endless body"
        assert time.monotonic() - started < 4  # the answer at once, the connection closed after 2 s
    finally:
        stop.set()
        sock.close()


def test_a_chunked_body_within_the_limit_after_one_over_it(app, serve_app):
    """The connection that carried a refused body is closed; the next request is served as usual."""
    app.config["MAX_CONTENT_LENGTH"] = 64 * 1024
    port, _ = serve_app()
    response, _ = chunked_request(port, "/signup", [b"x" * 100_000], {"Content-Type": "application/x-www-form-urlencoded"})
    assert response.status == 413
    response, data = chunked_request(port, "/login", [b"email=a%40b.c&password=x"],
                                     {"Content-Type": "application/x-www-form-urlencoded"})
    assert response.status == 400 and b"security token is missing" in data


# --- what Flask would refuse is not read ----------------------------------------------------------

@pytest.mark.parametrize("path", ["/boards/1/columns/1/cards", "/no/such/page", "/boards/1/cards/1/move"])
def test_a_large_body_flask_would_not_read_is_answered_before_it_is_sent(serve_app, board, path):
    """An anonymous post of 15 MiB to a page that needs an account, to no page at all, or to one
    exists for another method only: the answer comes while the body is still unsent."""
    port, _ = serve_app()
    with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as sock:
        sock.sendall(f"POST {path} HTTP/1.1\r\nHost: localhost\r\nContent-Type: multipart/form-data; boundary=b\r\n"
                     f"Content-Length: {15 * 1024 * 1024}\r\n\r\n".encode())
        head = read_response_head(sock)  # not a byte of the body sent
    status = int(head.split()[1])
    assert 400 <= status < 500 and status != 413, head[:200]


def multipart(fields: dict, files: dict) -> tuple[str, bytes]:
    boundary = "corkboard-test-boundary"
    body = b"".join(f"--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n".encode()
                    for name, value in fields.items())
    body += b"".join(f"--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"{name}.bin\"\r\n"
                     f"Content-Type: application/octet-stream\r\n\r\n".encode() + content + b"\r\n"
                     for name, content in files.items())
    return f"multipart/form-data; boundary={boundary}", body + f"--{boundary}--\r\n".encode()


@pytest.mark.parametrize("forged_remember_cookie", [False, True])
def test_a_large_upload_with_an_anonymous_session_is_answered_before_it_is_sent(serve_app, board,
                                                                                 forged_remember_cookie):
    """Anyone gets a session cookie (and a CSRF token) by opening the login page, and can make up a
    remember-me cookie: neither makes a 15 MiB upload to a page that needs an account worth reading."""
    board_id, _, card_id = board
    port, front = serve_app()
    visitor = HttpUser(f"http://127.0.0.1:{port}")
    visitor.request("GET", "/login")
    cookie = "; ".join(f"{cookie.name}={cookie.value}" for cookie in visitor.jar)
    assert "session=" in cookie
    if forged_remember_cookie:
        cookie += "; remember_token=1.1.made-up|" + "0" * 128
    with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as sock:
        sock.sendall(f"POST /boards/{board_id}/cards/{card_id}/attachments HTTP/1.1\r\nHost: localhost\r\n"
                     f"Content-Type: multipart/form-data; boundary=b\r\nCookie: {cookie}\r\n"
                     f"Content-Length: {15 * 1024 * 1024}\r\n\r\n".encode())
        head = read_response_head(sock)  # not a byte of the body sent
    status = int(head.split()[1])
    assert 300 <= status < 500 and status != 413, head[:200]
    assert front.spooled == 0


def test_a_large_upload_from_a_member_is_read_through_a_file_on_disk(app, serve_app, board):
    board_id, _, card_id = board
    port, front = serve_app()
    cookie, token = logged_in(port, board_id)
    content_type, body = multipart({}, {"files": b"y" * 2_000_000})
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=TIMEOUT)
    connection.request("POST", f"/boards/{board_id}/cards/{card_id}/attachments", body=body,
                       headers={"Content-Type": content_type, "Cookie": cookie, "HX-Request": "true",
                                "X-CSRFToken": token})
    response = connection.getresponse()
    response.read()
    connection.close()
    assert response.status == 200
    with app.app_context():
        assert [row.size for row in db.session.scalars(select(Attachment))] == [2_000_000]
    assert front.spooled == 1


def test_a_body_larger_than_a_form_to_a_page_that_takes_no_files_is_413_before_it_is_sent(app, serve_app, board):
    """A card create from a member, with a 2 MB file in it: the page takes a title, not files."""
    board_id, column_id, _ = board
    port, front = serve_app()
    cookie, token = logged_in(port, board_id)
    content_type, body = multipart({"title": "Big"}, {"extra": b"y" * 2_000_000})
    with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as sock:
        sock.sendall(f"POST /boards/{board_id}/columns/{column_id}/cards HTTP/1.1\r\nHost: localhost\r\n"
                     f"Content-Type: {content_type}\r\nCookie: {cookie}\r\nX-CSRFToken: {token}\r\n"
                     f"HX-Request: true\r\nContent-Length: {len(body)}\r\n\r\n".encode())
        head = read_response_head(sock)  # not a byte of the body sent
    assert head.startswith(b"HTTP/1.1 413"), head[:200]
    assert card_titles(app, column_id) == ["One"] and front.spooled == 0
    # a form of ordinary size from the same member still works
    content_type, body = multipart({"title": "Small"}, {})
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=TIMEOUT)
    connection.request("POST", f"/boards/{board_id}/columns/{column_id}/cards", body=body,
                       headers={"Content-Type": content_type, "Cookie": cookie, "HX-Request": "true",
                                "X-CSRFToken": token})
    assert connection.getresponse().status == 200
    assert card_titles(app, column_id) == ["One", "Small"]


def test_a_refused_body_sent_whole_still_gets_its_answer(serve_app):
    """A client that sends its whole body before it reads (as most do) sees the 413, not a reset,
    and the connection stays open for the next request."""
    port, _ = serve_app()
    content_type, body = multipart({}, {"files": b"z" * 3_000_000})
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=TIMEOUT)
    connection.request("POST", "/login", body=body, headers={"Content-Type": content_type})
    response = connection.getresponse()
    assert response.status == 413 and b"That upload is too large." in response.read()
    connection.request("GET", "/login")
    assert connection.getresponse().status == 200
    connection.close()


@pytest.mark.parametrize("logged_in_too", [False, True])
def test_a_urlencoded_form_over_the_form_memory_limit_is_413_before_it_is_sent(app, serve_app, board, logged_in_too):
    """Werkzeug reads a urlencoded form whole into memory, several copies of it: one larger than
    Flask's MAX_FORM_MEMORY_SIZE (500 kB) is refused from its length, with Flask's own page."""
    board_id, column_id, _ = board
    port, _ = serve_app()
    cookie, token = logged_in(port, board_id) if logged_in_too else ("", "")
    path = f"/boards/{board_id}/columns/{column_id}/cards" if logged_in_too else "/login"
    with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as sock:
        sock.sendall(f"POST {path} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/x-www-form-urlencoded\r\n"
                     f"Cookie: {cookie}\r\nX-CSRFToken: {token}\r\nContent-Length: {15 * 1024 * 1024}\r\n\r\n".encode())
        head = read_response_head(sock)  # not a byte of the body sent
        rest = b""
        while data := sock.recv(65536):
            rest += data
    assert head.startswith(b"HTTP/1.1 413"), head[:200]
    assert b"That upload is too large." in head + rest
    assert card_titles(app, column_id) == ["One"]


# --- where bodies are kept ------------------------------------------------------------------------

@pytest.fixture
def echo(app):
    """A page that tells what Flask was given as the body: its length, where it was kept, its bytes."""
    seen = []

    @app.put("/test/echo")
    @takes_files
    def echo_body():
        from flask import request
        stream = request.environ["wsgi.input"]
        seen.append((request.environ.get("CONTENT_LENGTH"), type(stream).__name__, request.get_data()))
        return "ok"

    csrf.exempt(echo_body)
    return seen


def put_through(front, bodies: list[bytes], chunked=False):
    """Send several PUTs to /test/echo at once through the front, each body in 64 KiB messages."""
    async def one(body):
        messages = [{"type": "http.request", "body": body[i:i + 65536], "more_body": i + 65536 < len(body)}
                    for i in range(0, len(body), 65536)] or [{"type": "http.request", "body": b""}]
        queue = asyncio.Queue()
        for message in messages:
            queue.put_nowait(message)
        headers = [(b"transfer-encoding", b"chunked")] if chunked else [(b"content-length", str(len(body)).encode())]
        scope = {"type": "http", "method": "PUT", "path": "/test/echo", "query_string": b"", "http_version": "1.1",
                 "headers": headers, "root_path": "", "server": ("localhost", 80)}
        sent = []

        async def send(message):
            sent.append(message)
        await front(scope, queue.get, send)
        return sent[0]["status"]

    async def all_of_them():
        return await asyncio.gather(*(one(body) for body in bodies))
    return asyncio.run(all_of_them())


def test_small_bodies_stay_in_memory_and_large_ones_go_to_disk(app, echo):
    front = FlaskInThreads(app, memory_body=512 * 1024, memory_budget=32 * 1024 * 1024)
    small, large = b"a" * 1000, b"b" * (600 * 1024)
    assert put_through(front, [small, large]) == [200, 200]
    assert sorted((length, kind) for length, kind, _ in echo) == [
        ("1000", "BytesIO"), (str(len(large)), "BufferedRandom")]
    assert sorted(content for *_, content in echo) == [small, large]
    assert front.in_memory == 0 and front.spooled == 1


def test_bodies_that_do_not_fit_the_memory_budget_go_to_disk(app, echo):
    front = FlaskInThreads(app, memory_body=512 * 1024, memory_budget=1024 * 1024)
    bodies = [bytes([65 + n]) * (400 * 1024) for n in range(5)]  # 2 MB in all, the budget is 1 MiB
    assert put_through(front, bodies) == [200] * 5
    kinds = [kind for _, kind, _ in echo]
    assert kinds.count("BytesIO") == 2 and kinds.count("BufferedRandom") == 3
    assert sorted(content for *_, content in echo) == bodies
    assert front.in_memory == 0


def test_a_chunked_body_reaches_flask_with_its_length(app, echo):
    front = FlaskInThreads(app)
    body = b"c" * 700_000
    assert put_through(front, [body], chunked=True) == [200]
    assert echo == [(str(len(body)), "BufferedRandom", body)]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(sizes=st.lists(st.integers(min_value=0, max_value=700_000), min_size=1, max_size=5),
       piece=st.integers(min_value=1, max_value=70_000), chunked=st.booleans(),
       memory_body=st.sampled_from([0, 1000, 100_000, 512 * 1024]), budget=st.sampled_from([0, 150_000, 10**9]))
def test_flask_gets_every_body_exactly_whatever_its_pieces_and_the_budgets(app, echo, sizes, piece, chunked,
                                                                          memory_body, budget):
    echo.clear()
    front = FlaskInThreads(app, memory_body=memory_body, memory_budget=budget)
    bodies = [bytes([65 + n % 26]) * size for n, size in enumerate(sizes)]

    async def one(body):
        queue = asyncio.Queue()
        pieces = [body[i:i + piece] for i in range(0, len(body), piece)] or [b""]
        for n, part in enumerate(pieces):
            queue.put_nowait({"type": "http.request", "body": part, "more_body": n < len(pieces) - 1})
        headers = [(b"transfer-encoding", b"chunked")] if chunked else [(b"content-length", str(len(body)).encode())]
        scope = {"type": "http", "method": "PUT", "path": "/test/echo", "query_string": b"", "http_version": "1.1",
                 "headers": headers, "root_path": "", "server": ("localhost", 80)}
        sent = []

        async def send(message):
            sent.append(message)
        await front(scope, queue.get, send)
        return sent[0]["status"]

    async def all_of_them():
        return await asyncio.gather(*(one(body) for body in bodies))
    assert asyncio.run(all_of_them()) == [200] * len(bodies)
    assert sorted(content for *_, content in echo) == sorted(bodies)
    assert sorted(int(length or 0) for length, *_ in echo) == sorted(sizes)
    assert front.in_memory == 0


def test_large_bodies_are_spooled_in_the_configured_folder(app, tmp_path):
    folder = tmp_path / "bodies"
    folder.mkdir()
    app.config["REQUEST_BODY_FOLDER"] = str(folder)
    where = []

    @app.put("/test/where")
    @takes_files
    def where_is_the_body():
        from flask import request
        where.append(os.readlink(f"/proc/self/fd/{request.environ['wsgi.input'].fileno()}"))
        return "ok"

    csrf.exempt(where_is_the_body)
    front = FlaskInThreads(app)

    async def put():
        queue = asyncio.Queue()
        queue.put_nowait({"type": "http.request", "body": b"z" * 600_000})
        scope = {"type": "http", "method": "PUT", "path": "/test/where", "query_string": b"", "http_version": "1.1",
                 "headers": [(b"content-length", b"600000")], "root_path": "", "server": ("localhost", 80)}
        sent = []

        async def send(message):
            sent.append(message)
        await front(scope, queue.get, send)
        return sent[0]["status"]

    assert asyncio.run(put()) == 200
    assert len(where) == 1 and where[0].startswith(str(folder))


def test_a_body_that_cannot_be_kept_on_disk_is_a_503_saying_nothing_was_saved(app, serve_app, board, tmp_path):
    app.config["REQUEST_BODY_FOLDER"] = str(tmp_path / "no-such-folder")  # as good as a full disk
    board_id, _, card_id = board
    port, _ = serve_app()
    cookie, token = logged_in(port, board_id)
    content_type, body = multipart({}, {"files": b"y" * 2_000_000})
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=TIMEOUT)
    connection.request("POST", f"/boards/{board_id}/cards/{card_id}/attachments", body=body,
                       headers={"Content-Type": content_type, "Cookie": cookie, "HX-Request": "true",
                                "X-CSRFToken": token})
    response = connection.getresponse()
    page = response.read().decode()
    assert response.status == 503
    assert "no room for what you sent right now. Nothing was saved" in page
    with app.app_context():
        assert db.session.scalars(select(Attachment)).all() == []
    connection.request("GET", f"/boards/{board_id}", headers={"Cookie": cookie})  # the same connection still works
    assert connection.getresponse().status == 200
    connection.close()


# --- memory under a burst of large posts ----------------------------------------------------------

def test_thirty_anonymous_posts_of_15_mb_leave_memory_bounded(tmp_path):
    """Through a real Hypercorn process: its highest RSS stays far below 30 x 15 MiB."""
    process, url = start_server(tmp_path)
    try:
        result = rss_peak_mb(url, process.pid, posts=30, size_mb=15)
    finally:
        stop_server(process)
    assert None not in result["statuses"], result  # every post was answered
    assert result["rss_peak_mb"] < 300, result
    assert result["rss_after_mb"] < result["rss_start_mb"] + 100, result


def test_twenty_uploads_of_9_mb_from_a_member_leave_memory_bounded(tmp_path):
    """Uploads that are read, parsed and stored: through files on disk, not memory."""
    process, url = start_server(tmp_path)
    try:
        app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'bench.db'}", "SECRET_KEY": "bench-body-memory",
                          "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000"})
        with app.app_context():
            board = make_board(make_user("Ada"), columns={"To do": ["One"]})
            board_id, card_id = board.id, board.columns[0].cards[0].id
        cookie, token = logged_in(int(url.rsplit(":", 1)[1]), board_id)
        result = rss_peak_mb(url, process.pid, posts=20, size_mb=9,
                             targets=[(f"/boards/{board_id}/cards/{card_id}/attachments", MULTIPART)],
                             headers={"Cookie": cookie, "X-CSRFToken": token, "HX-Request": "true"})
    finally:
        stop_server(process)
    assert result["statuses"] == {200: 20}, result
    assert result["rss_peak_mb"] < 300, result
