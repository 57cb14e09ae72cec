"""/api/v1/boards: the boards the caller is a member of; make, rename or recolour, delete one."""
from flask import g
from flask_smorest import Blueprint
from sqlalchemy import select

from ..access import as_utc, get_board_or_404
from ..models import Board, BoardMember
from ..operations import boards as board_operations
from . import schemas
from .auth import actor, load_actor
from .pagination import link_headers, page

blp = Blueprint("api_boards", __name__, description="Boards you are a member of")
blp.before_request(load_actor)


def board_body(board: Board, role: str) -> dict:
    return {"id": board.id, "title": board.title, "color": board.color, "role": role, "created_at": as_utc(board.created_at)}


@blp.get("/boards")
@blp.arguments(schemas.PageQuery, location="query", as_kwargs=True)
@blp.response(200, schemas.BoardPageSchema)
def list_boards(**args):
    """Your boards, oldest first, a page at a time."""
    statement = (select(Board, BoardMember.role).join(BoardMember)
                 .where(BoardMember.user_id == actor().id))
    rows, next_cursor = page(statement, Board.id, args)
    return {"items": [board_body(board, role) for board, role in rows], "next_cursor": next_cursor}, \
        link_headers(next_cursor)


@blp.post("/boards")
@blp.arguments(schemas.BoardCreateSchema)
@blp.response(201, schemas.BoardSchema)
def create_board(data):
    """A new board you own, with the columns To do, Doing and Done."""
    board = board_operations.create_board(data["title"], data["color"], actor=actor())
    return board_body(board, "owner")


@blp.get("/boards/<int:board_id>")
@blp.response(200, schemas.BoardSchema)
def get_board(board_id: int):
    board = get_board_or_404(board_id, user=actor())
    return board_body(board, g.board_role)


@blp.patch("/boards/<int:board_id>")
@blp.arguments(schemas.BoardPatchSchema)
@blp.response(200, schemas.BoardSchema)
def update_board(data, board_id: int):
    """Rename or recolour the board (owners only)."""
    board = get_board_or_404(board_id, "owner", user=actor())
    board = board_operations.update_board(board, title=data.get("title", board.title),
                                          color=data.get("color", board.color), actor=actor())
    return board_body(board, "owner")


@blp.delete("/boards/<int:board_id>")
@blp.response(204)
def delete_board(board_id: int):
    """The board and everything on it, for good (owners only)."""
    board = get_board_or_404(board_id, "owner", user=actor())
    board_operations.delete_board(board, actor=actor())
