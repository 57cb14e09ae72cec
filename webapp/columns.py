"""Columns of a board: add, rename, reorder, WIP limits, archive and restore, delete."""
from flask import Blueprint, abort, redirect, render_template, url_for
from flask_login import current_user

from .access import get_board_or_404, get_column_or_404, require_login
from .forms import ColumnForm, MoveColumnForm, WipLimitForm
from .hypermedia import invalid, page_or_partial, updated, wants_fragment
from .models import Board
from .operations import columns as column_operations
from .operations.publish import column_counts
from .queries import board_context

bp = Blueprint("columns", __name__, url_prefix="/boards/<int:board_id>/columns")
bp.before_request(require_login)


def board_url(board: Board) -> str:
    return url_for("boards.show", board_id=board.id)


@bp.post("/")
def create(board_id: int):
    board = get_board_or_404(board_id, "editor")
    form = ColumnForm()
    if not form.validate():
        response = invalid(form, "partials/column_add_form.html", "Add a column", board=board, bare=True)
        response.headers["HX-Reswap"] = "outerHTML"
        return response
    column_operations.create_column(board, form.title.data, actor=current_user)
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
    column_operations.rename_column(column, form.title.data, actor=current_user)
    return updated("partials/column_title.html", board_url(board), board=board, column=column)


@bp.patch("/<int:column_id>/move")
def move(board_id: int, column_id: int):
    board, column = get_column_or_404(board_id, column_id, "editor")
    form = MoveColumnForm()
    if not form.validate():
        abort(422, "; ".join(error for errors in form.errors.values() for error in errors))
    column_operations.move_column(column, form.position.data, actor=current_user)
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
    column_operations.delete_column(column, actor=current_user)
    return updated(None, board_url(board))


@bp.patch("/<int:column_id>/wip")
def set_wip_limit(board_id: int, column_id: int):
    board, column = get_column_or_404(board_id, column_id, "editor")
    form = WipLimitForm()
    if not form.validate():
        abort(422, " ".join(error for errors in form.errors.values() for error in errors))
    column_operations.set_wip_limit(column, form.wip_limit.data, actor=current_user)
    return updated("partials/column_counts.html", board_url(board),
                   counts=column_counts([column.id]), oob=False)


@bp.patch("/<int:column_id>/archive")
def archive(board_id: int, column_id: int):
    board, column = get_column_or_404(board_id, column_id, "editor")
    column_operations.archive_column(column, actor=current_user)
    return updated(None, board_url(board))


@bp.patch("/<int:column_id>/restore")
def restore(board_id: int, column_id: int):
    board, column = get_column_or_404(board_id, column_id, "editor")
    column_operations.restore_column(column, actor=current_user)
    return updated(None, url_for("boards.archive", board_id=board.id))
