"""What a change shows on every open board: fragments rendered once, sent after the commit.

Each helper returns the fragment it sent, and keeps it as `broadcast()` for the rest of the
request, so that the author's own response can be the very fragment everyone else got.
"""
from flask import g
from sqlalchemy import and_, bindparam, func, or_, select

from .. import live
from ..extensions import db
from ..forms import ColumnForm
from ..models import Board, BoardColumn, Card
from ..pagecache import BOARD_VERSION, board_version
from ..queries import board_context, card_face, card_faces

ACTIVE = Card.archived_at.is_(None)

COLUMN_COUNTS = (  # built once: every live update of a card list runs it
    select(BoardColumn, func.count(Card.id))
    .outerjoin(Card, and_(Card.column_id == BoardColumn.id, Card.archived_at.is_(None)))
    .where(BoardColumn.id.in_(bindparam("column_ids", expanding=True))).group_by(BoardColumn.id)
)


def column_counts(column_ids) -> list[tuple[BoardColumn, int]]:
    """Columns with how many active cards they hold, for their header counts and WIP warnings."""
    return db.session.execute(COLUMN_COUNTS, {"column_ids": list(column_ids)}).tuples().all()


def broadcast() -> str:
    """The fragment the last publish of this request sent to every open board ("" if none)."""
    return g.get("broadcast", "")


def _sent(html: str) -> str:
    g.broadcast = html
    return html


MOVED = select(Card.column_id, Card.position).where(Card.id == bindparam("card_id")).subquery()
NEXT_CARD = (  # the active card that follows a card in its column, in board order (queries.FACES)
    select(Card.id)
    .join(MOVED, Card.column_id == MOVED.c.column_id)
    .where(ACTIVE, or_(Card.position > MOVED.c.position,
                       and_(Card.position == MOVED.c.position, Card.id > bindparam("card_id"))))
    .order_by(Card.position, Card.id).limit(1)
)


# One statement for all of a placement but the face: the columns' counts, the card that now
# follows the placed one, and the board's version, all as of one moment.
PLACEMENT = (
    COLUMN_COUNTS
    .add_columns(NEXT_CARD.scalar_subquery().label("next_id"),
                 BOARD_VERSION.scalar_subquery().label("version"))
)


class Placement:
    """Where a card is now: its face, the card that follows it, the counts of the columns it touched.
    `version`, the board's, is read first (with the counts and the next card), then the face: what
    the live update and the author's own response show is at least as new as their stamp."""

    def __init__(self, board_id: int, card_id: int, column_ids: list[int]):
        self.board_id, self.card_id, self.column_ids = board_id, card_id, list(dict.fromkeys(column_ids))
        self.version = None

    def load(self) -> "Placement":
        if self.version is None:
            rows = db.session.execute(PLACEMENT, {"column_ids": self.column_ids, "card_id": self.card_id,
                                                  "board_id": self.board_id}).all()
            self.version = (rows[0].version if rows else board_version(self.board_id)) or 0
            self.counts = [(row[0], row[1]) for row in rows]
            faces = card_faces(self.board_id, card_ids=[self.card_id])
            self.card = faces[0] if faces else None  # gone (deleted or archived) since: its own event says so
            self.next_id = rows[0].next_id if self.card and rows else None
        return self


def card_placed(board_id: int, card_id: int, column_ids: list[int]) -> str:
    """Send one card's face, put where it now is, and the columns' counts to every open board; return
    the fragment stamped with its version, followed by <!--/v--> (static/app.js reads both)."""
    placement = Placement(board_id, card_id, column_ids).load()
    html = live.publish_board(board_id, "partials/card_moved.html", version=placement.version, placement=placement)
    return _sent(f"<!--v:{placement.version}-->\n{html}<!--/v-->\n")


def card_face_changed(card: Card) -> str:
    """Send the card's fresh face to every open board."""
    return _sent(live.publish_board(card.board_id, "partials/card.html", card=card_face(card), oob=True))


def card_removed(board_id: int, card: Card, column_id: int) -> str:
    """The card left the board (deleted or archived): drop its face, update its column's count."""
    return _sent(live.publish_board(board_id, "partials/card_removed.html", card=card,
                                    counts=column_counts([column_id]), oob=True))


def columns_changed(board: Board) -> str:
    """Send the whole board to every open board (columns were added, reordered or restored)."""
    return _sent(live.publish_board(board.id, "partials/columns.html", oob=True,
                                    column_form=ColumnForm(formdata=None), **board_context(board)))


def column_title_changed(board_id: int, column: BoardColumn) -> str:
    return _sent(live.publish_board(board_id, "partials/column_title.html", column=column, oob=True))


def column_removed(board_id: int, column: BoardColumn) -> str:
    return _sent(live.publish_board(board_id, "partials/column_removed.html", column=column))


def column_counts_changed(board_id: int, column_id: int) -> str:
    return _sent(live.publish_board(board_id, "partials/column_counts.html", counts=column_counts([column_id]),
                                    oob=True))


def board_title_changed(board: Board) -> str:
    return _sent(live.publish_board(board.id, "partials/board_title_text.html", board=board))


def board_reloads(board_id: int) -> None:
    """Ask every open board to reload its columns (a change touching many cards)."""
    live.refresh_board(board_id)


def access_changed(board_id: int, user_id: int, login_id: int | None = None) -> None:
    """End the user's open streams of the board (their role changed or they left): their page
    reloads with what they may now see."""
    live.revoke(board_id, user_id, login_id)
