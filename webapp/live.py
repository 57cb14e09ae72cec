"""Live boards: every change reaches every open board over Server-Sent Events.

Flask views publish after their transaction commits (`publish_board`); the ASGI front
serves `/boards/<id>/events` natively (`stream`), so thousands of open streams hold no
thread. A broker carries events between them: in-process by default, Redis pub/sub when
REDIS_URL is set, so several Hypercorn workers or machines share every event.

Events carry ids. Each board keeps a bounded log; a browser that reconnects sends
Last-Event-ID and gets what it missed, or a "refresh" event when the gap is too old.
"""
import asyncio
import json
import logging
import os
import threading
import time
import types
from collections import defaultdict, deque
from dataclasses import dataclass, field
from urllib.parse import parse_qs

from flask import current_app, render_template
from itsdangerous import BadSignature, URLSafeTimedSerializer
from markupsafe import escape
from sqlalchemy import bindparam, select

from .extensions import db
from .models import BoardMember, User
from .pagecache import RenderedCache, board_version, render_with_placeholder_token

log = logging.getLogger(__name__)

LOG_SIZE = 500  # events kept per board for reconnecting browsers
PING_SECONDS = 15
PRESENCE_DELAY = 0.25  # joins and leaves within this time make one presence update
TOKEN_SECONDS = 15 * 60  # a stream token opens a stream for this long; the stream sends fresh ones
TOKEN_SALT = "corkboard-board-stream"
CLOSED = object()  # the stream ends (the browser left, or the server is stopping)
PING = object()  # delivered to every stream by one timer per process, not a timer per stream
PRESENCE_SHOWN = 12  # people listed by name in a presence update; the rest are counted
# Events a stream may fall behind a send that waits (a browser that stopped reading) before it
# is dropped; once the browser reads again it reconnects and catches up from the board's log.
BACKLOG_LIMIT = 200
DROPPED = object()  # how a dropped stream ends: the connection closes, the response unfinished
# Who opens a stream: their name, if they are a member of the board. Built once, run per stream.
MEMBER_NAME = (select(User.name).join(BoardMember, BoardMember.user_id == User.id)
               .where(BoardMember.board_id == bindparam("board_id"), User.id == bindparam("user_id")))


@dataclass(slots=True)
class Event:
    id: int  # 0 for events that are not kept for replay (presence)
    board_id: int
    name: str  # "board" (HTML swaps), "presence", "refresh", "revoke"
    data: str = ""
    user_id: int | None = None  # for "revoke": whose stream ends
    _frame: bytes | None = field(default=None, repr=False)
    _message: dict | None = field(default=None, repr=False)

    @property
    def frame(self) -> bytes:
        """The SSE frame, encoded once and sent to every subscriber."""
        if self._frame is None:
            lines = "".join(f"data: {line}\n" for line in (self.data or "").split("\n"))
            event_id = f"id: {self.id}\n" if self.id else ""
            self._frame = f"{event_id}event: {self.name}\n{lines}\n".encode()
        return self._frame

    @property
    def message(self) -> dict:
        """The ASGI message carrying the frame: one dict for every subscriber (senders only read it)."""
        if self._message is None:
            self._message = body_message(self.frame)
        return self._message


