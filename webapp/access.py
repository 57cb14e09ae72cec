"""Who may see or change what: load a board's things for an actor, or answer 404 / 403.

Every blueprint (the pages, and the API beside them) loads through these, so none can forget
the membership check. A non-member gets 404, so a board's existence stays private; a member
whose role falls short gets 403. The actor is the logged-in user unless another is given (an
API token's user, the importer's).
"""
import hashlib
from dataclasses import dataclass
import threading
from collections import defaultdict
from datetime import datetime, timezone
from urllib.parse import urlsplit

from flask import abort, g, has_request_context
from flask_login import current_user
from sqlalchemy import and_, bindparam, exists, select

from .extensions import db, login_manager
from .models import (Attachment, Board, BoardColumn, BoardMember, Card, ChecklistItem, Comment, Label, User,
                     Webhook, role_at_least)
from .pagecache import BOARD_VERSION

@dataclass(frozen=True, slots=True)
class Actor:
    """Who makes a change, as the board operations need them: an API token's user (a page's is
    the logged-in `current_user`, which has the same three)."""
    id: int
    name: str
    email: str


NOT_ALLOWED = {
    "editor": "Viewers can look but not change this board. Ask an owner for editor access.",
    "owner": "Only the board's owners can do that.",
}

# Built once: every request under a board runs one of these.
BOARD_FOR_MEMBER = (
    select(Board, BoardMember.role)
    .join(BoardMember)
    .where(Board.id == bindparam("board_id"), BoardMember.user_id == bindparam("user_id"))
)
# Changes to one board happen one at a time (PostgreSQL; SQLite serializes writes anyway),
# so each change's live update shows every change committed before it. A change also learns
# whether the board has webhooks to tell (`may_have_webhooks`), so that most changes ask no more.
_HAS_WEBHOOKS = exists().where(Webhook.board_id == Board.id, Webhook.active.is_(True)).label("has_webhooks")
BOARD_FOR_MEMBER_TO_CHANGE = BOARD_FOR_MEMBER.add_columns(_HAS_WEBHOOKS).with_for_update(of=Board)
# A card and its board in one statement, for a member (the page or API call's usual case).
CARD_FOR_MEMBER = (
    select(Card, Board, BoardMember.role)
    .join(Board, Card.board_id == Board.id).join(BoardMember, BoardMember.board_id == Board.id)
    .where(Card.id == bindparam("card_id"), Board.id == bindparam("board_id"),
           BoardMember.user_id == bindparam("user_id"))
)
CARD_FOR_MEMBER_TO_CHANGE = CARD_FOR_MEMBER.add_columns(_HAS_WEBHOOKS).with_for_update(of=Board)

_ROLE = and_(BoardMember.user_id == User.id, BoardMember.board_id == bindparam("board_id"))
ROLE_ON_BOARD = (select(BoardMember.role, BOARD_VERSION.scalar_subquery().label("version"))
                 .select_from(User).outerjoin(BoardMember, _ROLE).where(User.id == bindparam("user_id")))

# The token of a board invitation someone opened before they had logged in: kept in their
# session until they log in or sign up, which then joins them to the board.
PENDING_INVITATION = "pending_invitation"


def require_login():
    """`before_request` hook for blueprints whose every page needs an account."""
    if not current_user.is_authenticated:
        return login_manager.unauthorized()


def get_board_or_404(board_id: int, role: str = "viewer", user=None) -> Board:
    """The board, if `user` (the logged-in user by default) is a member with at least `role`.

    The member's role is kept in `g.board_role` for the templates. Asking for more than a
    viewer's role means a change is coming: the board's lock is taken first (`hold_board_lock`).
    """
    user = user or current_user
    if role == "viewer":
        row = db.session.execute(BOARD_FOR_MEMBER, {"board_id": board_id, "user_id": user.id}).first()
    else:
        hold_board_lock(board_id)
        row = db.session.execute(BOARD_FOR_MEMBER_TO_CHANGE, {"board_id": board_id, "user_id": user.id}).first()
    if row is None:
        abort(404, "No such board.")
    return _allowed(row[0], row, role)


def _allowed(board: Board, row, role: str) -> Board:
    """The board of a member's row (role, and for a change whether it has webhooks), or 403."""
    g.board_role = row.role
    if role != "viewer":
        g.boards_with_webhooks = {**g.get("boards_with_webhooks", {}), board.id: row.has_webhooks}
    if not role_at_least(g.board_role, role):
        abort(403, NOT_ALLOWED[role])
    return board


def may_have_webhooks(board_id: int) -> bool:
    """False when the change being made learnt, as it began, that the board has no active webhook."""
    return g.get("boards_with_webhooks", {}).get(board_id, True) if has_request_context() else True


def get_column_or_404(board_id: int, column_id: int, role: str = "viewer", user=None) -> tuple[Board, BoardColumn]:
    board = get_board_or_404(board_id, role, user)
    return board, column_of(board, column_id)


def column_of(board: Board, column_id: int) -> BoardColumn:
    column = db.session.get(BoardColumn, column_id)
    if column is None or column.board_id != board.id:
        abort(404, "No such column.")
    return column


