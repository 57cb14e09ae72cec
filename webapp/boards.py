"""Boards: the list of my boards, one board's page, rename, delete, search."""
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import or_, select

from .auth import require_login
from .extensions import db
from .forms import BoardForm, ColumnForm
from .hypermedia import invalid, page_or_partial, updated, wants_fragment
from .models import Board, BoardColumn, Card
from .ordering import keys_after

bp = Blueprint("boards", __name__, url_prefix="/boards")
bp.before_request(require_login)

DEFAULT_COLUMNS = ("To do", "Doing", "Done")


@bp.app_context_processor
def inject_board_url() -> dict:
    """`board_url` for every template rendered under a board, built once per response."""
    board_id = (request.view_args or {}).get("board_id")
    return {"board_url": url_for("boards.show", board_id=board_id)} if board_id else {}


def get_board_or_404(board_id: int) -> Board:
    """The board, if the current user may see it; otherwise 404, so its existence stays private."""
    board = db.session.get(Board, board_id)
    if board is None or board.owner_id != current_user.id:
        abort(404, "No such board.")
    return board


def board_cards(board: Board, query: str = "") -> dict[int, list]:
    """The board's cards grouped by column, in order, as light rows (one query)."""
    statement = (
        select(Card.id, Card.column_id, Card.title, (Card.description != "").label("has_description"))
        .where(Card.board_id == board.id)
        .order_by(Card.position, Card.id)
    )
    if query:
        pattern = "%" + query.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        statement = statement.where(or_(Card.title.ilike(pattern, escape="\\"),
                                        Card.description.ilike(pattern, escape="\\")))
    grouped: dict[int, list] = {}
    for row in db.session.execute(statement):
        grouped.setdefault(row.column_id, []).append(row)
    return grouped


def board_context(board: Board, query: str = "") -> dict:
    columns = db.session.scalars(
        select(BoardColumn).where(BoardColumn.board_id == board.id)
        .order_by(BoardColumn.position, BoardColumn.id)
    ).all()
    return {"board": board, "columns": columns, "cards": board_cards(board, query), "q": query}


@bp.get("/")
def index():
    boards = db.session.scalars(
        select(Board).where(Board.owner_id == current_user.id).order_by(Board.title, Board.id)
    ).all()
    return render_template("boards.html", boards=boards, form=BoardForm())


@bp.post("/")
def create():
    form = BoardForm()
    if not form.validate():
        return invalid(form, "partials/board_add_form.html", "New board")
    board = Board(title=form.title.data, owner_id=current_user.id)
    board.columns = [BoardColumn(title=title, position=key)
                     for title, key in zip(DEFAULT_COLUMNS, keys_after(None, len(DEFAULT_COLUMNS)))]
    db.session.add(board)
    db.session.commit()
    return redirect(url_for("boards.show", board_id=board.id), 303)


@bp.get("/<int:board_id>")
def show(board_id: int):
    board = get_board_or_404(board_id)
    query = request.args.get("q", "").strip()[:200]
    context = board_context(board, query)
    return page_or_partial("board.html", "partials/columns.html",
                           column_form=ColumnForm(formdata=None), **context)


@bp.get("/<int:board_id>/title")
def title(board_id: int):
    board = get_board_or_404(board_id)
    if not wants_fragment():
        return redirect(url_for("boards.show", board_id=board.id))
    return render_template("partials/board_title.html", board=board)


@bp.get("/<int:board_id>/edit")
def edit(board_id: int):
    board = get_board_or_404(board_id)
    form = BoardForm(obj=board)
    return page_or_partial("form_page.html", "partials/board_title_form.html", board=board, form=form,
                           form_partial="partials/board_title_form.html", title="Rename board")


@bp.route("/<int:board_id>", methods=["PUT", "PATCH"])
def rename(board_id: int):
    board = get_board_or_404(board_id)
    form = BoardForm()
    if not form.validate():
        return invalid(form, "partials/board_title_form.html", "Rename board", board=board)
    board.title = form.title.data
    db.session.commit()
    return updated("partials/board_title.html", url_for("boards.show", board_id=board.id), board=board)


@bp.delete("/<int:board_id>")
def delete(board_id: int):
    board = get_board_or_404(board_id)
    title = board.title
    db.session.delete(board)
    db.session.commit()
    flash(f"Board “{title}” deleted.", "info")
    if wants_fragment():
        return "", 200, {"HX-Redirect": url_for("boards.index")}
    return redirect(url_for("boards.index"), 303)
