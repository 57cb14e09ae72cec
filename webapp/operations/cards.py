"""Cards: add, edit (title, description, dates), move, archive, restore, delete."""
from sqlalchemy import bindparam, select

from ..extensions import db
from ..models import BoardColumn, Card, utcnow
from ..ordering import fresh, key_at, lock_parent, place, rebalance
from ..queries import last_editor
from . import inputs, publish
from .activity import commit, record
from .errors import Conflict, Invalid, NotFound

ACTIVE = Card.archived_at.is_(None)
OTHER_KEYS = (  # built once: every move runs it. Archived cards count for the keys, not the index.
    select(Card.position, ACTIVE)
    .where(Card.column_id == bindparam("column_id"), Card.id != bindparam("card_id"))
    .order_by(Card.position, Card.id)
)
KEEP = object()  # a date argument left out: the card keeps the date it has


def position_key(column_id: int, index: int, moving: Card) -> str:
    """The order key that puts `moving` at `index` among the column's other active cards; the
    column's cards are rebalanced in this transaction when no short key fits there."""
    lock_parent(db.session, BoardColumn, column_id)
    rows = db.session.execute(fresh(db.session, OTHER_KEYS), {"column_id": column_id, "card_id": moving.id}).all()
    return (key_at([key for key, _ in rows], index, [active for _, active in rows])
            or rebalance(db.session, Card, Card.column_id == column_id, index, moving_id=moving.id, shown=ACTIVE))


def check_version(card: Card, expected_version) -> None:
    """Conflict, with the card as it now is, when the change was made to an older version of it."""
    if expected_version is not None and str(expected_version) != str(card.version):
        raise Conflict(f"{last_editor(card)} changed this card while you were editing it; "
                       f"its title is now “{card.title}”.", fresh=card)


def create_card(column: BoardColumn, title: str, *, actor) -> Card:
    """A new card at the bottom of the column."""
    title = inputs.title(title)
    position = place(db.session, Card, Card.column_id == column.id, None, parent=(BoardColumn, column.id))
    card = Card(board_id=column.board_id, column_id=column.id, title=title, position=position)
    db.session.add(card)
    db.session.flush()
    board_id, column_id, card_id = column.board_id, column.id, card.id  # before the commit expires them
    record(board_id, "card.created", actor=actor, card=card, column=column.title)
    commit(board_id, actor)
    publish.card_placed(board_id, card_id, [column_id])
    return card


def edit_card(card: Card, *, title: str, description: str | None, start_date=KEEP, due_date=KEEP, actor,
              expected_version=None) -> Card:
    """Save the card's title, description and (unless left out) its dates."""
    title, description = inputs.title(title), inputs.description(description)
    check_version(card, expected_version)
    dates = (card.start_date if start_date is KEEP else start_date, card.due_date if due_date is KEEP else due_date)
    if start_date is not KEEP and due_date is not KEEP and start_date and due_date and due_date < start_date:
        raise Invalid({"due_date": "The due date can't be before the start date."})
    dates_changed = dates != (card.start_date, card.due_date)
    text_changed = (title, description) != (card.title, card.description)
    card.title, card.description = title, description
    card.start_date, card.due_date = dates
    card.version += 1
    if text_changed or not dates_changed:  # a save that changes nothing is an edit too, as it always was
        record(card.board_id, "card.edited", actor=actor, card=card)
    if dates_changed:
        record(card.board_id, "card.dates_changed", actor=actor, card=card)
    commit(card.board_id, actor)
    publish.card_face_changed(card)
    return card


def set_dates(card: Card, start_date, due_date, *, actor, expected_version=None) -> Card:
    """Change only the card's start and due dates (None clears one)."""
    return edit_card(card, title=card.title, description=card.description, start_date=start_date,
                     due_date=due_date, actor=actor, expected_version=expected_version)


def move_card(card: Card, column: BoardColumn, index: int, *, actor, expected_version=None) -> Card:
    """Put the card at `index` (from 0, among the active cards) of `column`, on the same board."""
    if column.board_id != card.board_id:
        raise NotFound("No such column.")
    index = inputs.index(index)
    check_version(card, expected_version)
    source = card.column
    position = position_key(column.id, index, moving=card)
    if source.id != column.id:
        record(card.board_id, "card.moved", actor=actor, card=card, source=source.title, target=column.title)
    else:
        record(card.board_id, "card.reordered", actor=actor, card=card, column=column.title)
    card.position, card.column_id, card.version = position, column.id, card.version + 1  # one UPDATE
    board_id, card_id, column_ids = card.board_id, card.id, [source.id, column.id]  # before the commit expires them
    commit(board_id, actor)
    publish.card_placed(board_id, card_id, column_ids)
    return card


def delete_card(card: Card, *, actor) -> None:
    """The card and everything on it (comments, checklist, attachments) go for good."""
    board_id, column_id = card.board_id, card.column_id
    record(board_id, "card.deleted", actor=actor, card=card)
    db.session.delete(card)
    commit(board_id, actor)
    publish.card_removed(board_id, card, column_id)


def archive_card(card: Card, *, actor) -> Card:
    """Out of sight, kept in the board's archive; archiving an archived card changes nothing."""
    board_id = card.board_id
    if card.archived_at is None:
        card.archived_at = utcnow()
        card.version += 1
        record(board_id, "card.archived", actor=actor, card=card)
        commit(board_id, actor)
    publish.card_removed(board_id, card, card.column_id)
    return card


def restore_card(card: Card, *, actor) -> Card:
    """Back where it was; Conflict while its column is archived."""
    if card.column.archived_at is not None:
        raise Conflict(f"Its column “{card.column.title}” is archived: restore the column first.")
    if card.archived_at is not None:
        card.archived_at = None
        card.version += 1
        record(card.board_id, "card.restored", actor=actor, card=card)
        commit(card.board_id, actor)
        publish.card_placed(card.board_id, card.id, [card.column_id])
    return card
