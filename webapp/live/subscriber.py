"""One open stream, and how an event is written to it without a task per stream."""
import asyncio
import types
from collections import deque

from .events import (CLOSED, DROPPED, PING, PING_FRAME, PING_MESSAGE, RESTARTING, REVOKED_MESSAGE, Event,
                     body_message)
from .tokens import TOKEN_SECONDS, serializer

# Events a stream may fall behind a send that waits (a browser that stopped reading) before it
# is dropped; once the browser reads again it reconnects and catches up from the board's log.
BACKLOG_LIMIT = 200
# How long a send may wait before the stream is dropped, on a quiet board too (checked at pings).
STUCK_SECONDS = 60


class Subscriber:
    """One open stream: who is watching, and the way to their browser.

    The broker hands each event to `deliver`, on the event loop, and the stream writes it there
    and then. Sending a small frame almost never has to wait (the socket's buffer has room), so
    an event reaches a thousand streams in a thousand sends, with no queue and no task wake-up
    per stream. A send that does have to wait (a slow client whose buffer is full) is finished by
    a task of its own; the stream's later events wait behind it, in order, and no other stream
    waits at all.
    """

    __slots__ = ("board_id", "user_id", "name", "last_id", "secret_key", "login_id", "send", "socket", "backlog",
                 "busy", "closing", "ended", "writer", "token_due", "waiting_since", "presence")

    def __init__(self, board_id: int, user_id: int, name: str, last_id: int | None, secret_key: str = "",
                 login_id: int | None = None):
        self.board_id = board_id
        self.user_id = user_id
        self.name = name
        self.last_id = last_id
        self.secret_key = secret_key  # to mint fresh stream tokens
        self.login_id = login_id  # which they carry: a reconnect after that login ended is refused
        self.send = None  # the ASGI send, once the stream is live
        self.socket = None  # the connection's transport, when frames can be written to it directly (socket_of)
        self.backlog: deque = deque()  # events waiting for the stream to go live or a slow send to finish
        self.busy = True  # not live yet, or a send is still in progress: new events join the backlog
        self.closing = False  # nothing more is sent; `ended` resolves once what came before is written
        loop = asyncio.get_running_loop()
        self.ended: asyncio.Future = loop.create_future()
        self.writer: asyncio.Task | None = None  # finishing a send that had to wait
        self.token_due = loop.time() + TOKEN_SECONDS / 3
        self.waiting_since = 0.0  # when the send still in progress began to wait
        self.presence = None  # the presence list this stream last showed

    def deliver(self, event) -> None:
        """Send the event to this stream now, or after what is still being sent."""
        if self.closing:
            return
        if self.busy:
            if self.send is not None and (len(self.backlog) >= BACKLOG_LIMIT or (
                    event is PING and self.writer is not None and loop_time() - self.waiting_since > STUCK_SECONDS)):
                self.drop()
                return
            self.backlog.append(event)
            return
        message = self._message_for(event)
        if message is not None:
            socket = self.socket
            # Straight to the socket while nothing waits in its buffer; once something does, through
            # the server's send, which waits for the buffer to drain (a slow browser) as it should.
            if socket is not None and not socket.get_write_buffer_size() and not socket.is_closing():
                try:
                    socket.write(event.chunk if message is getattr(event, "_message", None) else http_chunk(message))
                except Exception as error:  # e.g. a TLS transport that failed: end this stream, not the others
                    self._end(error)
                    return
                if self.closing:
                    self._end()
                return
            try:
                unfinished = start_send(self.send, message)
            except Exception as error:  # the server refused the frame: end this stream, not the others
                self._end(error)
                return
            if unfinished is not None:
                self.busy = True
                self.waiting_since = loop_time()
                self.writer = asyncio.ensure_future(self._catch_up(unfinished))
                return
        if self.closing:
            self._end()

    async def go_live(self, send) -> None:
        """From now on, `deliver` writes to `send`: first what arrived while the stream was starting."""
        self.send = send
        self.socket = socket_of(send)
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
            token = serializer(self.secret_key).dumps([self.user_id, self.board_id, self.login_id])
            return body_message(PING_FRAME + f"event: token\ndata: {token}\n\n".encode())
        if event is CLOSED:
            self.closing = True
            return None
        if event is RESTARTING:
            self.closing = True
            return event.message
        if event.name == "presence":
            if event.data == self.presence:
                return None  # it shows that list already (another worker announced the same)
            self.presence = event.data
        elif event.name == "revoke":
            if event.user_id != self.user_id or (event.data and event.data != str(self.login_id)):
                return None  # someone else's streams, or another login's
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

    def drop(self) -> None:
        """End the stream without finishing the response: the server closes the connection. For a
        browser that stopped reading; when it reads again, it reconnects and catches up."""
        self.backlog.clear()
        self.stop()
        self._end(result=DROPPED)

    def stop(self) -> None:
        """The stream is over: deliver nothing more, abandon a send still waiting."""
        self.closing = True
        if self.writer is not None:
            self.writer.cancel()


def socket_of(send):
    """The transport under an HTTP/1.1 response that Hypercorn sends in chunks, or None.

    Every frame is the same bytes for every stream, so each event frames itself as one HTTP
    chunk, once (Event.chunk), and a live stream writes that to its socket: Hypercorn's send
    would wrap, check and frame it again per stream (HTTPStream.app_send -> H11Protocol ->
    h11's ChunkedWriter -> TCPServer.protocol_send), three quarters of the cost of fanning out
    an event. Only a chunked HTTP/1.1 body qualifies (h11 writes nothing else between chunks,
    and the end of the response is still sent through Hypercorn); HTTP/2, another server or
    another framing keep to `send`."""
    try:
        from h11._writers import ChunkedWriter
        stream = send.__self__  # HTTPStream.app_send
        protocol = stream.send.__self__  # H11Protocol.stream_send
        server = protocol.send.__self__  # TCPServer.protocol_send
        transport = server.writer.transport
        chunked = isinstance(protocol.connection._writer, ChunkedWriter)
        started = stream.state.name == "RESPONSE"
    except (AttributeError, ImportError):
        return None
    if not chunked or not started or not callable(getattr(transport, "get_write_buffer_size", None)):
        return None
    return transport


def http_chunk(message: dict) -> bytes:
    body = message["body"]
    return b"%x\r\n%s\r\n" % (len(body), body)


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


def loop_time() -> float:
    return asyncio.get_running_loop().time()
