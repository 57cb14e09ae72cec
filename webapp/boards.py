"""Boards: the list of my boards, one board's page, rename, delete, search."""
import secrets
from datetime import date

from flask import Blueprint, abort, flash, g, make_response, redirect, render_template, request, session, url_for
from markupsafe import Markup
from flask_login import current_user
from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import contains_eager, selectinload

from .access import get_board_or_404, release_board_lock, require_login, standing_on_board
from .extensions import db
from .forms import BoardForm, ColumnForm
from .hypermedia import invalid, page_or_partial, updated, wants_fragment
from .live import stream_token
from .models import BOARD_COLORS, Board, BoardColumn, BoardMember, Card, User, role_at_least
from .operations import boards as board_operations
from .pagecache import TOKEN_PLACEHOLDER, Blanks, cached_render, page_cache_enabled, session_csrf_token
from .queries import CardFilters, board_context, filter_members

bp = Blueprint("boards", __name__, url_prefix="/boards")
bp.before_request(require_login)
bp.add_app_template_global(BOARD_COLORS, "board_palette")
# A change takes its board's lock (access.get_board_or_404); the request's end lets it go.
bp.teardown_app_request(release_board_lock)

STREAM_TOKEN_PLACEHOLDER = "stream-" + secrets.token_hex(16)  # in a cached board page


@bp.app_context_processor
def inject_board_url() -> dict:
    """`board_url` for every template rendered under a board, built once per response."""
    board_id = (request.view_args or {}).get("board_id")
    if not board_id:
        return {}
    role = g.get("board_role")
    return {"board_url": url_for("boards.show", board_id=board_id), "board_role": role,
            "can_edit": role_at_least(role, "editor"), "is_owner": role == "owner"}


MEMBER_COUNT = (select(func.count()).where(BoardMember.board_id == Board.id)
                .correlate(Board).scalar_subquery())


def my_boards() -> tuple[list, list]:
    """(the boards I own, the boards shared with me), each a list of (board, my role, members), by title."""
    rows = db.session.execute(
        select(Board, BoardMember.role, MEMBER_COUNT).join(BoardMember)
        .where(BoardMember.user_id == current_user.id).order_by(func.lower(Board.title), Board.id)
    ).all()
    return ([row for row in rows if row[0].owner_id == current_user.id],
            [row for row in rows if row[0].owner_id != current_user.id])


@bp.get("/")
def index():
    owned, shared = my_boards()
    return render_template("boards.html", owned=owned, shared=shared, form=BoardForm(formdata=None))


@bp.post("/")
def create():
    form = BoardForm()
    if not form.validate():
        return invalid(form, "partials/board_add_form.html", "New board")
    board = board_operations.create_board(form.title.data, form.color.data, actor=current_user)
    return redirect(url_for("boards.show", board_id=board.id), 303)


@bp.get("/<int:board_id>")
def show(board_id: int):
    filters = CardFilters.from_args(request.args)
    if wants_fragment():  # searching or filtering: the columns only
        return page_or_partial("board.html", "partials/columns.html",
                               **board_context(get_board_or_404(board_id), filters))
    if filters or session.get("_flashes") or not page_cache_enabled():  # a page shown once: not worth caching
        board = get_board_or_404(board_id)
        page = render_template("board.html", **board_body_context(board, filters),  # the body in the same render
                               stream_url=stream_url(board_id, stream_token(current_user.id, board_id, current_user.login_id)))
    else:
        page = cached_board_page(board_id)
    response = make_response(page)
    response.vary.add("HX-Request")
    return response


BOARD = select(Board).where(Board.id == bindparam("board_id"))  # built once: cheaper than session.get


