"""The live board stream, driven directly through its ASGI handler, and through Hypercorn where its socket matters."""
import asyncio
import time

import pytest
from itsdangerous.timed import TimestampSigner

from webapp import live
from webapp.extensions import db
from webapp.live import BoardStreams, MemoryBroker
from webapp.models import BoardMember, User


class Browser:
    """One EventSource: what the handler sends arrives here, frame by frame."""

    def __init__(self, streams, board_id, token, headers=()):
        self.streams = streams
        self.scope = {"type": "http", "method": "GET", "path": f"/boards/{board_id}/events",
                      "query_string": f"token={token}".encode(), "headers": list(headers)}
        self.board_id = board_id
        self.outbox: asyncio.Queue = asyncio.Queue()
        self.inbox: asyncio.Queue = asyncio.Queue()
        self.buffer = ""
        self.status = None

    async def open(self):
        self.task = asyncio.create_task(self.streams(self.scope, self.inbox.get, self.send, self.board_id))
        start = await asyncio.wait_for(self.outbox.get(), 5)
        self.status = start["status"]
        return self

    async def send(self, message):
        """The ASGI send the handler writes to."""
        await self.outbox.put(message)

    async def frame(self, timeout=5.0) -> dict:
        """The next SSE frame, as {"event": ..., "id": ..., "data": ...} (comments skipped)."""
        deadline = time.monotonic() + timeout
        while True:
            while "\n\n" in self.buffer:
                raw, self.buffer = self.buffer.split("\n\n", 1)
                fields = {}
                for line in raw.split("\n"):
                    if line.startswith(":") or not line:
                        continue
                    key, _, value = line.partition(": ")
                    fields[key] = fields[key] + "\n" + value if key == "data" and key in fields else value
                if "event" in fields or "data" in fields:
                    return fields
            message = await asyncio.wait_for(self.outbox.get(), max(0.01, deadline - time.monotonic()))
            self.buffer += message.get("body", b"").decode()

    async def frame_named(self, name, timeout=5.0) -> dict:
        while True:
            frame = await self.frame(timeout)
            if frame.get("event") == name:
                return frame

    async def close(self):
        self.inbox.put_nowait({"type": "http.disconnect"})
        await asyncio.wait_for(self.task, 5)


class SlowBrowser(Browser):
    """An EventSource on a congested connection: while `stall()`ed, every send waits (as
    Hypercorn's does when the socket buffer is full) until `resume()`."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.flowing = asyncio.Event()
        self.flowing.set()
        self.waiting = 0  # sends stuck right now

    def stall(self):
        self.flowing.clear()

    def resume(self):
        self.flowing.set()

    async def send(self, message):
        if not self.flowing.is_set():
            self.waiting += 1
            await self.flowing.wait()
            self.waiting -= 1
        await self.outbox.put(message)


def token_for(app, email, board_id):
    with app.app_context():
        user_id = db.session.scalar(db.select(User.id).where(User.email == email))
        return live.serializer(app.secret_key).dumps([user_id, board_id])


def join_board(app, ada, email, role) -> int:
    """Make the account a member of Ada's board; its user id."""
    with app.app_context():
        user_id = db.session.scalar(db.select(User.id).where(User.email == email))
        db.session.add(BoardMember(board_id=ada.board.id, user_id=user_id, role=role))
        db.session.commit()
        return user_id


def run(app, scenario):
    """Run an async scenario with the app's broker started on this event loop."""
    async def main():
        await app.extensions["live"].start()
        try:
            return await scenario(BoardStreams(app))
        finally:
            await app.extensions["live"].stop()
    return asyncio.run(main())


def test_a_change_reaches_an_open_board(app, ada):
    async def scenario(streams):
        browser = await Browser(streams, ada.board.id, token_for(app, "ada@example.com", ada.board.id)).open()
        assert browser.status == 200
        presence = await browser.frame_named("presence")
        assert 'title="Ada"' in presence["data"]
        await asyncio.to_thread(ada.hx, "POST", f"{ada.board.column_url('Doing')}/cards", {"title": "Live card"})
        frame = await browser.frame_named("board")
        assert frame["id"].isdigit() and frame["data"].startswith("<!--v:")
        assert f'hx-swap-oob="beforeend:#cards-{ada.board.columns["Doing"]}"' in frame["data"]
        assert ">Live card</a>" in frame["data"]
        assert "csrf_token" not in frame["data"] or 'value=""' in frame["data"]
        await browser.close()
        assert not streams.broker._subscribers[ada.board.id]
    run(app, scenario)


