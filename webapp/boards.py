"""Boards: the list of my boards, one board's page, rename, delete, search."""
import secrets
import threading
from collections import defaultdict
from datetime import date

from flask import Blueprint, abort, flash, g, make_response, redirect, render_template, request, session, url_for
from markupsafe import Markup
from flask_login import current_user
from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import contains_eager, selectinload

from .activity import record
from .auth import require_login, standing_on_board
from .extensions import db
from .forms import BoardForm, ColumnForm
from .hypermedia import invalid, page_or_partial, updated, wants_fragment
from .models import BOARD_COLORS, Board, BoardColumn, BoardMember, Card, Label, User, role_at_least
from .ordering import keys_after
from . import live
from .live import stream_token
from .pagecache import TOKEN_PLACEHOLDER, Blanks, cached_render, session_csrf_token
from .queries import CardFilters, card_faces, group_by_column

bp = Blueprint("boards", __name__, url_prefix="/boards")
bp.before_request(require_login)
bp.add_app_template_global(BOARD_COLORS, "board_palette")

DEFAULT_COLUMNS = ("To do", "Doing", "Done")
# A new board's labels, as on Trello: one of each of these colours, unnamed, ready to name or use as they are.
DEFAULT_LABEL_COLORS = ("green", "yellow", "orange", "red", "purple", "blue")
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


def get_board_or_404(board_id: int, role: str = "viewer") -> Board:
    """The board, if the current user is a member with at least `role`.

    A non-member gets 404, so a board's existence stays private; a member whose role
    falls short gets 403. The member's role is kept in `g.board_role` for the templates.
    """
    if role != "viewer":
        hold_board_lock(board_id)
    statement = BOARD_FOR_MEMBER if role == "viewer" else BOARD_FOR_MEMBER_TO_CHANGE
    row = db.session.execute(statement, {"board_id": board_id, "user_id": current_user.id}).first()
    if row is None:
        abort(404, "No such board.")
    board, g.board_role = row
    if not role_at_least(g.board_role, role):
        abort(403, NOT_ALLOWED[role])
    return board


# Changes to one board happen one at a time, each with its live update sent before the next
# begins, so that what every browser ends up showing is the board as it was last committed.
# This lock does it within a process (all the default SQLite set-up needs); across processes the
# row lock below (PostgreSQL) orders the commits and the version stamp orders the updates.
_board_locks: dict[int, threading.Lock] = defaultdict(threading.Lock)


def hold_board_lock(board_id: int) -> None:
    """Take the board's lock until the request ends (released in `release_board_lock`)."""
    if "board_lock" not in g:
        lock = _board_locks[board_id]
        lock.acquire()
        g.board_lock = lock


@bp.teardown_app_request
def release_board_lock(_error=None) -> None:
    lock = g.pop("board_lock", None)
    if lock is not None:
        lock.release()


# Built once: every request under a board runs one of these.
BOARD_FOR_MEMBER = (
    select(Board, BoardMember.role)
    .join(BoardMember)
    .where(Board.id == bindparam("board_id"), BoardMember.user_id == bindparam("user_id"))
)
# Changes to one board happen one at a time (PostgreSQL; SQLite serializes writes anyway),
# so each change's live update shows every change committed before it.
BOARD_FOR_MEMBER_TO_CHANGE = BOARD_FOR_MEMBER.with_for_update(of=Board)


NOT_ALLOWED = {
    "editor": "Viewers can look but not change this board. Ask an owner for editor access.",
    "owner": "Only the board's owners can do that.",
}


def board_context(board: Board, filters: CardFilters | None = None) -> dict:
    """Everything the board page and its columns partial show."""
    filters = filters or CardFilters()
    columns = db.session.scalars(
        select(BoardColumn).where(BoardColumn.board_id == board.id, BoardColumn.archived_at.is_(None))
        .order_by(BoardColumn.position, BoardColumn.id)
    ).all()
    # Filtered, a column shows fewer cards than it holds: its count and WIP warning need the real total.
    totals = dict(db.session.execute(
        select(Card.column_id, func.count()).where(Card.board_id == board.id, Card.archived_at.is_(None))
        .group_by(Card.column_id)).all()) if filters else None
    return {"board": board, "columns": columns, "filters": filters, "q": filters.text,
            "cards": group_by_column(card_faces(board.id, filters=filters)),
            "column_totals": totals and {column.id: totals.get(column.id, 0) for column in columns}}


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
    board = Board(title=form.title.data, color=form.color.data, owner_id=current_user.id)
    board.members = [BoardMember(user_id=current_user.id, role="owner")]
    board.columns = [BoardColumn(title=title, position=key)
                     for title, key in zip(DEFAULT_COLUMNS, keys_after(None, len(DEFAULT_COLUMNS)))]
    board.labels = [Label(name="", color=color) for color in DEFAULT_LABEL_COLORS]
    db.session.add(board)
    db.session.flush()
    record(board.id, "board.created")
    db.session.commit()
    return redirect(url_for("boards.show", board_id=board.id), 303)


@bp.get("/<int:board_id>")
def show(board_id: int):
    filters = CardFilters.from_args(request.args)
    if wants_fragment():  # searching or filtering: the columns only
        return page_or_partial("board.html", "partials/columns.html",
                               **board_context(get_board_or_404(board_id), filters))
    if filters or session.get("_flashes"):  # a page shown once: not worth caching
        board = get_board_or_404(board_id)
        page = render_template("board.html", board=board, board_body=Markup(render_board_body(board, filters)),
                               stream_url=stream_url(board_id, stream_token(current_user.id, board_id, current_user.login_id)))
    else:
        page = cached_board_page(board_id)
    response = make_response(page)
    response.vary.add("HX-Request")
    return response


def cached_board_page(board_id: int) -> bytes:
    """The whole board page, rendered once per version of the board, role, day and viewer;
    between changes a request costs one small query (the user's, see webapp/auth.py) and
    filling in its tokens."""
    g.board_role, version = standing_on_board(board_id)
    if g.board_role is None:
        abort(404, "No such board.")
    shown = (board_id, version, g.board_role, date.today())

    def render_page():
        board = db.session.get(Board, board_id)
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
    # The filter bar offers the board's labels and members.
    members = db.session.scalars(
        select(BoardMember).join(BoardMember.user).where(BoardMember.board_id == board.id)
        .options(contains_eager(BoardMember.user)).order_by(User.name)).all()
    return render_template("board_body.html", labels=board.labels, members=members,
                           column_form=ColumnForm(formdata=None), **board_context(board, filters))


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
    if recolored:
        board.color = form.color.data
        record(board.id, "board.recolored", color=board.color)
    if form.title.data != board.title or not recolored:  # as before: a save of the same name says so too
        board.title = form.title.data
        record(board.id, "board.renamed", title=board.title)
    db.session.commit()
    live.publish_board(board.id, "partials/board_title_text.html", board=board)
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
    db.session.delete(board)
    db.session.commit()
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
