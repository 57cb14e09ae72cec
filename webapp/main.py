"""The landing page, "My cards", the keyboard shortcuts, the site icon and the liveness check."""
from itertools import groupby

from flask import Blueprint, redirect, render_template, url_for
from flask_login import current_user, login_required
from sqlalchemy import select
from sqlalchemy.orm import contains_eager

from .extensions import db
from .hypermedia import page_or_partial
from .models import Board, BoardColumn, BoardMember, Card, card_assignees

bp = Blueprint("main", __name__)


@bp.get("/")
def index():
    if current_user.is_authenticated:
        return redirect(url_for("boards.index"))
    return render_template("index.html")


@bp.get("/my-cards")
@login_required
def my_cards():
    """Every card assigned to me on the boards I belong to, grouped by board, soonest due first."""
    cards = db.session.scalars(
        select(Card)
        .join(card_assignees, card_assignees.c.card_id == Card.id)
        .join(Card.board).join(Card.column)
        .join(BoardMember, (BoardMember.board_id == Card.board_id) & (BoardMember.user_id == current_user.id))
        .where(card_assignees.c.user_id == current_user.id, Card.archived_at.is_(None),
               BoardColumn.archived_at.is_(None))
        .options(contains_eager(Card.board), contains_eager(Card.column))
        .order_by(Board.title, Board.id, Card.due_date.is_(None), Card.due_date, Card.title)
    ).all()
    groups = [(board, list(board_cards)) for board, board_cards in groupby(cards, key=lambda card: card.board)]
    return render_template("my_cards.html", groups=groups)


@bp.get("/shortcuts")
@login_required
def shortcuts():
    """The keyboard shortcuts: a page of its own, or the fragment the dialog shows."""
    return page_or_partial("shortcuts.html", "partials/shortcuts.html")


@bp.get("/favicon.ico")
def favicon():
    """Browsers and feed readers ask for /favicon.ico whatever the page says: point them at the icon."""
    return redirect(url_for("static", filename="favicon.svg"), 301)


@bp.get("/healthz")
def healthz():
    """Liveness: the process answers. Touches neither the database nor the session."""
    return {"status": "ok"}
