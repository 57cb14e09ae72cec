"""/api/v1/boards/<id>/columns: a board's columns in board order; add, rename, limit, move, archive."""
from flask_smorest import Blueprint
from sqlalchemy import select

from ..access import get_board_or_404, get_column_or_404
from ..extensions import db
from ..models import BoardColumn
from ..operations import columns as column_operations
from . import schemas
from .auth import actor, load_actor

blp = Blueprint("api_columns", __name__, description="A board's columns")
blp.before_request(load_actor)
COLUMN = "/boards/<int:board_id>/columns/<int:column_id>"


def column_body(column: BoardColumn) -> dict:
    return {"id": column.id, "board_id": column.board_id, "title": column.title, "wip_limit": column.wip_limit,
            "archived": column.archived_at is not None}


@blp.get("/boards/<int:board_id>/columns")
@blp.arguments(schemas.ColumnQuery, location="query", as_kwargs=True)
@blp.response(200, schemas.ColumnListSchema)
def list_columns(board_id: int, archived: bool):
    """The board's columns, left to right (or its archived ones)."""
    board = get_board_or_404(board_id, user=actor())
    shown = BoardColumn.archived_at.is_not(None) if archived else BoardColumn.archived_at.is_(None)
    columns = db.session.scalars(select(BoardColumn).where(BoardColumn.board_id == board.id, shown)
                                 .order_by(BoardColumn.position, BoardColumn.id))
    return {"items": [column_body(column) for column in columns]}


@blp.post("/boards/<int:board_id>/columns")
@blp.arguments(schemas.ColumnCreateSchema)
@blp.response(201, schemas.ColumnSchema)
def create_column(data, board_id: int):
    """A new column at the right end of the board."""
    board = get_board_or_404(board_id, "editor", user=actor())
    return column_body(column_operations.create_column(board, data["title"], actor=actor()))


@blp.get(COLUMN)
@blp.response(200, schemas.ColumnSchema)
def get_column(board_id: int, column_id: int):
    _, column = get_column_or_404(board_id, column_id, user=actor())
    return column_body(column)


@blp.patch(COLUMN)
@blp.arguments(schemas.ColumnPatchSchema)
@blp.response(200, schemas.ColumnSchema)
def update_column(data, board_id: int, column_id: int):
    """Rename the column and/or set its WIP limit (null or 0: none)."""
    _, column = get_column_or_404(board_id, column_id, "editor", user=actor())
    changes = {key: data[key] or None if key == "wip_limit" else data[key] for key in ("title", "wip_limit")
               if key in data}
    column_operations.update_column(column, **changes, actor=actor())
    return column_body(column)


@blp.post(COLUMN + "/move")
@blp.arguments(schemas.PositionSchema)
@blp.response(200, schemas.ColumnSchema)
def move_column(data, board_id: int, column_id: int):
    """Put the column at `position` (from 0) among the board's shown columns."""
    _, column = get_column_or_404(board_id, column_id, "editor", user=actor())
    return column_body(column_operations.move_column(column, data["position"], actor=actor()))


@blp.post(COLUMN + "/archive")
@blp.response(200, schemas.ColumnSchema)
def archive_column(board_id: int, column_id: int):
    """Out of sight with its cards, kept in the board's archive."""
    _, column = get_column_or_404(board_id, column_id, "editor", user=actor())
    return column_body(column_operations.archive_column(column, actor=actor()))


@blp.post(COLUMN + "/restore")
@blp.response(200, schemas.ColumnSchema)
def restore_column(board_id: int, column_id: int):
    _, column = get_column_or_404(board_id, column_id, "editor", user=actor())
    return column_body(column_operations.restore_column(column, actor=actor()))


@blp.delete(COLUMN)
@blp.response(204)
def delete_column(board_id: int, column_id: int):
    """The column and every card in it, for good."""
    _, column = get_column_or_404(board_id, column_id, "editor", user=actor())
    column_operations.delete_column(column, actor=actor())
