"""Columns of a board: add, rename, reorder, delete."""
from flask import Blueprint, abort, redirect, render_template, url_for
from sqlalchemy import func, select

from .auth import require_login
from .boards import board_context, get_board_or_404
from .extensions import db
from .forms import ColumnForm, MoveColumnForm
from .hypermedia import invalid, page_or_partial, updated, wants_fragment
from .models import Board, BoardColumn
from .ordering import key_between

bp = Blueprint("columns", __name__, url_prefix="/boards/<int:board_id>/columns")
bp.before_request(require_login)


def get_column_or_404(board_id: int, column_id: int, role: str = "viewer") -> tuple[Board, BoardColumn]:
    board = get_board_or_404(board_id, role)
    return board, column_of(board, column_id)


def column_of(board: Board, column_id: int) -> BoardColumn:
    column = db.session.get(BoardColumn, column_id)
    if column is None or column.board_id != board.id:
        abort(404, "No such column.")
    return column


def board_url(board: Board) -> str:
    return url_for("boards.show", board_id=board.id)


def position_key(board: Board, index: int, moving: BoardColumn | None = None) -> str:
    """The order key that puts a column at `index` among the board's other columns."""
    statement = select(BoardColumn.position).where(BoardColumn.board_id == board.id)
    if moving is not None:
        statement = statement.where(BoardColumn.id != moving.id)
    keys = db.session.scalars(statement.order_by(BoardColumn.position, BoardColumn.id)).all()
    index = min(index, len(keys))
    before = keys[index - 1] if index > 0 else None
    after = keys[index] if index < len(keys) else None
    return key_between(before, after)


@bp.post("/")
def create(board_id: int):
    board = get_board_or_404(board_id, "editor")
    form = ColumnForm()
    if not form.validate():
        return invalid(form, "partials/column_add_form.html", "Add a column", board=board)
    last = db.session.scalar(select(func.max(BoardColumn.position)).where(BoardColumn.board_id == board.id))
    column = BoardColumn(board_id=board.id, title=form.title.data, position=key_between(last, None))
    db.session.add(column)
    db.session.commit()
    return updated("partials/column_created.html", board_url(board), board=board, column=column,
                   cards=[], column_form=ColumnForm(formdata=None))


@bp.get("/<int:column_id>")
def show(board_id: int, column_id: int):
    """The column's title, for HTMX (e.g. cancelling a rename); the board otherwise."""
    board, column = get_column_or_404(board_id, column_id)
    if not wants_fragment():
        return redirect(board_url(board))
    return render_template("partials/column_title.html", board=board, column=column)


@bp.get("/<int:column_id>/edit")
def edit(board_id: int, column_id: int):
    board, column = get_column_or_404(board_id, column_id, "editor")
    form = ColumnForm(obj=column)
    return page_or_partial("form_page.html", "partials/column_title_form.html", board=board,
                           column=column, form=form, form_partial="partials/column_title_form.html",
                           title="Rename column")


@bp.route("/<int:column_id>", methods=["PUT", "PATCH"])
def rename(board_id: int, column_id: int):
    board, column = get_column_or_404(board_id, column_id, "editor")
    form = ColumnForm()
    if not form.validate():
        return invalid(form, "partials/column_title_form.html", "Rename column", board=board, column=column)
    column.title = form.title.data
    db.session.commit()
    return updated("partials/column_title.html", board_url(board), board=board, column=column)


@bp.patch("/<int:column_id>/move")
def move(board_id: int, column_id: int):
    board, column = get_column_or_404(board_id, column_id, "editor")
    form = MoveColumnForm()
    if not form.validate():
        abort(422, "; ".join(error for errors in form.errors.values() for error in errors))
    column.position = position_key(board, form.position.data, moving=column)
    db.session.commit()
    return updated("partials/columns.html", board_url(board), column_form=ColumnForm(formdata=None),
                   **board_context(board))


@bp.delete("/<int:column_id>")
def delete(board_id: int, column_id: int):
    board, column = get_column_or_404(board_id, column_id, "editor")
    db.session.delete(column)
    db.session.commit()
    return updated(None, board_url(board))
