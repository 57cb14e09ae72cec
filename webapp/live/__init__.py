"""Live boards: every change reaches every open board over Server-Sent Events.

Flask views publish after their transaction commits (`publish_board`); the ASGI front
serves `/boards/<id>/events` natively (`stream.BoardStreams`), so thousands of open streams
hold no thread. A broker carries events between them (`brokers`): in-process by default,
Redis pub/sub when REDIS_URL is set, so several Hypercorn workers or machines share every event.

Events carry ids (`events`). Each board keeps a bounded log; a browser that reconnects sends
Last-Event-ID and gets what it missed, or a "refresh" event when the gap is too old or the id
is from before a restart. Stream links carry signed tokens (`tokens`).
"""
import logging
import os

from flask import current_app, render_template

from ..pagecache import board_version, render_with_placeholder_token
from .brokers import LOG_SIZE, MemoryBroker, RedisBroker, Replay, parse_message  # noqa: F401
from .events import Event, event_id, epoch_of, missed, sse_frame  # noqa: F401
from .stream import BoardStreams, presence_html  # noqa: F401
from .subscriber import Subscriber  # noqa: F401
from .tokens import TOKEN_SALT, TOKEN_SECONDS, read_token, serializer, stream_token  # noqa: F401


def init_app(app) -> None:
    url = app.config.get("REDIS_URL", os.environ.get("REDIS_URL"))
    prefix = app.config.get("REDIS_PREFIX", os.environ.get("REDIS_PREFIX", "corkboard"))
    app.extensions["live"] = RedisBroker(url, prefix=prefix) if url else MemoryBroker()


log = logging.getLogger(__name__)


def broker():
    return current_app.extensions["live"]


def _publish(board_id: int, name: str, data: str = "", user_id: int | None = None) -> None:
    """Hand the event to the broker. The change is committed: whatever goes wrong here costs a
    live update (the board reloads later), never an error for a change that was saved."""
    try:
        broker().publish(board_id, name, data, user_id)
    except Exception:
        log.exception("Live update for board %s not published", board_id)


# Publishing, from Flask views, after the transaction has committed. None of these waits for
# the broker or fails: the change is saved whatever becomes of its live update.

def publish_board(board_id: int, template: str, version: int | None = None, **context) -> str:
    """Render `template` once, for everyone, send it to every open stream of the board, and
    return it (the author's own response can be the same fragment).

    Call it after the change has committed. The fragment is rendered without CSRF tokens
    (browsers send theirs as a header) and stamped with the board's version, read before
    rendering (or given, when the caller read it before what the fragment shows), so that a
    browser never replaces a newer state with an older one."""
    version = board_version(board_id) if version is None else version
    html = render_with_placeholder_token(lambda: render_template(template, **context), token="")
    _publish(board_id, "board", f"<!--v:{version}-->\n{html}")
    return html


def refresh_board(board_id: int) -> None:
    """Ask every open board to reload its columns (a change touching many cards)."""
    _publish(board_id, "refresh")


def revoke(board_id: int, user_id: int, login_id: int | None = None) -> None:
    """End the user's open streams of the board at once (they were removed from it), or only
    those of one of their logins (it ended: logged out)."""
    _publish(board_id, "revoke", "" if login_id is None else str(login_id), user_id=user_id)