class Subscriber:
    """One open stream: who is watching, and the way to their browser.

    The broker hands each event to `deliver`, on the event loop, and the stream writes it there
    and then. Sending a small frame almost never has to wait (the socket's buffer has room), so
    an event reaches a thousand streams in a thousand sends, with no queue and no task wake-up
    per stream. A send that does have to wait (a slow client whose buffer is full) is finished by
    a task of its own; the stream's later events wait behind it, in order, and no other stream
    waits at all.
    """

    __slots__ = ("board_id", "user_id", "name", "last_id", "secret_key", "send", "backlog", "busy",
                 "closing", "ended", "writer", "token_due")

    def __init__(self, board_id: int, user_id: int, name: str, last_id: int | None, secret_key: str = ""):
        self.board_id = board_id
        self.user_id = user_id
        self.name = name
        self.last_id = last_id
        self.secret_key = secret_key  # to mint fresh stream tokens
        self.send = None  # the ASGI send, once the stream is live
        self.backlog: deque = deque()  # events waiting for the stream to go live or a slow send to finish
        self.busy = True  # not live yet, or a send is still in progress: new events join the backlog
        self.closing = False  # nothing more is sent; `ended` resolves once what came before is written
        loop = asyncio.get_running_loop()
        self.ended: asyncio.Future = loop.create_future()
        self.writer: asyncio.Task | None = None  # finishing a send that had to wait
        self.token_due = loop.time() + TOKEN_SECONDS / 3

    def deliver(self, event) -> None:
        """Send the event to this stream now, or after what is still being sent."""
        if self.closing:
            return
        if self.busy:
            if self.send is not None and len(self.backlog) >= BACKLOG_LIMIT:
                self.backlog.clear()
                self.stop()
                self._end(result=DROPPED)
                return
            self.backlog.append(event)
            return
        message = self._message_for(event)
        if message is not None:
            try:
                unfinished = start_send(self.send, message)
            except Exception as error:  # the server refused the frame: end this stream, not the others
                self._end(error)
                return
            if unfinished is not None:
                self.busy = True
                self.writer = asyncio.ensure_future(self._catch_up(unfinished))
                return
        if self.closing:
            self._end()

    async def go_live(self, send) -> None:
        """From now on, `deliver` writes to `send`: first what arrived while the stream was starting."""
        self.send = send
        await self._catch_up()

    async def _catch_up(self, unfinished=None) -> None:
        """Finish a send that had to wait, then send the backlog; then `deliver` sends directly again."""
        try:
            if unfinished is not None:
                await unfinished
            while self.backlog and not self.closing:
                message = self._message_for(self.backlog.popleft())
                if message is not None:
                    await self.send(message)
        except Exception as error:
            self._end(error)
        finally:
            self.busy = False
            self.writer = None
        if self.closing:
            self._end()

    def _message_for(self, event) -> dict | None:
        """What a live event means for this stream: a message to send, or None. A stream that
        must end after this message is marked `closing`."""
        if event is PING:
            if loop_time() < self.token_due:
                return PING_MESSAGE
            self.token_due = loop_time() + TOKEN_SECONDS / 3  # keep the page's reconnect link fresh
            token = serializer(self.secret_key).dumps([self.user_id, self.board_id])
            return body_message(PING_FRAME + f"event: token\ndata: {token}\n\n".encode())
        if event is CLOSED:
            self.closing = True
            return None
        if event.name == "revoke":
            if event.user_id != self.user_id:
                return None
            self.closing = True
            return REVOKED_MESSAGE
        return event.message if self.is_new(event) else None

    def is_new(self, event: Event) -> bool:
        """False for an event this stream has already sent (replayed, then delivered)."""
        if event.id:
            if self.last_id is not None and event.id <= self.last_id:
                return False
            self.last_id = event.id
        return True

    def _end(self, error: Exception | None = None, result=None) -> None:
        self.closing = True
        if not self.ended.done():
            if error is None:
                self.ended.set_result(result)
            else:
                self.ended.set_exception(error)

    def stop(self) -> None:
        """The stream is over: deliver nothing more, abandon a send still waiting."""
        self.closing = True
        if self.writer is not None:
            self.writer.cancel()


def start_send(send, message: dict):
    """Run `send(message)` here, without a task. Returns None when it completed at once (the
    usual case: Hypercorn writes to the socket and only waits when the buffer is full), or else
    an awaitable that finishes it. `send` is a coroutine function, as Hypercorn's is."""
    sending = send(message)
    try:
        waiting_for = sending.send(None)
    except StopIteration:
        return None
    return finish(sending, waiting_for)


@types.coroutine
def finish(coroutine, waiting_for):
    """The rest of a coroutine that stopped at `waiting_for` while being run by hand: whatever
    it waits on goes to the task awaiting this (as if the coroutine had been awaited from the
    start), and what the task sends or throws back goes to the coroutine."""
    while True:
        try:
            try:
                outcome = yield waiting_for
            except GeneratorExit:
                coroutine.close()
                raise
            except BaseException as error:  # e.g. the task was cancelled: the send cleans up
                waiting_for = coroutine.throw(error)
            else:
                waiting_for = coroutine.send(outcome)
        except StopIteration as done:  # the coroutine returned (caught here, not leaked: PEP 479)
            return done.value


