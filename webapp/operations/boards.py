"""Boards: create one (with its first columns and labels), rename or recolour it, delete it."""
from ..extensions import db
from ..models import Board, BoardColumn, BoardMember, Label
from ..ordering import keys_after
from . import inputs, publish
from .activity import commit, record
from .events import Recorded

DEFAULT_COLUMNS = ("To do", "Doing", "Done")
# A new board's labels, as on Trello: one of each of these colours, unnamed, ready to name or use as they are.
DEFAULT_LABEL_COLORS = ("green", "yellow", "orange", "red", "purple", "blue")


def create_board(title: str, color: str, *, actor) -> Board:
    """A board owned by `actor`, with the columns To do, Doing and Done and six unnamed labels."""
    title, color = inputs.title(title), inputs.board_color(color)
    board = Board(title=title, color=color, owner_id=actor.id)
    board.members = [BoardMember(user_id=actor.id, role="owner")]
    board.columns = [BoardColumn(title=column_title, position=key)
                     for column_title, key in zip(DEFAULT_COLUMNS, keys_after(None, len(DEFAULT_COLUMNS)))]
    board.labels = [Label(name="", color=label_color) for label_color in DEFAULT_LABEL_COLORS]
    db.session.add(board)
    db.session.flush()
    board_id = board.id
    record(board_id, "board.created", actor=actor)
    commit(board_id, actor)
    return board


def update_board(board: Board, *, title: str, color: str, actor) -> Board:
    """Rename and recolour the board. Saving the same name and colour still records a rename."""
    title, color = inputs.title(title), inputs.board_color(color)
    recolored = color != board.color
    if recolored:
        board.color = color
        record(board.id, "board.recolored", actor=actor, color=board.color)
    if title != board.title or not recolored:
        board.title = title
        record(board.id, "board.renamed", actor=actor, title=board.title)
    commit(board.id, actor)
    publish.board_title_changed(board)
    return board


def rename_board(board: Board, title: str, *, actor) -> Board:
    return update_board(board, title=title, color=board.color, actor=actor)


def delete_board(board: Board, *, actor) -> None:
    """The board and everything on it go for good, its activity log too."""
    board_id, title = board.id, board.title
    db.session.delete(board)
    commit(board_id, actor, recorded=[Recorded(None, "board.deleted", {"title": title})])
