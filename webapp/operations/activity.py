"""Recording a change in the activity log and committing it: the end of every board operation."""
from ..extensions import db
from ..models import Activity
from .events import Recorded, announce

PENDING = "recorded_activities"  # in the session's `info`: what the open transaction will commit


def record(board_id: int, verb: str, *, actor, card=None, **details) -> Activity:
    """Add an activity to the session; it commits (or rolls back) with the change it describes."""
    if card is not None:
        details.setdefault("card", card.title)
    activity = Activity(board_id=board_id, card_id=card.id if card is not None else None,
                        actor_id=actor.id, verb=verb, details=details)
    db.session.add(activity)
    db.session.info.setdefault(PENDING, []).append(activity)
    return activity


def commit(board_id: int, actor, *, recorded: list[Recorded] | None = None) -> list[Recorded]:
    """Commit the change, the one transaction of the operation, then send `board_changed`.
    Returns what the change recorded, read before the commit expires it."""
    pending = [activity for activity in db.session.info.pop(PENDING, []) if activity in db.session]
    if pending:
        db.session.flush()  # the activities' ids: the same statements the commit would send
    recorded = [Recorded(activity.id, activity.verb, dict(activity.details or {}), activity.card_id)
                for activity in pending] + (recorded or [])
    db.session.commit()
    if recorded:  # a change the log does not show (a used invitation) concerns no one watching the board
        announce(board_id, recorded, actor)
    return recorded
