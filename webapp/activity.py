"""The activity log: who did what, when. Written in the same transaction as the change
(webapp/operations/activity.py `record`); shown here."""
from datetime import datetime, timezone

from flask import Blueprint
from markupsafe import Markup, escape

from .access import get_board_or_404, get_card_or_404, require_login
from .hypermedia import page_or_partial
from .models import Activity
from .queries import ACTIVITY_PAGE, latest_activity
from .security import id_arg


# How each verb reads: "{actor} moved “Fix login” from Doing to Done". Values are escaped.
PHRASES = {
    "board.created": "created this board",
    "board.imported": "imported this board with {cards} cards",
    "board.renamed": "renamed the board to {title}",
    "board.recolored": "made the board {color}",
    "column.created": "added the column {column}",
    "column.renamed": "renamed the column {old} to {column}",
    "column.moved": "moved the column {column}",
    "column.deleted": "deleted the column {column}",
    "column.archived": "archived the column {column}",
    "column.restored": "restored the column {column}",
    "column.wip_changed": "set the WIP limit of {column} to {limit}",
    "card.created": "added {card} to {column}",
    "card.edited": "edited {card}",
    "card.moved": "moved {card} from {source} to {target}",
    "card.reordered": "reordered {card} in {column}",
    "card.deleted": "deleted {card}",
    "card.archived": "archived {card}",
    "card.restored": "restored {card}",
    "card.dates_changed": "changed the dates of {card}",
    "card.labeled": "labelled {card} {label}",
    "card.unlabeled": "removed the label {label} from {card}",
    "card.assigned": "assigned {member} to {card}",
    "card.unassigned": "unassigned {member} from {card}",
    "checklist.added": "added {item} to the checklist of {card}",
    "checklist.checked": "checked {item} on {card}",
    "checklist.unchecked": "unchecked {item} on {card}",
    "checklist.deleted": "removed {item} from the checklist of {card}",
    "comment.added": "commented on {card}",
    "comment.edited": "edited a comment on {card}",
    "comment.deleted": "deleted a comment on {card}",
    "attachment.added": "attached {filename} to {card}",
    "attachment.deleted": "removed the attachment {filename} from {card}",
    "label.created": "created the label {label}",
    "label.edited": "edited the label {label}",
    "label.deleted": "deleted the label {label}",
    "member.invited": "invited {email} as {role}",
    "member.joined": "joined the board as {role}",
    "member.role_changed": "made {member} {role}",
    "member.removed": "removed {member} from the board",
    "member.left": "left the board",
    "invitation.revoked": "withdrew the invitation of {email}",
}


def describe(activity: Activity) -> Markup:
    """The sentence for one activity, without the actor's name, safe to put in a page."""
    phrase = PHRASES.get(activity.verb, activity.verb)
    quoted = {key: Markup("“<strong>{}</strong>”").format(value) if key in QUOTED else escape(value)
              for key, value in (activity.details or {}).items()}
    try:
        return Markup(escape(phrase).format(**quoted))
    except (KeyError, IndexError):
        return escape(phrase.split(" {")[0])


QUOTED = {"card", "column", "source", "target", "title", "old", "item", "label", "filename"}


def time_ago(moment: datetime, now: datetime | None = None) -> str:
    """'just now', '2 minutes ago', '3 hours ago', '5 days ago', or the date."""
    now = now or datetime.now(timezone.utc)
    if moment.tzinfo is None:  # SQLite hands back naive datetimes; they are UTC
        moment = moment.replace(tzinfo=timezone.utc)
    seconds = int((now - moment).total_seconds())
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size:
            count = seconds // size
            if unit == "day" and count > 30:
                return moment.strftime("%-d %b %Y")
            return f"{count} {unit}{'s' if count != 1 else ''} ago"
    return "just now"


# Views: the board's activity page, and a card's activity (loaded into its detail).

bp = Blueprint("activity", __name__, url_prefix="/boards/<int:board_id>")
bp.before_request(require_login)

@bp.get("/activity")
def board_activity(board_id: int):
    board = get_board_or_404(board_id)
    before = id_arg("before")
    activities = latest_activity(board.id, before=before)
    return page_or_partial("activity.html", "partials/activity_list.html", board=board,
                           activities=activities, more=len(activities) == ACTIVITY_PAGE)


@bp.get("/cards/<int:card_id>/activity")
def card_activity(board_id: int, card_id: int):
    board, card = get_card_or_404(board_id, card_id)
    before = id_arg("before")
    activities = latest_activity(board.id, card_id=card.id, before=before)
    return page_or_partial("activity.html", "partials/activity_list.html", board=board, card=card,
                           activities=activities, more=len(activities) == ACTIVITY_PAGE)