def test_every_kind_of_change_is_published(app, ada):
    changes = [
        ("PATCH", f"{ada.board.card_url('One')}/move", {"column_id": ada.board.columns["Done"], "position": 0},
         f'hx-swap-oob="beforeend:#cards-{ada.board.columns["Done"]}"'),
        ("PUT", ada.board.card_url("Two"), {"title": "Two, edited"}, ">Two, edited</a>"),
        ("PATCH", f"{ada.board.card_url('Three')}/archive", {}, f'id="card-{ada.board.cards["Three"]}" hx-swap-oob="delete"'),
        ("PATCH", ada.board.column_url("Doing"), {"title": "In progress"}, ">In progress</a>"),
        ("POST", f"{ada.board.url}/columns/", {"title": "Review"}, 'id="board-columns"'),
        ("PATCH", f"{ada.board.column_url('Done')}/move", {"position": 0}, 'id="board-columns"'),
        ("PATCH", f"{ada.board.column_url('Done')}/wip", {"wip_limit": "3"}, "1/3"),
        ("PATCH", ada.board.url, {"title": "Renamed board"}, ">Renamed board</span>"),
        ("DELETE", ada.board.column_url("To do"), {}, f'id="column-{ada.board.columns["To do"]}" hx-swap-oob="delete"'),
    ]

    async def scenario(streams):
        browser = await Browser(streams, ada.board.id, token_for(app, "ada@example.com", ada.board.id)).open()
        for method, url, data, expected in changes:
            response = await asyncio.to_thread(ada.hx, method, url, data)
            assert response.status_code == 200, (method, url)
            frame = await browser.frame_named("board")
            assert expected in frame["data"], (method, url, frame["data"][:300])
        await browser.close()
    run(app, scenario)


def test_a_rolled_back_change_publishes_nothing(app, ada):
    broker = app.extensions["live"]
    ada.hx("POST", f"{ada.board.column_url('Doing')}/cards", {"title": ""})  # invalid: nothing saved
    ada.hx("PATCH", f"{ada.board.card_url('One')}/move", {"column_id": 999999, "position": 0})  # 404
    assert list(broker._logs.get(ada.board.id, ())) == []
    ada.hx("POST", f"{ada.board.column_url('Doing')}/cards", {"title": "Saved"})
    assert [event.name for event in broker._logs[ada.board.id]] == ["board"]


def test_reconnect_replays_what_was_missed(app, ada):
    broker = app.extensions["live"]
    for title in ("A", "B", "C"):
        ada.hx("POST", f"{ada.board.column_url('Doing')}/cards", {"title": title})
    first_id = broker._logs[ada.board.id][0].id

    async def scenario(streams):
        token = token_for(app, "ada@example.com", ada.board.id)
        browser = await Browser(streams, ada.board.id, token, [(b"last-event-id", str(first_id).encode())]).open()
        replayed = [await browser.frame_named("board"), await browser.frame_named("board")]
        assert [int(frame["id"]) for frame in replayed] == [first_id + 1, first_id + 2]
        assert ">C</a>" in replayed[-1]["data"]
        await browser.close()
    run(app, scenario)


def test_a_gap_too_old_asks_the_page_to_refresh(app, ada):
    app.extensions["live"] = MemoryBroker(log_size=2)
    for title in ("A", "B", "C", "D"):
        ada.hx("POST", f"{ada.board.column_url('Doing')}/cards", {"title": title})

    async def scenario(streams):
        token = token_for(app, "ada@example.com", ada.board.id)
        browser = await Browser(streams, ada.board.id, token, [(b"last-event-id", b"1")]).open()
        assert (await browser.frame())["event"] == "refresh"
        await browser.close()
    run(app, scenario)


@pytest.mark.parametrize("token", ["", "garbage", "expired", "other-board"])
def test_bad_or_expired_token_is_403(app, ada, token, monkeypatch):
    if token == "expired":
        with monkeypatch.context() as patch:
            patch.setattr(TimestampSigner, "get_timestamp", lambda self: int(time.time()) - live.TOKEN_SECONDS - 60)
            token = token_for(app, "ada@example.com", ada.board.id)
    elif token == "other-board":
        token = token_for(app, "ada@example.com", ada.board.id + 1)

    async def scenario(streams):
        browser = await Browser(streams, ada.board.id, token).open()
        body = (await browser.outbox.get())["body"].decode()
        assert browser.status == 403 and "invalid or expired" in body
    run(app, scenario)


def test_non_member_is_404_even_with_a_genuine_token(app, ada, bob):
    async def scenario(streams):
        browser = await Browser(streams, ada.board.id, token_for(app, "bob@example.com", ada.board.id)).open()
        assert browser.status == 404
    run(app, scenario)


