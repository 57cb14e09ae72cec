"""What a live update is on the wire: events, their ids, and SSE framing.

An event's id says where a browser left off. Ids carry an epoch (when the board's sequence
began) above a per-board counter, so they keep growing across restarts of the app and of
Redis: a browser holding an id from before a restart never ignores what comes next, and the
server sees the id is from another epoch and tells the page to catch up (reload its board).
"""
import re
import time
from dataclasses import dataclass, field

SEQ_BITS = 24  # events per board per epoch; past that the board starts a new epoch
SEQ_LIMIT = (1 << SEQ_BITS) - 1
# Epochs count hundredths of a second since 2020 (no app or Redis restarts twice in one): they
# fit in 39 bits until 2190, so ids stay below 2**63.
EPOCH_START = 1_577_836_800 * 100

# SSE ends a line at CR, LF or CRLF: any of them in text would start a field of its own
# (a title holding "\rid: 999999999" would set every open page's last-seen id).
LINE_BREAK = re.compile(r"\r\n|\r|\n")


def event_id(epoch: int, seq: int) -> int:
    return (epoch << SEQ_BITS) | seq


def epoch_of(event_id: int) -> int:
    return event_id >> SEQ_BITS


_last_epoch = 0


def new_epoch() -> int:
    """An epoch for a sequence starting now, later than any this process made before."""
    global _last_epoch
    _last_epoch = max(int(time.time() * 100) - EPOCH_START, _last_epoch + 1)
    return _last_epoch


@dataclass(slots=True)
class Event:
    id: int  # 0 for events that are not kept for replay (presence)
    board_id: int
    name: str  # "board" (HTML swaps), "presence", "refresh", "revoke"
    data: str = ""
    user_id: int | None = None  # for "revoke": whose stream ends
    _frame: bytes | None = field(default=None, repr=False)
    _message: dict | None = field(default=None, repr=False)
    _chunk: bytes | None = field(default=None, repr=False)

    @property
    def frame(self) -> bytes:
        """The SSE frame, encoded once and sent to every subscriber."""
        if self._frame is None:
            self._frame = sse_frame(self.name, self.data, self.id)
        return self._frame

    @property
    def message(self) -> dict:
        """The ASGI message carrying the frame: one dict for every subscriber (senders only read it)."""
        if self._message is None:
            self._message = body_message(self.frame)
        return self._message

    @property
    def chunk(self) -> bytes:
        """The frame as one HTTP/1.1 chunk, for streams written to directly (Subscriber.socket)."""
        if self._chunk is None:
            self._chunk = b"%x\r\n%s\r\n" % (len(self.frame), self.frame)
        return self._chunk


def sse_frame(name: str, data: str = "", event_id: int = 0) -> bytes:
    """One SSE event. Whatever the text holds, it stays inside `data:` lines: every kind of line
    break starts a new `data:` line (the browser joins them with LF), and the id (a number) and
    the name (ours, never the user's) cannot carry one."""
    lines = "".join(f"data: {line}\n" for line in LINE_BREAK.split(data or ""))
    head = f"id: {int(event_id)}\n" if event_id else ""
    return f"{head}event: {LINE_BREAK.sub('', name)}\n{lines}\n".encode()


def missed(events: list, last_id: int | None, newest_id: int) -> list | None:
    """Events after `last_id`, or None when the page must catch up by reloading its board: the
    log no longer reaches back that far, or the id belongs to another epoch (a restart)."""
    if last_id is None or last_id == newest_id:
        return []
    if epoch_of(last_id) != epoch_of(newest_id) or last_id > newest_id:
        return None
    if not events or events[0].id > last_id + 1:
        return None
    return [event for event in events if event.id > last_id]


def body_message(body: bytes) -> dict:
    return {"type": "http.response.body", "body": body, "more_body": True}


CLOSED = object()  # the stream ends (the browser left, or the server is stopping)
PING = object()  # delivered to every stream by one timer per process, not a timer per stream
DROPPED = object()  # how a dropped stream ends: the connection closes, the response unfinished

PING_FRAME = b": ping\n\n"
PING_MESSAGE = body_message(PING_FRAME)
REVOKED_MESSAGE = body_message(sse_frame("revoked"))
# The broker lost its way to the other processes (Redis is down or stalled): the page says
# live updates are paused. Once it is back, the page reloads its board to catch up.
PAUSED = Event(0, 0, "live", "paused")
RESUMED = Event(0, 0, "live", "resumed")
# The server is stopping: the stream's last event, then the page reconnects (to another
# worker, or to this one restarted).
RESTARTING = Event(0, 0, "live", "restarting")
