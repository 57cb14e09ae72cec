"""Columns of a board: add, rename, reorder, WIP limits, archive and restore, delete."""
from ..extensions import db
from ..models import Board, BoardColumn, utcnow
from ..ordering import place
from . import inputs, publish
from .activity import commit, record


def position_key(board: Board, index: int, moving: BoardColumn | None = None) -> str:
    """The order key that puts a column at `index` among the board's other columns that are
    shown (archived ones keep their keys but, hidden from the board, do not count); the board's
    columns are rebalanced in this transaction when no short key fits there."""
    return place(db.session, BoardColumn, BoardColumn.board_id == board.id, index, parent=(Board, board.id),
                 moving_id=moving.id if moving is not None else None, shown=BoardColumn.archived_at.is_(None))


def create_column(board: Board, title: str, *, actor) -> BoardColumn:
    """A new column at the right end of the board."""
    title = inputs.title(title)
    position = place(db.session, BoardColumn, BoardColumn.board_id == board.id, None, parent=(Board, board.id))
    column = BoardColumn(board_id=board.id, title=title, position=position)
    db.session.add(column)
    record(board.id, "column.created", actor=actor, column=column.title)
    commit(board.id, actor)
    publish.columns_changed(board)
    return column


def rename_column(column: BoardColumn, title: str, *, actor) -> BoardColumn:
    title = inputs.title(title)
    board_id = column.board_id
    record(board_id, "column.renamed", actor=actor, old=column.title, column=title)
    column.title = title
    commit(board_id, actor)
    publish.column_title_changed(board_id, column)
    return column


def move_column(column: BoardColumn, index: int, *, actor) -> BoardColumn:
    """Put the column at `index` (from 0) among the board's shown columns."""
    index = inputs.index(index)
    board = column.board
    column.position = position_key(board, index, moving=column)
    record(board.id, "column.moved", actor=actor, column=column.title)
    commit(board.id, actor)
    publish.columns_changed(board)
    return column


def set_wip_limit(column: BoardColumn, limit: int | None, *, actor) -> BoardColumn:
    """How many cards the column should hold at most (None: no limit); over it, it shows a warning."""
    column.wip_limit = inputs.wip_limit(limit)
    board_id, column_id = column.board_id, column.id
    record(board_id, "column.wip_changed", actor=actor, column=column.title, limit=column.wip_limit or "none")
    commit(board_id, actor)
    publish.column_counts_changed(board_id, column_id)
    return column


KEEP = object()  # an argument left out: the column keeps what it has


def update_column(column: BoardColumn, *, title=KEEP, wip_limit=KEEP, actor) -> BoardColumn:
    """Rename the column and/or set its WIP limit, in one transaction (both inputs are checked
    before anything changes)."""
    title = column.title if title is KEEP else inputs.title(title)
    wip_limit = column.wip_limit if wip_limit is KEEP else inputs.wip_limit(wip_limit)
    board_id, column_id = column.board_id, column.id
    renamed, limited = title != column.title, wip_limit != column.wip_limit
    if renamed:
        record(board_id, "column.renamed", actor=actor, old=column.title, column=title)
        column.title = title
    if limited:
        column.wip_limit = wip_limit
        record(board_id, "column.wip_changed", actor=actor, column=column.title, limit=column.wip_limit or "none")
    if not (renamed or limited):
        return column
    commit(board_id, actor)
    if renamed:
        publish.column_title_changed(board_id, column)
    if limited:
        publish.column_counts_changed(board_id, column_id)
    return column


def delete_column(column: BoardColumn, *, actor) -> None:
    """The column and every card in it go for good."""
    board_id = column.board_id
    record(board_id, "column.deleted", actor=actor, column=column.title)
    db.session.delete(column)
    commit(board_id, actor)
    publish.column_removed(board_id, column)


def archive_column(column: BoardColumn, *, actor) -> BoardColumn:
    """Out of sight with its cards, kept in the board's archive."""
    if column.archived_at is None:
        board_id = column.board_id
        column.archived_at = utcnow()
        record(board_id, "column.archived", actor=actor, column=column.title)
        commit(board_id, actor)
        publish.column_removed(board_id, column)
    return column


def restore_column(column: BoardColumn, *, actor) -> BoardColumn:
    if column.archived_at is not None:
        board = column.board
        column.archived_at = None
        record(board.id, "column.restored", actor=actor, column=column.title)
        commit(board.id, actor)
        publish.columns_changed(board)
    return column