def cached_board_page(board_id: int) -> bytes:
    """The whole board page, rendered once per version of the board, role, day and viewer;
    between changes a request costs one small query (the user's, see webapp/auth.py) and
    filling in its tokens."""
    g.board_role, version = standing_on_board(board_id)
    if g.board_role is None:
        abort(404, "No such board.")
    shown = (board_id, version, g.board_role, date.today())

    def render_page():
        board = db.session.execute(BOARD, {"board_id": board_id}).scalar_one()
        body = cached_render(("body", *shown), lambda: render_board_body(board, CardFilters()))
        return render_template("board.html", board=board, board_body=Markup(body),
                               stream_url=stream_url(board_id, STREAM_TOKEN_PLACEHOLDER))

    page = cached_render(("page", *shown, current_user.id, current_user.name, current_user.theme),
                         lambda: Blanks(render_page(), TOKEN_PLACEHOLDER, STREAM_TOKEN_PLACEHOLDER))
    return page.fill({TOKEN_PLACEHOLDER: session_csrf_token(),
                      STREAM_TOKEN_PLACEHOLDER: stream_token(current_user.id, board_id, current_user.login_id)})


def stream_url(board_id: int, token: str) -> str:
    return url_for("boards.show", board_id=board_id) + "/events?token=" + token


def render_board_body(board: Board, filters: CardFilters) -> str:
    return render_template("board_body.html", **board_body_context(board, filters))


def board_body_context(board: Board, filters: CardFilters) -> dict:
    """What templates/board_body.html shows: the columns and their cards, and for the filter bar
    the board's labels (from board_context) and members."""
    return {"members": filter_members(board.id), **board_context(board, filters)}


@bp.get("/<int:board_id>/title")
def title(board_id: int):
    board = get_board_or_404(board_id)
    if not wants_fragment():
        return redirect(url_for("boards.show", board_id=board.id))
    return render_template("partials/board_title.html", board=board)


@bp.get("/<int:board_id>/edit")
def edit(board_id: int):
    board = get_board_or_404(board_id, "owner")
    form = BoardForm(obj=board)
    return page_or_partial("form_page.html", "partials/board_title_form.html", board=board, form=form,
                           form_partial="partials/board_title_form.html", title="Rename board")


@bp.route("/<int:board_id>", methods=["PUT", "PATCH"])
def rename(board_id: int):
    board = get_board_or_404(board_id, "owner")
    form = BoardForm(data={"color": board.color})  # a form that sends no colour keeps the board's
    if not form.validate():
        return invalid(form, "partials/board_title_form.html", "Rename board", board=board)
    recolored = form.color.data != board.color
    board_operations.update_board(board, title=form.title.data, color=form.color.data, actor=current_user)
    response = make_response(updated("partials/board_title.html", url_for("boards.show", board_id=board.id), board=board))
    if recolored and wants_fragment():
        response.headers["HX-Refresh"] = "true"  # the backdrop behind the columns takes the new colour
    return response


@bp.get("/<int:board_id>/delete")
def delete_form(board_id: int):
    board = get_board_or_404(board_id, "owner")
    board_url = url_for("boards.show", board_id=board.id)
    return render_template("confirm_delete.html",
                           question=f"Delete the board “{board.title}” with all its columns and cards?",
                           detail="Everyone loses it, members included. This cannot be undone.",
                           action=board_url, button="Delete board", cancel_url=board_url)


@bp.delete("/<int:board_id>")
def delete(board_id: int):
    board = get_board_or_404(board_id, "owner")
    title = board.title
    board_operations.delete_board(board, actor=current_user)
    flash(f"Board “{title}” deleted.", "info")
    if wants_fragment():
        return "", 200, {"HX-Redirect": url_for("boards.index")}
    return redirect(url_for("boards.index"), 303)


@bp.get("/<int:board_id>/archive")
def archive(board_id: int):
    board = get_board_or_404(board_id)
    columns = db.session.scalars(
        select(BoardColumn).where(BoardColumn.board_id == board.id, BoardColumn.archived_at.is_not(None))
        .order_by(BoardColumn.archived_at.desc())).all()
    cards = db.session.scalars(
        select(Card).where(Card.board_id == board.id, Card.archived_at.is_not(None))
        .options(selectinload(Card.column)).order_by(Card.archived_at.desc())).all()
    return render_template("archive.html", board=board, archived_columns=columns, archived_cards=cards)