class MemoryBroker:
    """Events within one process. Thread-safe publish; delivery on the event loop."""

    kind = "memory"

    def __init__(self, log_size: int = LOG_SIZE):
        self._lock = threading.Lock()
        self._logs: dict[int, deque] = defaultdict(lambda: deque(maxlen=log_size))
        self._last_id: dict[int, int] = defaultdict(int)
        self._subscribers: dict[int, set] = defaultdict(set)
        self._presence: dict[int, dict[int, list]] = defaultdict(dict)  # board -> user -> [name, streams]
        self.loop: asyncio.AbstractEventLoop | None = None

    async def start(self) -> None:
        self.loop = asyncio.get_running_loop()

    async def stop(self) -> None:
        for subscribers in list(self._subscribers.values()):
            for subscriber in list(subscribers):
                subscriber.deliver(CLOSED)

    def publish(self, board_id: int, name: str, data: str = "", user_id: int | None = None) -> Event:
        with self._lock:
            self._last_id[board_id] += 1
            event = Event(self._last_id[board_id], board_id, name, data, user_id)
            self._logs[board_id].append(event)
        self._schedule(event)
        return event

    def _schedule(self, event: Event) -> None:
        if self.loop is None or self.loop.is_closed():
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is self.loop:
            self._deliver(event)
        else:
            self.loop.call_soon_threadsafe(self._deliver, event)

    def _deliver(self, event: Event) -> None:
        for subscriber in list(self._subscribers.get(event.board_id, ())):
            subscriber.deliver(event)

    async def subscribe(self, subscriber: Subscriber) -> list | None:
        """Register, and return the events missed since `subscriber.last_id` (None: too many)."""
        with self._lock:
            self._subscribers[subscriber.board_id].add(subscriber)
            return missed(list(self._logs.get(subscriber.board_id, ())), subscriber.last_id,
                          self._last_id.get(subscriber.board_id, 0))

    async def unsubscribe(self, subscriber: Subscriber) -> None:
        self._subscribers[subscriber.board_id].discard(subscriber)

    async def join(self, subscriber: Subscriber) -> None:
        watchers = self._presence[subscriber.board_id]
        watchers.setdefault(subscriber.user_id, [subscriber.name, 0])[1] += 1

    async def leave(self, subscriber: Subscriber) -> None:
        watchers = self._presence[subscriber.board_id]
        entry = watchers.get(subscriber.user_id)
        if entry:
            entry[1] -= 1
            if entry[1] <= 0:
                del watchers[subscriber.user_id]

    async def present(self, board_id: int) -> list[tuple[int, str]]:
        return present(self._presence[board_id])

    async def announce(self, board_id: int, data: str) -> None:
        """Send an event that is not kept for replay (who is here changes; old news is useless)."""
        self._deliver(Event(0, board_id, "presence", data))


def present(watchers: dict) -> list[tuple[int, str]]:
    return sorted(((user_id, entry[0]) for user_id, entry in watchers.items()), key=lambda item: item[1].lower())


def missed(events: list, last_id: int | None, newest_id: int) -> list | None:
    """Events after `last_id`, or None when the log no longer reaches back that far."""
    if last_id is None or last_id >= newest_id:
        return []
    if not events or events[0].id > last_id + 1:
        return None
    return [event for event in events if event.id > last_id]


# Publish atomically: number the event, keep it in the board's log, tell every process.
PUBLISH_SCRIPT = """
local id = redis.call('INCR', KEYS[1])
local message = id .. ' ' .. ARGV[1]
redis.call('RPUSH', KEYS[2], message)
redis.call('LTRIM', KEYS[2], -tonumber(ARGV[2]), -1)
redis.call('PUBLISH', KEYS[3], message)
return id
"""