def test_presence_shows_who_is_watching_and_who_left(app, ada, bob):
    join_board(app, ada, "bob@example.com", "viewer")

    async def scenario(streams):
        ada_browser = await Browser(streams, ada.board.id, token_for(app, "ada@example.com", ada.board.id)).open()
        await ada_browser.frame_named("presence")
        bob_browser = await Browser(streams, ada.board.id, token_for(app, "bob@example.com", ada.board.id)).open()
        both = await ada_browser.frame_named("presence")
        assert 'title="Ada"' in both["data"] and 'title="Bob"' in both["data"]
        await bob_browser.close()
        left = await ada_browser.frame_named("presence")
        assert 'title="Bob"' not in left["data"] and 'title="Ada"' in left["data"]
        await ada_browser.close()
    run(app, scenario)


def test_a_removed_member_loses_the_stream_at_once(app, ada, bob):
    bob_id = join_board(app, ada, "bob@example.com", "editor")

    async def scenario(streams):
        ada_browser = await Browser(streams, ada.board.id, token_for(app, "ada@example.com", ada.board.id)).open()
        bob_browser = await Browser(streams, ada.board.id, token_for(app, "bob@example.com", ada.board.id)).open()
        live.MemoryBroker.publish(streams.broker, ada.board.id, "revoke", user_id=bob_id)
        assert (await bob_browser.frame_named("revoked"))["event"] == "revoked"
        await asyncio.wait_for(bob_browser.task, 5)  # the stream ended by itself
        await ada_browser.close()
    run(app, scenario)


def test_a_slow_browser_delays_nobody_and_gets_every_event_in_order(app, ada, bob):
    join_board(app, ada, "bob@example.com", "viewer")

    async def scenario(streams):
        broker = streams.broker
        fast = await Browser(streams, ada.board.id, token_for(app, "ada@example.com", ada.board.id)).open()
        await fast.frame_named("presence")
        slow = await SlowBrowser(streams, ada.board.id, token_for(app, "bob@example.com", ada.board.id)).open()
        await slow.frame_named("presence")
        await fast.frame_named("presence")  # the update that names Bob too

        slow.stall()
        published = [broker.publish(ada.board.id, "board", f"change {n}").id for n in range(3)]
        assert [int((await fast.frame_named("board"))["id"]) for _ in published] == published
        assert slow.waiting == 1 and slow.outbox.empty()  # the first send waits; the rest are queued behind it

        published.append(broker.publish(ada.board.id, "board", "while still stuck").id)
        assert int((await fast.frame_named("board"))["id"]) == published[-1]

        slow.resume()
        frames = [await slow.frame_named("board") for _ in published]
        assert [int(frame["id"]) for frame in frames] == published
        assert [frame["data"] for frame in frames] == ["change 0", "change 1", "change 2", "while still stuck"]

        # Caught up, it is written to directly again, and still ends when it should.
        published.append(broker.publish(ada.board.id, "board", "after").id)
        assert (await slow.frame_named("board"))["data"] == "after"
        await slow.close()
        await fast.close()
        assert streams.open_streams == 0
    run(app, scenario)


def test_a_slow_browser_that_is_revoked_gets_what_came_first(app, ada, bob):
    bob_id = join_board(app, ada, "bob@example.com", "editor")

    async def scenario(streams):
        broker = streams.broker
        slow = await SlowBrowser(streams, ada.board.id, token_for(app, "bob@example.com", ada.board.id)).open()
        await slow.frame_named("presence")
        slow.stall()
        broker.publish(ada.board.id, "board", "before")
        broker.publish(ada.board.id, "revoke", user_id=bob_id)
        broker.publish(ada.board.id, "board", "after")
        slow.resume()
        assert (await slow.frame_named("board"))["data"] == "before"
        assert (await slow.frame())["event"] == "revoked"
        await asyncio.wait_for(slow.task, 5)
        rest = [slow.outbox.get_nowait().get("body", b"") for _ in range(slow.outbox.qsize())]
        assert "after" not in slow.buffer and not any(b"after" in body for body in rest)
    run(app, scenario)


