"""`board_changed`: sent after every committed change to a board, for webhooks and the like.

    from webapp.operations.events import board_changed

    @board_changed.connect
    def queue_webhooks(app, board_id, activities, actor): ...

The sender is the Flask app; `activities` are the `Recorded` activities the change wrote (often
one; for a deleted board a `board.deleted` one without an id, its log gone with it), `actor` who made it.
It is sent after the commit, in the thread of the change: a receiver hands slow work off (a
queue, as mail does). A receiver that fails is logged and skipped: the change is saved already.
"""
import logging
from dataclasses import dataclass, field

from blinker import Namespace
from flask import current_app

log = logging.getLogger(__name__)

signals = Namespace()
board_changed = signals.signal("board-changed")


@dataclass(frozen=True, slots=True)
class Recorded:
    """One activity of a committed change: its id in the activity log, verb, details and card."""
    id: int | None
    verb: str
    details: dict = field(default_factory=dict)
    card_id: int | None = None


def announce(board_id: int, activities: list[Recorded], actor) -> None:
    """Tell every receiver of `board_changed`, each on its own: one failing stops none of the others."""
    if not board_changed.receivers:
        return
    app = current_app._get_current_object()
    for receiver in board_changed.receivers_for(app):
        try:
            receiver(app, board_id=board_id, activities=activities, actor=actor)
        except Exception:
            log.exception("A receiver of board_changed failed for board %s", board_id)