class RedisBroker(MemoryBroker):
    """Events through Redis pub/sub, shared by every process; the log and presence live in Redis."""

    kind = "redis"

    def __init__(self, url: str, log_size: int = LOG_SIZE, prefix: str = "corkboard"):
        super().__init__(log_size)
        import redis
        self.prefix = f"{prefix}:board:"
        self.url = url
        self.log_size = log_size
        self.sync = redis.Redis.from_url(url)
        self._script = self.sync.register_script(PUBLISH_SCRIPT)
        self._reader: asyncio.Task | None = None
        self._client = None

    def _keys(self, board_id: int) -> list[str]:
        base = f"{self.prefix}{board_id}"
        return [f"{base}:seq", f"{base}:log", f"{base}:events"]

    async def start(self) -> None:
        import redis.asyncio
        await super().start()
        # Many streams open at once: wait for a connection rather than fail.
        pool = redis.asyncio.BlockingConnectionPool.from_url(self.url, max_connections=50, timeout=10)
        self._client = redis.asyncio.Redis(connection_pool=pool)
        pubsub = self._client.pubsub(ignore_subscribe_messages=True)
        await pubsub.psubscribe(f"{self.prefix}*:events")
        self._reader = asyncio.create_task(self._read(pubsub))

    async def stop(self) -> None:
        await super().stop()
        if self._reader:
            self._reader.cancel()
        if self._client:
            await self._client.aclose()

    async def _read(self, pubsub) -> None:
        while True:
            try:
                async for message in pubsub.listen():
                    if message["type"] != "pmessage":
                        continue
                    board_id = int(message["channel"].decode()[len(self.prefix):].split(":")[0])
                    self._deliver(parse_message(board_id, message["data"]))
            except asyncio.CancelledError:
                raise
            except Exception:  # Redis went away: keep trying; browsers replay what they missed
                log.exception("Live updates: Redis subscription lost; retrying")
                await asyncio.sleep(1)

    def publish(self, board_id: int, name: str, data: str = "", user_id: int | None = None) -> Event:
        body = json.dumps({"name": name, "data": data, "user_id": user_id})
        event_id = self._script(keys=self._keys(board_id), args=[body, self.log_size])
        return Event(int(event_id), board_id, name, data, user_id)

    async def announce(self, board_id: int, data: str) -> None:
        body = json.dumps({"name": "presence", "data": data, "user_id": None})
        await self._client.publish(self._keys(board_id)[2], f"0 {body}")

    async def subscribe(self, subscriber: Subscriber) -> list | None:
        self._subscribers[subscriber.board_id].add(subscriber)
        last_id = subscriber.last_id
        if last_id is None:
            return []  # a fresh page: nothing to catch up on
        seq, log_key, _ = self._keys(subscriber.board_id)
        newest = int(await self._client.get(seq) or 0)
        if last_id >= newest:
            return []
        if newest - last_id > self.log_size:
            return None
        messages = await self._client.lrange(log_key, -(newest - last_id), -1)  # just the tail
        events = [parse_message(subscriber.board_id, message) for message in messages]
        return missed(events, last_id, newest)

    async def join(self, subscriber: Subscriber) -> None:
        key = f"{self.prefix}{subscriber.board_id}:presence"
        await self._client.hset(f"{key}:names", str(subscriber.user_id), subscriber.name)
        await self._client.hincrby(key, str(subscriber.user_id), 1)

    async def leave(self, subscriber: Subscriber) -> None:
        key = f"{self.prefix}{subscriber.board_id}:presence"
        if await self._client.hincrby(key, str(subscriber.user_id), -1) <= 0:
            await self._client.hdel(key, str(subscriber.user_id))

    async def present(self, board_id: int) -> list[tuple[int, str]]:
        key = f"{self.prefix}{board_id}:presence"
        counts = await self._client.hgetall(key)
        names = await self._client.hgetall(f"{key}:names")
        watchers = {int(user): [names.get(user, b"?").decode(), int(count)] for user, count in counts.items()
                    if int(count) > 0}
        return present(watchers)


def parse_message(board_id: int, message: bytes) -> Event:
    event_id, body = message.decode().split(" ", 1)
    fields = json.loads(body)
    return Event(int(event_id), board_id, fields["name"], fields["data"], fields.get("user_id"))


def init_app(app) -> None:
    url = app.config.get("REDIS_URL", os.environ.get("REDIS_URL"))
    prefix = app.config.get("REDIS_PREFIX", os.environ.get("REDIS_PREFIX", "corkboard"))
    app.extensions["live"] = RedisBroker(url, prefix=prefix) if url else MemoryBroker()


def broker():
    return current_app.extensions["live"]


