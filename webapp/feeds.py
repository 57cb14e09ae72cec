"""Calendar feeds of due dates: "My cards", and each board, at secret addresses a calendar app polls.

    /feeds/<secret>/my-cards.ics            the cards assigned to me, on boards I am still on
    /feeds/<secret>/boards/<board_id>.ics   one board's cards, while I am a member of it

Each due date is an all-day event. Calendar apps fetch these without logging in, so the address is
the key: its secret is "<user id>.<signature>", the signature an HMAC (SECRET_KEY) of the user's
random feed key. The database holds only that key, so a copy of it opens no feed; "Reset feed
address" draws a new key and every address made from the old one stops working. Membership is
checked on every fetch, so leaving a board ends its feed too.

A feed answers in two statements whatever it holds, touches no session and sets no cookie; a
wrong address and a board one is not on get the same bare 404, which says nothing more. Its
ETag is a digest of what it shows, so a calendar app polling an unchanged feed gets a 304.
"""
import base64
import hashlib
import hmac
import secrets
from datetime import timedelta
from urllib.parse import urlsplit

from flask import Blueprint, Response, current_app, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from icalendar import Calendar, Event
from sqlalchemy import and_, bindparam, select

from .access import as_utc
from .extensions import db
from .hypermedia import wants_fragment
from .mail import external_url
from .models import Board, BoardColumn, BoardMember, Card, User, card_assignees
from .pagecache import RenderedCache
from .security import parse_id

bp = Blueprint("feeds", __name__)

SIGNATURE_LENGTH = 32  # base64 characters of the HMAC: 192 bits
# Calendar apps poll every few minutes to hours; a few minutes' staleness is what they expect.
FEED_MAX_AGE = 300
FEEDS_KEPT = 32  # built calendars kept in memory, a few hundred KB at most each
FEED_FORMAT = 1  # part of every feed's ETag: a change to how events are written changes them all

_OWNER = select(User.id, User.feed_key).where(User.id == bindparam("user_id"))
_OWNER_ON_BOARD = (
    select(User.id, User.feed_key, BoardMember.role, Board.title.label("board_title"))
    .select_from(User)
    .outerjoin(BoardMember, and_(BoardMember.user_id == User.id, BoardMember.board_id == bindparam("board_id")))
    .outerjoin(Board, Board.id == BoardMember.board_id)
    .where(User.id == bindparam("user_id"))
)
_DUE_CARD = (
    select(Card.id, Card.board_id, Card.title, Card.due_date, Card.updated_at,
           BoardColumn.title.label("column_title"), Board.title.label("board_title"))
    .join(BoardColumn, BoardColumn.id == Card.column_id)
    .join(Board, Board.id == Card.board_id)
    .where(Card.due_date.is_not(None), Card.archived_at.is_(None), BoardColumn.archived_at.is_(None))
    .order_by(Card.due_date, Card.id)
)
MY_DUE_CARDS = (
    _DUE_CARD
    .join(card_assignees, and_(card_assignees.c.card_id == Card.id, card_assignees.c.user_id == bindparam("user_id")))
    .join(BoardMember, and_(BoardMember.board_id == Card.board_id, BoardMember.user_id == bindparam("user_id")))
)
BOARD_DUE_CARDS = _DUE_CARD.where(Card.board_id == bindparam("board_id"))


# --- Addresses --------------------------------------------------------------------------------