def move_columns(board: Board, card: Card, column_id: int) -> tuple[BoardColumn, BoardColumn]:
    """(the board's column `column_id` or 404, the card's own column), loaded in one statement."""
    wanted = {column_id, card.column_id}
    columns = {column.id: column for column in db.session.scalars(
        select(BoardColumn).where(BoardColumn.id.in_(wanted)))}
    target = columns.get(column_id)
    if target is None or target.board_id != board.id:
        abort(404, "No such column.")
    return target, columns[card.column_id]


def get_card_or_404(board_id: int, card_id: int, role: str = "viewer", user=None) -> tuple[Board, Card]:
    user = user or current_user
    if role != "viewer":
        hold_board_lock(board_id)
    statement = CARD_FOR_MEMBER if role == "viewer" else CARD_FOR_MEMBER_TO_CHANGE
    row = db.session.execute(statement, {"card_id": card_id, "board_id": board_id, "user_id": user.id}).first()
    if row is None:  # not a member (no such board), or no such card on the board
        get_board_or_404(board_id, role, user)
        abort(404, "No such card.")
    return _allowed(row.Board, row, role), row.Card


def get_label_or_404(board_id: int, label_id: int, role: str = "viewer", user=None) -> tuple[Board, Label]:
    board = get_board_or_404(board_id, role, user)
    label = db.session.get(Label, label_id)
    if label is None or label.board_id != board.id:
        abort(404, "No such label.")
    return board, label


def get_item_or_404(board_id: int, card_id: int, item_id: int, role: str,
                    user=None) -> tuple[Board, Card, ChecklistItem]:
    board, card = get_card_or_404(board_id, card_id, role, user)
    item = db.session.get(ChecklistItem, item_id)
    if item is None or item.card_id != card.id:
        abort(404, "No such checklist item.")
    return board, card, item


def get_comment_or_404(board_id: int, card_id: int, comment_id: int, role: str,
                       user=None) -> tuple[Board, Card, Comment]:
    board, card = get_card_or_404(board_id, card_id, role, user)
    comment = db.session.get(Comment, comment_id)
    if comment is None or comment.card_id != card.id:
        abort(404, "No such comment.")
    return board, card, comment


def get_own_comment_or_404(board_id: int, card_id: int, comment_id: int, user=None) -> tuple[Board, Card, Comment]:
    """A comment its author may change: an editor's own (a viewer gets 403 before anything else)."""
    user = user or current_user
    board, card, comment = get_comment_or_404(board_id, card_id, comment_id, "editor", user)
    if comment.author_id != user.id:
        abort(403, "You can only change your own comments.")
    return board, card, comment


def get_attachment_or_404(board_id: int, attachment_id: int, role: str = "viewer",
                          user=None) -> tuple[Board, Attachment]:
    board = get_board_or_404(board_id, role, user)
    attachment = db.session.scalar(
        select(Attachment).join(Card).where(Attachment.id == attachment_id, Card.board_id == board.id))
    if attachment is None:
        abort(404, "No such attachment.")
    return board, attachment


def member_of(board: Board, member_id: int) -> BoardMember:
    member = db.session.get(BoardMember, member_id)
    if member is None or member.board_id != board.id:
        abort(404, "No such member of this board.")
    return member


def standing_on_board(board_id: int, user=None) -> tuple[str | None, int]:
    """The user's role on the board (None: not a member) and the board's version. For the
    logged-in user both came with their login (webapp/auth.py `load_user`): no query then."""
    user = user or current_user
    if user is current_user and current_user.is_authenticated \
            and g.get("standing_on_board", (None,))[0] == board_id:
        return g.standing_on_board[1:]
    row = db.session.execute(ROLE_ON_BOARD, {"user_id": user.id, "board_id": board_id}).first()
    return (row.role, row.version or 0) if row else (None, 0)


# Changes to one board happen one at a time, each with its live update sent before the next
# begins, so that what every browser ends up showing is the board as it was last committed.
# This lock does it within a process (all the default SQLite set-up needs); across processes the
# row lock of BOARD_FOR_MEMBER_TO_CHANGE (PostgreSQL) orders the commits and the version stamp
# orders the updates.
_board_locks: dict[int, threading.Lock] = defaultdict(threading.Lock)


def hold_board_lock(board_id: int) -> None:
    """Take the board's lock until the request ends (released in `release_board_lock`)."""
    if "board_lock" not in g:
        lock = _board_locks[board_id]
        lock.acquire()
        g.board_lock = lock


def release_board_lock(_error=None) -> None:
    lock = g.pop("board_lock", None)
    if lock is not None:
        lock.release()


def is_safe_next(target: str | None) -> bool:
    """Only a path on this site: no scheme, no host, no protocol-relative `//` trick."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return False
    parts = urlsplit(target)
    return not parts.scheme and not parts.netloc


def secret_digest(secret: str) -> str:
    """How a login's or a token's secret is stored. The secret is random and long: a plain hash
    is enough to keep a stolen table useless."""
    return hashlib.sha256(secret.encode()).hexdigest()


def as_utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=timezone.utc)  # SQLite: naive UTC