# Publishing, from Flask views, after the transaction has committed.

def publish_board(board_id: int, template: str, **context) -> str:
    """Render `template` once, for everyone, send it to every open stream of the board, and
    return it (the author's own response can be the same fragment).

    Call it after the change has committed. The fragment is rendered without CSRF tokens
    (browsers send theirs as a header) and stamped with the board's version, read before
    rendering, so that a browser never replaces a newer state with an older one."""
    version = board_version(board_id)
    html = render_with_placeholder_token(lambda: render_template(template, **context), token="")
    broker().publish(board_id, "board", f"<!--v:{version}-->\n{html}")
    return html


def refresh_board(board_id: int) -> None:
    """Ask every open board to reload its columns (a change touching many cards)."""
    broker().publish(board_id, "refresh")


def revoke(board_id: int, user_id: int) -> None:
    """End the user's open streams of the board at once (they were removed from it)."""
    broker().publish(board_id, "revoke", user_id=user_id)


# Tokens: minted by the board page for one user and one board.

def serializer(secret_key: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret_key, salt=TOKEN_SALT)


def stream_token(user_id: int, board_id: int) -> str:
    """A token that opens the board's stream for the user, for TOKEN_SECONDS. Signing is a
    measurable part of serving a board page, so one token serves a user and board for a minute."""
    key = (current_app.secret_key, user_id, board_id)
    minted = _minted_tokens.get(key)
    if minted is None or time.monotonic() - minted[0] > 60:
        minted = (time.monotonic(), serializer(current_app.secret_key).dumps([user_id, board_id]))
        _minted_tokens.put(key, minted)
    return minted[1]


_minted_tokens = RenderedCache(4096)


def read_token(secret_key: str, token: str, board_id: int) -> int | None:
    """The user id the token was minted for, if it is genuine, fresh and for this board."""
    try:
        user_id, token_board = serializer(secret_key).loads(token, max_age=TOKEN_SECONDS)
    except (BadSignature, ValueError, TypeError):
        return None
    return user_id if token_board == board_id else None


# The stream itself: an ASGI handler, one coroutine per open board.