def test_a_browser_that_stops_reading_is_dropped_not_buffered_forever(app, ada, bob, monkeypatch):
    """Its backlog is capped: past the limit the stream ends (the connection closes), and the
    browser, once it reads again, reconnects and catches up from the board's log."""
    monkeypatch.setattr(live.subscriber, "BACKLOG_LIMIT", 5)
    join_board(app, ada, "bob@example.com", "viewer")

    async def scenario(streams):
        broker = streams.broker
        fast = await Browser(streams, ada.board.id, token_for(app, "ada@example.com", ada.board.id)).open()
        slow = await SlowBrowser(streams, ada.board.id, token_for(app, "bob@example.com", ada.board.id)).open()
        await slow.frame_named("presence")
        slow.stall()
        published = [broker.publish(ada.board.id, "board", f"change {n}").id for n in range(5)]
        await asyncio.sleep(0.05)
        assert not slow.task.done()  # one send waiting, four behind it: within the limit
        published += [broker.publish(ada.board.id, "board", f"change {n}").id for n in range(5, 7)]
        await asyncio.wait_for(slow.task, 5)  # dropped
        assert streams.open_streams == 1
        assert not any(message.get("more_body") is False for message in drain(slow.outbox))  # left unfinished
        assert [int((await fast.frame_named("board"))["id"]) for _ in published] == published
        await fast.close()
    run(app, scenario)


def drain(queue: asyncio.Queue) -> list:
    return [queue.get_nowait() for _ in range(queue.qsize())]


def test_shutdown_ends_open_streams(app, ada):
    async def scenario(streams):
        browser = await Browser(streams, ada.board.id, token_for(app, "ada@example.com", ada.board.id)).open()
        await streams.broker.stop()
        await asyncio.wait_for(browser.task, 5)
        assert streams.open_streams == 0
    run(app, scenario)


def test_stale_edit_names_who_changed_the_card(app, ada, bob):
    join_board(app, ada, "bob@example.com", "editor")
    bob.hx("PUT", ada.board.card_url("One"), {"title": "Bob's title", "version": "1"})
    response = ada.hx("PUT", ada.board.card_url("One"), {"title": "Ada's title", "version": "1"})
    assert response.status_code == 409
    html = response.get_data(as_text=True)
    assert "Bob changed this card" in html and "Bob&#39;s title" in html


def test_concurrent_moves_end_in_the_same_order_everywhere(app, ada, bob):
    """Two members reorder one column at once: what the live updates leave on screen (the
    newest version wins, as static/app.js applies them) is the order a reload shows."""
    import re
    import threading

    join_board(app, ada, "bob@example.com", "editor")
    column = ada.board.columns["To do"]
    moves = [(ada, "One", 2), (bob, "Three", 0), (ada, "Two", 0), (bob, "One", 0), (ada, "Three", 2)]

    async def scenario(streams):
        browser = await Browser(streams, ada.board.id, token_for(app, "ada@example.com", ada.board.id)).open()

        def move(client, title, position):
            response = client.hx("PATCH", f"{ada.board.card_url(title)}/move",
                                 {"column_id": column, "position": position})
            statuses.append(response.status_code)

        statuses = []

        threads = [threading.Thread(target=move, args=args) for args in moves]
        for thread in threads:
            thread.start()
        await asyncio.to_thread(lambda: [thread.join() for thread in threads])
        assert statuses == [200] * len(moves)
        shown, newest = [str(ada.board.cards[title]) for title in ("One", "Two", "Three")], -1
        for _ in moves:
            frame = await browser.frame_named("board")
            version = int(re.match(r"<!--v:(\d+)-->", frame["data"]).group(1))
            if version >= newest:  # each frame places one card: delete it, insert it before its successor
                newest = version
                moved = re.search(r'<li id="card-(\d+)" hx-swap-oob="delete">', frame["data"]).group(1)
                shown.remove(moved)
                before = re.search(r'hx-swap-oob="beforebegin:#card-(\d+)"', frame["data"])
                shown.insert(shown.index(before.group(1)) if before else len(shown), moved)
        await browser.close()
        return [int(card_id) for card_id in shown]

    on_screen = run(app, scenario)
    reloaded = ada.get(ada.board.url).get_data(as_text=True)
    after_reload = [int(card_id) for card_id in re.findall(
        r'<li id="card-(\d+)"', reloaded.split(f'id="cards-{column}"', 1)[1].split("</ol>", 1)[0])]
    assert on_screen == after_reload and len(after_reload) == 3


def test_a_browser_stuck_on_a_quiet_board_is_dropped_at_a_ping(app, ada, bob, monkeypatch):
    """No events pile up on a quiet board, so the backlog limit never trips: a send that has
    waited too long ends the stream at the next ping, instead of holding it open for good."""
    monkeypatch.setattr(live.subscriber, "STUCK_SECONDS", 0.1)
    join_board(app, ada, "bob@example.com", "viewer")

    async def scenario(streams):
        slow = await SlowBrowser(streams, ada.board.id, token_for(app, "bob@example.com", ada.board.id)).open()
        await slow.frame_named("presence")
        slow.stall()
        streams.broker.publish(ada.board.id, "board", "one change")  # its send waits
        await asyncio.sleep(0.2)
        streams._ping_all()
        await asyncio.wait_for(slow.task, 5)  # dropped
        assert streams.open_streams == 0
    run(app, scenario)


