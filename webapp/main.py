"""The landing page, "My cards", the keyboard shortcuts, the site icon, and the liveness and
readiness checks."""
import asyncio
import logging
import os
import threading
from itertools import groupby

from flask import Blueprint, current_app, redirect, render_template, url_for
from flask_login import current_user, login_required
from sqlalchemy import select, text
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
    """Liveness: the process answers. Touches neither the database nor the session (/readyz does)."""
    return {"status": "ok"}


# Readiness checks in flight at most. Each runs in a thread of its own (a daemon: a check stuck
# on a stalled server, which no timeout of ours can interrupt, neither holds a thread that serves
# pages nor keeps the process from exiting); once this many are stuck, a check answers "timed
# out" at once, which is still the truth.
CHECKS_IN_FLIGHT = threading.BoundedSemaphore(8)
log = logging.getLogger(__name__)


@bp.get("/readyz")
async def readyz():
    """Readiness: the database answers, and Redis when REDIS_URL is set, each within READY_TIMEOUT
    seconds, checked at the same time. 503 names what is down."""
    timeout = current_app.config["READY_TIMEOUT"]
    checks = {"database": (ping_database, db.engine)}
    redis_url = current_app.config.get("REDIS_URL", os.environ.get("REDIS_URL"))
    if redis_url:
        checks["redis"] = (ping_redis, redis_url, timeout)
    results = await asyncio.gather(*(check(name, timeout, *call) for name, call in checks.items()))
    answers = dict(zip(checks, results))
    ready = all(answer == "ok" for answer in answers.values())
    body = {"status": "ready" if ready else "unavailable", "checks": answers}
    return body, 200 if ready else 503, {"Cache-Control": "no-store"}


async def check(name: str, timeout: float, function, *args) -> str:
    """"ok", "timed out after 1.0 s", or "failed: <error class>" (the details go to the log)."""
    loop = asyncio.get_running_loop()
    outcome = loop.create_future()

    def run() -> None:
        try:
            function(*args)
            error = None
        except Exception as failure:
            error = failure
        finally:
            CHECKS_IN_FLIGHT.release()
        try:
            loop.call_soon_threadsafe(_settle, outcome, error)
        except RuntimeError:  # too late: the answer has gone and its event loop is closed
            pass

    if not CHECKS_IN_FLIGHT.acquire(blocking=False):
        log.warning("Readiness: %s not checked, earlier checks are still waiting for an answer", name)
        return f"timed out after {timeout:.1f} s"
    threading.Thread(target=run, name=f"readyz-{name}", daemon=True).start()
    try:
        error = await asyncio.wait_for(outcome, timeout)
    except TimeoutError:
        log.warning("Readiness: %s did not answer within %.1f s", name, timeout)
        return f"timed out after {timeout:.1f} s"
    if error is not None:
        log.warning("Readiness: %s failed: %s", name, error)
        return f"failed: {type(error).__name__}"
    return "ok"


def _settle(outcome: asyncio.Future, error: Exception | None) -> None:
    if not outcome.done():  # else timed out: cancelled
        outcome.set_result(error)


def ping_database(engine) -> None:
    with engine.connect() as connection:
        connection.execute(text("SELECT 1"))


def ping_redis(url: str, timeout: float) -> None:
    import redis
    # Longer than the check waits (so the answer says "timed out"), but not for ever.
    client = redis.Redis.from_url(url, socket_timeout=timeout + 1, socket_connect_timeout=timeout + 1)
    try:
        client.ping()
    finally:
        client.close()