class BoardStreams:
    """Serves `/boards/<id>/events` for the ASGI front."""

    def __init__(self, flask_app):
        self.app = flask_app
        self.secret_key = flask_app.secret_key
        self.open_streams = 0
        self._streams: set[Subscriber] = set()
        self._pinger: asyncio.TimerHandle | None = None
        self._presence_due: set[int] = set()
        self._presence_sent: dict[int, str] = {}
        self._newcomers: dict[int, set[Subscriber]] = {}

    @property
    def broker(self):
        return self.app.extensions["live"]

    async def __call__(self, scope, receive, send, board_id: int) -> None:
        query = parse_qs(scope.get("query_string", b"").decode())
        user_id = read_token(self.secret_key, query.get("token", [""])[0], board_id)
        if user_id is None:
            return await plain(send, 403, "This live-update link is invalid or expired. Reload the page.")
        loop = asyncio.get_running_loop()
        name = await loop.run_in_executor(None, self._member_name, user_id, board_id)
        if name is None:
            return await plain(send, 404, "No such board.")
        subscriber = Subscriber(board_id, user_id, name, last_event_id(scope, query), self.secret_key)
        self.open_streams += 1
        self._streams.add(subscriber)
        self._start_pings()
        watcher = asyncio.ensure_future(self._watch_disconnect(receive, subscriber))
        try:
            missed_events = await self.broker.subscribe(subscriber)
            await send({"type": "http.response.start", "status": 200, "headers": [
                (b"content-type", b"text/event-stream; charset=utf-8"),
                (b"cache-control", b"no-cache"),
                (b"x-accel-buffering", b"no"),
            ]})
            await send_bytes(send, b"retry: 2000\n: connected\n\n")
            if missed_events is None:
                await send_bytes(send, b"event: refresh\ndata: \n\n")
            else:
                for event in missed_events:
                    if subscriber.is_new(event):
                        await send(event.message)
            await self.broker.join(subscriber)
            self._newcomers.setdefault(board_id, set()).add(subscriber)
            self._announce_soon(board_id)
            await subscriber.go_live(send)
            # Revoked, disconnected or shut down (see Subscriber.deliver): end the response. A
            # dropped stream returns with it unfinished, so the server closes the connection.
            if await subscriber.ended is not DROPPED:
                await send({"type": "http.response.body", "body": b"", "more_body": False})
        finally:
            subscriber.stop()
            watcher.cancel()
            self.open_streams -= 1
            self._streams.discard(subscriber)
            await self.broker.unsubscribe(subscriber)
            try:
                await self.broker.leave(subscriber)
                self._announce_soon(board_id)
            except Exception:  # the broker is shutting down
                pass

    async def _watch_disconnect(self, receive, subscriber: Subscriber) -> None:
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                subscriber.deliver(CLOSED)
                return

    def _start_pings(self) -> None:
        """Every PING_SECONDS, a comment on every open stream keeps proxies from closing it."""
        if self._pinger is None:
            self._pinger = asyncio.get_running_loop().call_later(PING_SECONDS, self._ping_all)

    def _ping_all(self) -> None:
        self._pinger = None
        for subscriber in list(self._streams):
            subscriber.deliver(PING)
        if self._streams:
            self._start_pings()

    def _announce_soon(self, board_id: int) -> None:
        """Tell the board who is looking at it, once for all the joins and leaves of a moment:
        a thousand browsers opening the board make a few updates, not a thousand."""
        if board_id not in self._presence_due:
            self._presence_due.add(board_id)
            asyncio.get_running_loop().call_later(
                PRESENCE_DELAY, lambda: asyncio.ensure_future(self._announce(board_id)))

    async def _announce(self, board_id: int) -> None:
        self._presence_due.discard(board_id)
        try:
            html = presence_html(await self.broker.present(board_id))
            newcomers = self._newcomers.pop(board_id, set())
            # (Within one process only: with Redis, another process may have announced since.)
            if self.broker.kind == "memory" and self._presence_sent.get(board_id) == html:
                # Nobody came or went (a second tab, say): only the new streams need the list.
                event = Event(0, board_id, "presence", html)
                for subscriber in newcomers:
                    subscriber.deliver(event)
                return
            self._presence_sent[board_id] = html
            await self.broker.announce(board_id, html)
        except Exception:  # a presence update is not worth a crash (e.g. the broker is stopping)
            log.debug("Presence update for board %s skipped", board_id, exc_info=True)

    def _member_name(self, user_id: int, board_id: int) -> str | None:
        with self.app.app_context(), db.engine.connect() as connection:  # no ORM session for one value
            return connection.scalar(MEMBER_NAME, {"board_id": board_id, "user_id": user_id})


def presence_html(watchers: list[tuple[int, str]]) -> str:
    """Who is viewing the board: the first few by their initials, then how many more."""
    items = "".join(f'<li title="{escape(name)}">{escape(initials(name))}</li>'
                    for _, name in watchers[:PRESENCE_SHOWN])
    if len(watchers) > PRESENCE_SHOWN:
        items += f'<li class="more" title="and {len(watchers) - PRESENCE_SHOWN} more">+{len(watchers) - PRESENCE_SHOWN}</li>'
    return f'<ul id="presence" class="presence" aria-label="Viewing now" hx-swap-oob="true">{items}</ul>'


def initials(name: str) -> str:
    return "".join(part[0] for part in name.split()[:2]).upper() or "?"


def last_event_id(scope, query) -> int | None:
    """Where the browser left off: the Last-Event-ID header (native reconnect) or `?last=`."""
    for key, value in scope["headers"]:
        if key == b"last-event-id" and value.isdigit():
            return int(value)
    last = query.get("last", [""])[0]
    return int(last) if last.isdigit() else None


def loop_time() -> float:
    return asyncio.get_running_loop().time()


def body_message(body: bytes) -> dict:
    return {"type": "http.response.body", "body": body, "more_body": True}


PING_FRAME = b": ping\n\n"
PING_MESSAGE = body_message(PING_FRAME)
REVOKED_MESSAGE = body_message(b"event: revoked\ndata: \n\n")


async def send_bytes(send, body: bytes) -> None:
    await send(body_message(body))


async def plain(send, status: int, message: str) -> None:
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"text/plain; charset=utf-8")]})
    await send({"type": "http.response.body", "body": message.encode(), "more_body": False})