def test_a_stream_is_not_sent_a_presence_list_it_already_shows(app, ada):
    """With Redis every worker announces who is here; a list a stream already shows is not sent again."""
    async def scenario(streams):
        browser = await Browser(streams, ada.board.id, token_for(app, "ada@example.com", ada.board.id)).open()
        shown = (await browser.frame_named("presence"))["data"]
        await streams.broker.announce(ada.board.id, shown)
        streams.broker.publish(ada.board.id, "board", "next")
        assert (await browser.frame())["event"] == "board"  # no second, identical presence frame first
        await streams.broker.announce(ada.board.id, shown.replace("Ada", "Ada and Bob"))
        assert "Ada and Bob" in (await browser.frame_named("presence"))["data"]
        await browser.close()
    run(app, scenario)


# Under Hypercorn a live stream writes its frames straight to the socket while nothing waits in
# the socket's buffer, and through Hypercorn's send (which waits for the browser) once something does.

@pytest.fixture
def hypercorn_port(app):
    """The app served by a real Hypercorn, on a thread of its own (tests/test_asgi.py)."""
    import socket
    import threading

    from hypercorn.asyncio import serve
    from hypercorn.config import Config

    from webapp.asgi import CorkboardASGI

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    config = Config()
    config.bind = [f"127.0.0.1:{port}"]
    config.loglevel = "WARNING"
    loop = asyncio.new_event_loop()
    stop = asyncio.Event()

    async def main():
        await app.extensions["live"].start()  # (the lifespan would, but it sets signal handlers: main thread only)
        await serve(CorkboardASGI(app), config, shutdown_trigger=stop.wait)

    thread = threading.Thread(target=loop.run_until_complete, args=(main(),), daemon=True)
    thread.start()
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
            break
        except OSError:
            time.sleep(0.05)
    yield port
    loop.call_soon_threadsafe(stop.set)
    thread.join(5)


def read_until(sock, raw: bytes, done) -> bytes:
    sock.settimeout(10)
    while not done(raw):
        data = sock.recv(1 << 20)
        assert data, "the stream closed"
        raw += data
    return raw


def dechunk(body: bytes) -> tuple[bytes, bytes]:
    """A chunked HTTP/1.1 body, decoded strictly (every chunk's size matches its bytes); what
    follows the last whole chunk is returned apart."""
    out, pos = [], 0
    while True:
        end = body.find(b"\r\n", pos)
        if end < 0:
            return b"".join(out), body[pos:]
        size = int(body[pos:end], 16)
        if end + 4 + size > len(body):
            return b"".join(out), body[pos:]
        assert size and body[end + 2 + size:end + 4 + size] == b"\r\n"
        out.append(body[end + 2:end + 2 + size])
        pos = end + 4 + size


def test_a_browser_that_stalls_gets_every_event_in_order_in_well_formed_chunks(app, ada, hypercorn_port,
                                                                               monkeypatch):
    import socket

    from tests.sse import parse_event_stream

    waited = []
    start_send = live.subscriber.start_send
    monkeypatch.setattr(live.subscriber, "start_send", lambda *args: waited.append(1) or start_send(*args))
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", hypercorn_port))
    token = token_for(app, "ada@example.com", ada.board.id)
    sock.sendall(f"GET /boards/{ada.board.id}/events?token={token} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
    try:
        raw = read_until(sock, b"", lambda raw: b"event: presence" in raw)
        # The browser stops reading while more comes than the sockets hold (the server's send
        # buffer grows to 4 MiB), though less than its backlog limit.
        broker = app.extensions["live"]
        changes = [f"change {n:03d} {'x' * 50_000} end {n:03d}" for n in range(150)]
        ids = [broker.publish(ada.board.id, "board", change).id for change in changes]
        time.sleep(0.5)
        assert waited  # the socket filled up: the later frames went through Hypercorn's send
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)  # reads again, and faster
        raw = read_until(sock, raw, lambda raw: raw.endswith(b"end 149\n\n\r\n"))
    finally:
        sock.close()
    head, _, body = raw.partition(b"\r\n\r\n")
    assert b"transfer-encoding: chunked" in head.lower()
    decoded, rest = dechunk(body)
    assert rest == b""
    events = [event for event in parse_event_stream(decoded.decode()) if event["event"] == "board"]
    assert [event["data"] for event in events] == changes  # each once, in order
    assert [int(event["id"]) for event in events] == ids
