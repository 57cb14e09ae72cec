"""Columns of a board: add, rename, reorder, WIP limits, archive and restore, delete."""
from flask import Blueprint, abort, redirect, render_template, url_for
from sqlalchemy import and_, bindparam, func, select

from . import live
from .activity import record
from .auth import require_login
from .boards import board_context, get_board_or_404
from .extensions import db
from .forms import ColumnForm, MoveColumnForm, WipLimitForm
from .hypermedia import invalid, page_or_partial, updated, wants_fragment
from .models import Board, BoardColumn, Card, utcnow
from .ordering import place

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


COLUMN_COUNTS = (  # built once: every live update of a card list runs it
    select(BoardColumn, func.count(Card.id))
    .outerjoin(Card, and_(Card.column_id == BoardColumn.id, Card.archived_at.is_(None)))
    .where(BoardColumn.id.in_(bindparam("column_ids", expanding=True))).group_by(BoardColumn.id)
)


def column_counts(column_ids) -> list[tuple[BoardColumn, int]]:
    """Columns with how many active cards they hold, for their header counts and WIP warnings."""
    return db.session.execute(COLUMN_COUNTS, {"column_ids": list(column_ids)}).tuples().all()


def publish_columns(board: Board) -> None:
    """Send the whole board to every open board (columns were added or reordered)."""
    live.publish_board(board.id, "partials/columns.html", oob=True, column_form=ColumnForm(formdata=None),
                       **board_context(board))


def board_url(board: Board) -> str:
    return url_for("boards.show", board_id=board.id)


def position_key(board: Board, index: int, moving: BoardColumn | None = None) -> str:
    """The order key that puts a column at `index` among the board's other columns that are
    shown (archived ones keep their keys but, hidden from the board, do not count); the board's
    columns are rebalanced in this transaction when no short key fits there."""
    return place(db.session, BoardColumn, BoardColumn.board_id == board.id, index, parent=(Board, board.id),
                 moving_id=moving.id if moving is not None else None, shown=BoardColumn.archived_at.is_(None))


@bp.post("/")
def create(board_id: int):
    board = get_board_or_404(board_id, "editor")
    form = ColumnForm()
    if not form.validate():
        response = invalid(form, "partials/column_add_form.html", "Add a column", board=board, bare=True)
        response.headers["HX-Reswap"] = "outerHTML"
        return response
    position = place(db.session, BoardColumn, BoardColumn.board_id == board.id, None, parent=(Board, board.id))
    column = BoardColumn(board_id=board.id, title=form.title.data, position=position)
    db.session.add(column)
    record(board.id, "column.created", column=column.title)
    db.session.commit()
    publish_columns(board)
    # The author gets the same whole board (so the live update and this response can come in
    # either order), with the add-column field focused for the next one.
    return updated("partials/columns.html", board_url(board), oob=True, focus_add_column=True,
                   column_form=ColumnForm(formdata=None), **board_context(board))


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
    record(board.id, "column.renamed", old=column.title, column=form.title.data)
    column.title = form.title.data
    db.session.commit()
    live.publish_board(board.id, "partials/column_title.html", column=column, oob=True)
    return updated("partials/column_title.html", board_url(board), board=board, column=column)


@bp.patch("/<int:column_id>/move")
def move(board_id: int, column_id: int):
    board, column = get_column_or_404(board_id, column_id, "editor")
    form = MoveColumnForm()
    if not form.validate():
        abort(422, "; ".join(error for errors in form.errors.values() for error in errors))
    column.position = position_key(board, form.position.data, moving=column)
    record(board.id, "column.moved", column=column.title)
    db.session.commit()
    publish_columns(board)
    return updated("partials/columns.html", board_url(board), column_form=ColumnForm(formdata=None),
                   **board_context(board))


@bp.get("/<int:column_id>/delete")
def delete_form(board_id: int, column_id: int):
    board, column = get_column_or_404(board_id, column_id, "editor")
    return render_template("confirm_delete.html", question=f"Delete the column “{column.title}” and its cards?",
                           detail="Every card in it goes too. This cannot be undone; archiving the column "
                                  "keeps it out of sight instead.",
                           action=url_for("columns.delete", board_id=board.id, column_id=column.id),
                           button="Delete column", cancel_url=board_url(board))


@bp.delete("/<int:column_id>")
def delete(board_id: int, column_id: int):
    board, column = get_column_or_404(board_id, column_id, "editor")
    record(board.id, "column.deleted", column=column.title)
    db.session.delete(column)
    db.session.commit()
    live.publish_board(board.id, "partials/column_removed.html", column=column)
    return updated(None, board_url(board))


@bp.patch("/<int:column_id>/wip")
def set_wip_limit(board_id: int, column_id: int):
    board, column = get_column_or_404(board_id, column_id, "editor")
    form = WipLimitForm()
    if not form.validate():
        abort(422, " ".join(error for errors in form.errors.values() for error in errors))
    column.wip_limit = form.wip_limit.data or None
    record(board.id, "column.wip_changed", column=column.title, limit=column.wip_limit or "none")
    db.session.commit()
    live.publish_board(board.id, "partials/column_counts.html", counts=column_counts([column.id]), oob=True)
    return updated("partials/column_counts.html", board_url(board),
                   counts=column_counts([column.id]), oob=False)


@bp.patch("/<int:column_id>/archive")
def archive(board_id: int, column_id: int):
    board, column = get_column_or_404(board_id, column_id, "editor")
    if column.archived_at is None:
        column.archived_at = utcnow()
        record(board.id, "column.archived", column=column.title)
        db.session.commit()
        live.publish_board(board.id, "partials/column_removed.html", column=column)
    return updated(None, board_url(board))


@bp.patch("/<int:column_id>/restore")
def restore(board_id: int, column_id: int):
    board, column = get_column_or_404(board_id, column_id, "editor")
    if column.archived_at is not None:
        column.archived_at = None
        record(board.id, "column.restored", column=column.title)
        db.session.commit()
        publish_columns(board)
    return updated(None, url_for("boards.archive", board_id=board.id))
