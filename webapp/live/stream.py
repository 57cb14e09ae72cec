"""The stream itself: `/boards/<id>/events`, an ASGI handler, one coroutine per open board."""
import asyncio
import logging
from urllib.parse import parse_qs

from markupsafe import escape
from sqlalchemy import and_, bindparam, select

from ..extensions import db
from ..models import BoardMember, LoginSession, User, initials, utcnow
from .events import CLOSED, DROPPED, PAUSED, PING, RESTARTING, Event, body_message, sse_frame
from .subscriber import Subscriber
from .tokens import read_stream_token

log = logging.getLogger(__name__)

PING_SECONDS = 15
PRESENCE_DELAY = 0.25  # joins and leaves within this time make one presence update
PRESENCE_SHOWN = 12  # people listed by name in a presence update; the rest are counted
CLOSE_GRACE = 0.5  # at shutdown, how long a stream may take to send its last event before it is cut
# Who opens a stream: their name, if they are a member of the board. Built once, run per stream.
MEMBER_NAME = (select(User.name).join(BoardMember, BoardMember.user_id == User.id)
               .where(BoardMember.board_id == bindparam("board_id"), User.id == bindparam("user_id")))
# ... and only while the login the token was minted for lasts (logging out ends it).
MEMBER_NAME_IN_LOGIN = MEMBER_NAME.join(LoginSession, and_(
    LoginSession.user_id == User.id, LoginSession.id == bindparam("login_id"),
    LoginSession.expires_at > bindparam("now")))