def signature(user_id: int, feed_key: str) -> str:
    key = current_app.config["SECRET_KEY"]
    key = key.encode() if isinstance(key, str) else key
    digest = hmac.new(key, f"calendar-feed:{user_id}:{feed_key}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode()[:SIGNATURE_LENGTH]


def feed_secret(user_id: int, feed_key: str) -> str:
    return f"{user_id}.{signature(user_id, feed_key)}"


def secret_matches(secret: str, user_id: int, feed_key: str | None) -> bool:
    return feed_key is not None and hmac.compare_digest(secret.encode(), feed_secret(user_id, feed_key).encode())


def user_id_in(secret: str) -> int | None:
    user_id, dot, _ = secret.partition(".")
    return parse_id(user_id) if dot else None


def new_feed_key() -> str:
    return secrets.token_hex(32)  # 64 characters, as the column holds


# --- The feeds --------------------------------------------------------------------------------

def not_found() -> Response:
    # Plain text, not the error page: that page would start a session (its forms' CSRF token).
    return Response("No such calendar feed.\n", 404, mimetype="text/plain")


@bp.get("/feeds/<secret>/my-cards.ics")
def my_cards(secret: str):
    user_id = user_id_in(secret)
    owner = db.session.execute(_OWNER, {"user_id": user_id}).first() if user_id else None
    if owner is None or not secret_matches(secret, owner.id, owner.feed_key):
        return not_found()
    cards = db.session.execute(MY_DUE_CARDS, {"user_id": owner.id}).all()
    return calendar_response("Corkboard: My cards", cards, "my-cards.ics")


@bp.get("/feeds/<secret>/boards/<int:board_id>.ics")
def board(secret: str, board_id: int):
    user_id = user_id_in(secret)
    owner = db.session.execute(_OWNER_ON_BOARD, {"user_id": user_id, "board_id": board_id}).first() if user_id else None
    if owner is None or not secret_matches(secret, owner.id, owner.feed_key) or owner.role is None:
        return not_found()
    cards = db.session.execute(BOARD_DUE_CARDS, {"board_id": board_id}).all()
    return calendar_response(f"Corkboard: {owner.board_title}", cards, f"board-{board_id}.ics")


def calendar_response(name: str, cards, filename: str) -> Response:
    site = external_url("main.index")
    # Apps that poll send the ETag back. It is a digest of everything the feed shows, taken from
    # the rows already loaded, so an unchanged feed costs them a 304 and us no calendar to build
    # (icalendar takes about half a millisecond an event).
    shown = repr((FEED_FORMAT, name, site, [tuple(card) for card in cards]))
    etag = hashlib.sha256(shown.encode()).hexdigest()[:32]
    if request.if_none_match.contains(etag):
        response = Response(status=304)
    else:
        # Every member of a board is sent the same calendar: built once per change, kept by its
        # digest (a changed feed has another, so nothing needs forgetting).
        built = current_app.extensions.setdefault("calendar_feeds", RenderedCache(FEEDS_KEPT))
        body = built.get(etag)
        if body is None:
            body = build_calendar(name, cards, urlsplit(site).hostname or "corkboard")
            built.put(etag, body)
        response = Response(body, content_type="text/calendar; charset=utf-8")
        response.headers["Content-Disposition"] = f'inline; filename="{filename}"'
    response.set_etag(etag)
    response.cache_control.private = True
    response.cache_control.max_age = FEED_MAX_AGE
    return response


def build_calendar(name: str, cards, host: str) -> bytes:
    calendar = Calendar()
    calendar.add("prodid", "-//Corkboard//Due dates//EN")
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add("x-wr-calname", name)
    for card in cards:
        calendar.add_component(due_event(card, host))
    return calendar.to_ical()


def due_event(card, host: str) -> Event:
    """An all-day event on the card's due date (DTEND is exclusive: the next day)."""
    card_url = external_url("cards.show", board_id=card.board_id, card_id=card.id)
    changed = as_utc(card.updated_at)
    event = Event()
    event.add("uid", f"card-{card.id}@{host}")
    event.add("summary", card.title)
    event.add("description", f"{card.column_title} · {card.board_title}\n{card_url}")
    event.add("url", card_url)
    event.add("dtstart", card.due_date)
    event.add("dtend", card.due_date + timedelta(days=1))
    event.add("dtstamp", changed)
    event.add("last-modified", changed)
    event.add("transp", "TRANSPARENT")  # a due date doesn't make anyone busy
    return event


# --- The account's feeds page -------------------------------------------------------------------

@bp.get("/account/feeds")
@login_required
def index():
    return render_feeds_page()


@bp.get("/account/feeds/reset")
@login_required
def reset_form():
    """Without JavaScript, "Reset feed address" opens the page asking first (htmx asks in a dialog)."""
    return render_feeds_page(confirm_reset=True)


def render_feeds_page(confirm_reset: bool = False):
    feed_key = db.session.scalar(select(User.feed_key).where(User.id == current_user.id))
    boards = db.session.execute(
        select(Board.id, Board.title).join(BoardMember, BoardMember.board_id == Board.id)
        .where(BoardMember.user_id == current_user.id).order_by(Board.title, Board.id)
    ).all()
    secret = feed_secret(current_user.id, feed_key) if feed_key else None
    return render_template("feeds.html", secret=secret, boards=boards,
                           confirm_reset=confirm_reset and secret is not None)


@bp.post("/account/feeds/reset")
@login_required
def reset():
    """A new feed key: every address made from the old one stops working (or, the first time,
    the feeds get their addresses)."""
    user = db.session.get(User, current_user.id)
    user.feed_key = new_feed_key()
    db.session.commit()
    if wants_fragment():
        return "", 200, {"HX-Redirect": url_for("feeds.index")}  # the whole page has new addresses
    return redirect(url_for("feeds.index"), 303)


@bp.app_template_global("feed_url")
def feed_url(secret: str, board_id: int | None = None) -> str:
    if board_id is None:
        return external_url("feeds.my_cards", secret=secret)
    return external_url("feeds.board", secret=secret, board_id=board_id)