class BoardStreams:
    """Serves `/boards/<id>/events` for the ASGI front."""

    def __init__(self, flask_app, abort=lambda send: None):
        self.app = flask_app
        self.abort = abort  # drops the connection an ASGI `send` writes to, if the server allows (webapp/asgi.py)
        self.secret_key = flask_app.secret_key
        self.open_streams = 0
        self.closing = False
        self._streams: set[Subscriber] = set()
        self._pinger: asyncio.TimerHandle | None = None
        self._presence_due: set[int] = set()
        self._presence_sent: dict[int, str] = {}
        self._newcomers: dict[int, set[Subscriber]] = {}

    @property
    def broker(self):
        return self.app.extensions["live"]

    async def __call__(self, scope, receive, send, board_id: int) -> None:
        if self.closing:
            return await plain(send, 503, "The server is restarting. Live updates resume in a moment.")
        query = parse_qs(scope.get("query_string", b"").decode())
        read = read_stream_token(self.secret_key, query.get("token", [""])[0], board_id)
        if read is None:
            return await plain(send, 403, "This live-update link is invalid or expired. Reload the page.")
        user_id, login_id = read
        loop = asyncio.get_running_loop()
        name = await loop.run_in_executor(None, self._member_name, user_id, board_id, login_id)
        if name is None:
            return await plain(send, 404, "No such board.")
        subscriber = Subscriber(board_id, user_id, name, last_event_id(scope, query), self.secret_key, login_id)
        self.open_streams += 1
        self._streams.add(subscriber)
        self._start_pings()
        watcher = asyncio.ensure_future(self._watch_disconnect(receive, subscriber))
        try:
            replay = await self.broker.subscribe(subscriber)
            await send({"type": "http.response.start", "status": 200, "headers": [
                (b"content-type", b"text/event-stream; charset=utf-8"),
                (b"cache-control", b"no-cache"),
                (b"x-accel-buffering", b"no"),
                (b"x-content-type-options", b"nosniff"),
            ]})
            await send_bytes(send, b"retry: 2000\n: connected\n\n")
            if not replay.live:
                await send(PAUSED.message)
                if self.broker.connected:  # only this stream's start failed: the browser retries shortly
                    subscriber.deliver(CLOSED)
            if replay.events is None:
                # The page missed more than the log holds, or its id is from before a restart: it
                # reloads its board, and continues from the newest id.
                await send_bytes(send, sse_frame("refresh", "", replay.newest))
                subscriber.last_id = replay.newest or None
            else:
                for event in replay.events:
                    if subscriber.is_new(event):
                        await send(event.message)
            try:
                await self.broker.join(subscriber)
            except Exception:  # presence is a nicety: the broker may be unreachable
                log.debug("Presence join skipped", exc_info=True)
            self._newcomers.setdefault(board_id, set()).add(subscriber)
            self._announce_soon(board_id)
            await subscriber.go_live(send)
            # Revoked, disconnected or shut down (see Subscriber.deliver): end the response. A
            # dropped stream returns with it unfinished, so the server closes the connection; its
            # browser stopped reading, so the connection is aborted (a polite close would wait for
            # the unread bytes to drain, holding the server's shutdown until its graceful timeout).
            if await subscriber.ended is DROPPED:
                self.abort(send)
            else:
                await send({"type": "http.response.body", "body": b"", "more_body": False})
        finally:
            subscriber.stop()
            watcher.cancel()
            self.open_streams -= 1
            self._streams.discard(subscriber)
            await self.broker.unsubscribe(subscriber)
            try:
                await self.broker.leave(subscriber)  # with Redis, shared by every process: even at shutdown
                if not self.closing:
                    self._announce_soon(board_id)
            except Exception:  # the broker is unreachable or stopping
                pass

    async def close_all(self, grace: float = CLOSE_GRACE) -> None:
        """The server is stopping: every stream sends its last event and ends, so browsers
        reconnect elsewhere at once; a stream whose browser does not read is cut after `grace`."""
        self.closing = True
        streams = list(self._streams)
        for subscriber in streams:
            subscriber.deliver(RESTARTING)
        pending = [subscriber.ended for subscriber in streams if not subscriber.ended.done()]
        if pending:
            await asyncio.wait(pending, timeout=grace)
        for subscriber in streams:
            if not subscriber.ended.done():
                subscriber.drop()

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
        except Exception:  # a presence update is not worth a crash (e.g. the broker is unreachable)
            log.debug("Presence update for board %s skipped", board_id, exc_info=True)

    def _member_name(self, user_id: int, board_id: int, login_id: int | None = None) -> str | None:
        with self.app.app_context(), db.engine.connect() as connection:  # no ORM session for one value
            if login_id is None:
                return connection.scalar(MEMBER_NAME, {"board_id": board_id, "user_id": user_id})
            return connection.scalar(MEMBER_NAME_IN_LOGIN, {"board_id": board_id, "user_id": user_id,
                                                            "login_id": login_id, "now": utcnow()})


def presence_html(watchers: list[tuple[int, str]]) -> str:
    """Who is viewing the board: the first few by their initials, then how many more."""
    items = "".join(f'<li class="avatar-{user_id % 8}" title="{escape(name)}">{escape(initials(name))}</li>'
                    for user_id, name in watchers[:PRESENCE_SHOWN])
    if len(watchers) > PRESENCE_SHOWN:
        items += f'<li class="more" title="and {len(watchers) - PRESENCE_SHOWN} more">+{len(watchers) - PRESENCE_SHOWN}</li>'
    return f'<ul id="presence" class="presence" aria-label="Viewing now" hx-swap-oob="true">{items}</ul>'


def last_event_id(scope, query) -> int | None:
    """Where the browser left off: the Last-Event-ID header (native reconnect) or `?last=`."""
    for key, value in scope["headers"]:
        if key == b"last-event-id" and value.isdigit() and len(value) < 20:
            return int(value)
    last = query.get("last", [""])[0]
    return int(last) if last.isascii() and last.isdigit() and len(last) < 20 else None


async def send_bytes(send, body: bytes) -> None:
    await send(body_message(body))


async def plain(send, status: int, message: str) -> None:
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"text/plain; charset=utf-8"), (b"x-content-type-options", b"nosniff")]})
    await send({"type": "http.response.body", "body": message.encode(), "more_body": False})
