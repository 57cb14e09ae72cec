"""Webhooks: a board's owners name URLs that hear about the board's changes.

Every committed change (the `board_changed` signal) queues one delivery per matching active
hook, in a short transaction of its own; a sender thread per process, woken by the first
delivery it is handed, POSTs them outside any request, signed, and retries a failure with
growing delays before giving up. Each attempt is logged on the board's webhooks page,
`/boards/<id>/webhooks`, which also sends a `ping` to every hook at once ("Send test").
docs/webhooks.md says what a receiver gets and how it checks the signature.
"""
import asyncio
import hashlib
import hmac
import ipaddress
import json
import logging
import os
import re
import secrets
import socket
import threading
import time
from datetime import datetime, timedelta, timezone
from urllib.parse import urlsplit

import httpx
from flask import Blueprint, abort, current_app, flash, g, redirect, render_template, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import func, insert, inspect, select, update
from wtforms import BooleanField, SelectMultipleField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length

from .access import NOT_ALLOWED, get_board_or_404, may_have_webhooks, require_login
from .extensions import db
from .hypermedia import page_or_partial, updated, wants_fragment
from .models import Board, User, Webhook, WebhookDelivery, utcnow
from .operations.events import board_changed

log = logging.getLogger(__name__)

bp = Blueprint("webhooks", __name__)
bp.before_request(require_login)

# The events are the activity log's verbs, grouped as the page shows them.
EVENT_GROUPS = {
    "Cards": ["card.created", "card.edited", "card.moved", "card.reordered", "card.archived", "card.restored",
              "card.deleted", "card.dates_changed", "card.labeled", "card.unlabeled", "card.assigned",
              "card.unassigned"],
    "Checklists, comments and attachments": [
        "checklist.added", "checklist.checked", "checklist.unchecked", "checklist.deleted",
        "comment.added", "comment.edited", "comment.deleted", "attachment.added", "attachment.deleted"],
    "Columns": ["column.created", "column.renamed", "column.moved", "column.wip_changed", "column.archived",
                "column.restored", "column.deleted"],
    "Labels": ["label.created", "label.edited", "label.deleted"],
    "Board and members": ["board.created", "board.renamed", "board.recolored", "board.deleted",
                          "member.invited", "invitation.revoked", "member.joined", "member.left",
                          "member.removed", "member.role_changed"],
}
EVENTS = [verb for verbs in EVENT_GROUPS.values() for verb in verbs]
ALL_EVENTS = "*"
PING = "ping"

URL_MAX = 2000
DELIVERIES_SHOWN = 20
EXCERPT_MAX = 500
TIMEOUT = 5.0  # seconds, each attempt; a hanging receiver holds the sender no longer
# After a failed attempt, the wait before the next one; after the last, the delivery has failed.
RETRY_DELAYS = (10, 60, 300, 1800, 7200)
# A delivery being sent by a process that died is sent again after this long.
SENDING_LEASE = timedelta(seconds=120)
MAX_FAILURES = 5  # the sender stops after this many failures in a row to reach the database
IDLE_WAKE = 60.0  # seconds: the sender looks for due deliveries at least this often while any wait
USER_AGENT = "Corkboard-Webhooks/1"
CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def init_app(app) -> None:
    app.config.setdefault("WEBHOOK_TIMEOUT", float(os.environ.get("WEBHOOK_TIMEOUT") or TIMEOUT))
    app.config.setdefault("WEBHOOK_RETRY_DELAYS", RETRY_DELAYS)
    app.config.setdefault("WEBHOOKS_ALLOW_PRIVATE", os.environ.get("WEBHOOKS_ALLOW_PRIVATE", "") not in ("", "0"))


@bp.record_once
def _configure(state) -> None:
    init_app(state.app)


# --- Signing and addresses ---------------------------------------------------------------

def new_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


def signature(secret: str, timestamp: int, body: str) -> str:
    """`Corkboard-Signature`: HMAC-SHA256 of "<timestamp>.<body>", with the hook's secret."""
    digest = hmac.new(secret.encode(), f"{timestamp}.{body}".encode(), hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def headers_for(delivery_id: int, event: str, secret: str, body: str) -> dict:
    return {"Content-Type": "application/json", "User-Agent": USER_AGENT, "Corkboard-Event": event,
            "Corkboard-Delivery": str(delivery_id), "Corkboard-Signature": signature(secret, int(time.time()), body)}


class RefusedURL(ValueError):
    """A hook URL Corkboard will not send to, with the reason as people read it."""


def check_url(url: str, allow_private: bool) -> None:
    """http or https, to a host on the public internet: a hook must not become a way to reach
    the machines beside Corkboard (its database, a cloud's metadata service) unless the
    setting WEBHOOKS_ALLOW_PRIVATE says the receivers live there."""
    try:
        parts = urlsplit(url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise RefusedURL("That is not a valid URL.") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise RefusedURL("Use an http:// or https:// URL.")
    if parts.username or parts.password:
        raise RefusedURL("Leave the user name and password out of the URL.")
    if allow_private:
        return
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(parts.hostname, port, type=socket.SOCK_STREAM)}
    except (OSError, UnicodeError):
        raise RefusedURL(f"The host {parts.hostname} could not be found.") from None
    for address in addresses:
        ip = ipaddress.ip_address(address.split("%")[0])
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
            ip = ip.ipv4_mapped
        if not ip.is_global or ip.is_multicast:
            raise RefusedURL("That address is on a private network: Corkboard only sends to public addresses.")


# --- Queueing: after each committed change ----------------------------------------------

def payload(event: str, board: dict, actor: dict | None, data: dict, event_id: int | None = None) -> str:
    return json.dumps({"id": event_id, "event": event, "created_at": utcnow().isoformat(),
                       "board": board, "actor": actor, "data": data}, separators=(",", ":"), default=str)


def wants(hook_events, verb: str) -> bool:
    return ALL_EVENTS in hook_events or verb in hook_events


@board_changed.connect
def queue_deliveries(app, board_id, activities, actor) -> None:
    """One delivery per activity and matching active hook, in a transaction of its own on its
    own connection: the change's session (committed already) is left exactly as it was."""
    if not may_have_webhooks(board_id):
        return
    try:
        queued = _queue(board_id, activities, _identity(actor))
    except Exception:
        log.exception("Could not queue the webhooks of board %s", board_id)
        return
    if queued:
        sender_for(app).wake()


def _identity(actor) -> int | None:
    """The actor's id without loading anything through the change's session."""
    state = inspect(actor, raiseerr=False)
    if state is not None and state.identity:
        return state.identity[0]
    return getattr(actor, "id", None)


def _queue(board_id: int, activities, actor_id: int | None) -> int:
    with db.engine.begin() as connection:
        hooks = connection.execute(select(Webhook.id, Webhook.events).where(
            Webhook.board_id == board_id, Webhook.active.is_(True))).all()
        if not hooks:
            return 0
        title = connection.scalar(select(Board.title).where(Board.id == board_id))
        name = connection.scalar(select(User.name).where(User.id == actor_id)) if actor_id else None
        board = {"id": board_id, "title": title if title is not None else _deleted_title(activities)}
        person = {"id": actor_id, "name": name} if actor_id else None
        rows = [{"webhook_id": hook.id, "event": activity.verb, "status": "queued", "attempts": 0,
                 "next_attempt_at": utcnow(),
                 "payload": payload(activity.verb, board, person,
                                    {**activity.details, "card_id": activity.card_id}, activity.id)}
                for activity in activities for hook in hooks if wants(hook.events or [], activity.verb)]
        if rows:
            connection.execute(insert(WebhookDelivery), rows)
        return len(rows)


def _deleted_title(activities) -> str | None:
    return next((a.details.get("title") for a in activities if a.verb == "board.deleted"), None)


# --- Sending: a thread per process, outside every request --------------------------------

class Sender:
    """Sends an app's due deliveries, one at a time, in a daemon thread that runs while there
    is work: the first queued delivery starts it, and it stops when nothing waits any more.

    Deliveries live in the database, so several processes may each run a sender: a delivery
    is claimed by an UPDATE that only one of them can win."""

    def __init__(self, app):
        self.app = app
        self._lock = threading.Lock()
        self._wakeup = threading.Event()
        self._thread: threading.Thread | None = None
        self._stopped = False

    def wake(self) -> None:
        with self._lock:
            if self._stopped:
                return
            self._wakeup.set()
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="webhook-sender", daemon=True)
                self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """No more sending from this app (its database is going away): the thread ends at its
        next look, and a delivery it is sending is finished first."""
        with self._lock:
            self._stopped = True
            self._wakeup.set()
            thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)

    def _run(self) -> None:
        failures = 0
        while not self._stopped:
            self._wakeup.clear()
            try:
                with self.app.app_context():
                    wait = self.send_due()
                failures = 0
            except Exception as failure:
                # The database is away: try a few times, then stop until the next change wakes it,
                # rather than spin for as long as the process lives.
                failures += 1
                if failures == 1:
                    log.exception("The webhook sender could not reach its deliveries")
                else:
                    log.warning("The webhook sender could not reach its deliveries (%s in a row): %s",
                                failures, str(failure).splitlines()[0] if str(failure) else type(failure).__name__)
                wait = None if failures >= MAX_FAILURES else 2.0 ** failures
            if wait is None:
                with self._lock:
                    if not self._wakeup.is_set():
                        self._thread = None
                        return
                continue
            self._wakeup.wait(wait)

    def send_due(self) -> float | None:
        """Send every delivery due now. Returns how long until the next one is due (at most
        IDLE_WAKE), or None when none waits."""
        requeue_abandoned()
        while True:
            due = db.session.scalars(select(WebhookDelivery.id).where(
                WebhookDelivery.status == "queued", WebhookDelivery.next_attempt_at <= utcnow())
                .order_by(WebhookDelivery.next_attempt_at).limit(20)).all()
            db.session.commit()
            if not due:
                break
            for delivery_id in due:
                if claim(delivery_id):
                    send(delivery_id)
        next_due = db.session.scalar(select(func.min(WebhookDelivery.next_attempt_at)).where(
            WebhookDelivery.status.in_(("queued", "sending"))))
        db.session.commit()
        if next_due is None:
            return None
        return max(0.05, min(IDLE_WAKE, (as_aware(next_due) - utcnow()).total_seconds()))


def as_aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=timezone.utc)  # SQLite: naive UTC


def sender_for(app) -> Sender:
    sender = app.extensions.get("webhook_sender")
    if sender is None:
        sender = app.extensions.setdefault("webhook_sender", Sender(app))
    return sender


def claim(delivery_id: int) -> bool:
    """Mark the delivery as being sent, if it still waits: of two senders, one wins."""
    claimed = db.session.execute(
        update(WebhookDelivery)
        .where(WebhookDelivery.id == delivery_id, WebhookDelivery.status == "queued")
        .values(status="sending", next_attempt_at=utcnow() + SENDING_LEASE)
        .execution_options(synchronize_session=False)).rowcount == 1
    db.session.commit()
    return claimed


def requeue_abandoned() -> None:
    """Deliveries a stopped process was sending: their lease ran out, so they wait again."""
    db.session.execute(update(WebhookDelivery)
                       .where(WebhookDelivery.status == "sending", WebhookDelivery.next_attempt_at < utcnow())
                       .values(status="queued", next_attempt_at=utcnow())
                       .execution_options(synchronize_session=False))
    db.session.commit()


def send(delivery_id: int) -> None:
    """One attempt at a claimed delivery, and its outcome logged."""
    delivery = db.session.get(WebhookDelivery, delivery_id)
    if delivery is None:  # its hook was deleted since
        db.session.rollback()
        return
    hook = delivery.webhook
    config = current_app.config
    outcome = attempt(hook.url, headers_for(delivery.id, delivery.event, hook.secret, delivery.payload),
                      delivery.payload, float(config["WEBHOOK_TIMEOUT"]), bool(config["WEBHOOKS_ALLOW_PRIVATE"]))
    record(delivery, outcome, list(config["WEBHOOK_RETRY_DELAYS"]))
    db.session.commit()


class Outcome:
    def __init__(self, status_code=None, error=None, excerpt=None, duration_ms=0):
        self.status_code, self.error, self.excerpt, self.duration_ms = status_code, error, excerpt, duration_ms

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def attempt(url: str, headers: dict, body: str, timeout: float, allow_private: bool) -> Outcome:
    started = time.monotonic()
    try:
        check_url(url, allow_private)  # again: what a name points at can change after it was saved
        response = httpx.post(url, content=body.encode(), headers=headers, timeout=timeout, follow_redirects=False)
        return Outcome(response.status_code, excerpt=excerpt(response.text), duration_ms=_since(started))
    except RefusedURL as refused:
        return Outcome(error=str(refused), duration_ms=_since(started))
    except httpx.TimeoutException:
        return Outcome(error=f"No answer within {timeout:g} s.", duration_ms=_since(started))
    except httpx.HTTPError as failure:
        return Outcome(error=_error_text(failure), duration_ms=_since(started))


async def attempt_async(client: httpx.AsyncClient, url: str, headers: dict, body: str,
                        allow_private: bool) -> Outcome:
    started = time.monotonic()
    try:
        await asyncio.to_thread(check_url, url, allow_private)
        response = await client.post(url, content=body.encode(), headers=headers)
        return Outcome(response.status_code, excerpt=excerpt(response.text), duration_ms=_since(started))
    except RefusedURL as refused:
        return Outcome(error=str(refused), duration_ms=_since(started))
    except httpx.TimeoutException:
        return Outcome(error=f"No answer within {client.timeout.read:g} s.", duration_ms=_since(started))
    except httpx.HTTPError as failure:
        return Outcome(error=_error_text(failure), duration_ms=_since(started))


def _since(started: float) -> int:
    return round((time.monotonic() - started) * 1000)


def _error_text(failure: Exception) -> str:
    return (f"{type(failure).__name__}: {failure}" if str(failure) else type(failure).__name__)[:EXCERPT_MAX]


def excerpt(text: str) -> str:
    """The start of a receiver's answer, safe to show: no control characters, 500 at most."""
    return CONTROL_CHARACTERS.sub("", text[:EXCERPT_MAX * 2])[:EXCERPT_MAX]


def record(delivery: WebhookDelivery, outcome: Outcome, retry_delays: list[float] | None) -> None:
    """Log an attempt; a failed one waits for the next try, or, out of tries, has failed."""
    delivery.attempts += 1
    delivery.last_status_code = outcome.status_code
    delivery.last_error = outcome.error if outcome.error else (
        None if outcome.ok else f"The receiver answered HTTP {outcome.status_code}.")
    delivery.response_excerpt = outcome.excerpt
    delivery.duration_ms = outcome.duration_ms
    if outcome.ok:
        delivery.status, delivery.delivered_at, delivery.next_attempt_at = "delivered", utcnow(), None
    elif retry_delays and delivery.attempts <= len(retry_delays):
        delivery.status = "queued"
        delivery.next_attempt_at = utcnow() + timedelta(seconds=float(retry_delays[delivery.attempts - 1]))
    else:
        delivery.status, delivery.next_attempt_at = "failed", None


# --- The page ----------------------------------------------------------------------------

class WebhookForm(FlaskForm):
    url = StringField("Payload URL", validators=[DataRequired("Give the URL to send to."),
                                                  Length(max=URL_MAX, message=f"Keep it under {URL_MAX} characters.")],
                      filters=[lambda value: value.strip() if isinstance(value, str) else value],
                      render_kw={"maxlength": URL_MAX, "required": True, "autocomplete": "off", "type": "url",
                                 "placeholder": "https://example.com/corkboard"})
    all_events = BooleanField("All events, including ones added later")
    events = SelectMultipleField("Events", choices=[SelectChoice(verb, verb) for verb in EVENTS],
                                 validate_choice=True)

    def validate(self, extra_validators=None) -> bool:
        if not super().validate(extra_validators):
            return False
        if not self.all_events.data and not self.events.data:
            self.events.errors.append("Pick at least one event, or all events.")
            return False
        try:
            check_url(self.url.data, bool(current_app.config["WEBHOOKS_ALLOW_PRIVATE"]))
        except RefusedURL as refused:
            self.url.errors.append(str(refused))
            return False
        return True

    def chosen_events(self) -> list[str]:
        return [ALL_EVENTS] if self.all_events.data else [verb for verb in EVENTS if verb in self.events.data]

    @classmethod
    def for_hook(cls, hook: Webhook):
        events = hook.events or []
        return cls(formdata=None, data={"url": hook.url, "all_events": ALL_EVENTS in events,
                                        "events": [verb for verb in events if verb != ALL_EVENTS]})


def get_owned_board_or_404(board_id: int, change: bool = False) -> Board:
    """The board, for its owners only: other members get 403, as on every owner's page;
    non-members 404. Reading the page takes no board lock: it changes nothing on the board."""
    if change:
        return get_board_or_404(board_id, "owner")
    board = get_board_or_404(board_id)
    if g.board_role != "owner":
        abort(403, NOT_ALLOWED["owner"])
    return board


def hook_of(board: Board, hook_id: int) -> Webhook:
    hook = db.session.get(Webhook, hook_id)
    if hook is None or hook.board_id != board.id:
        abort(404, "No such webhook.")
    return hook


def page_url(board: Board) -> str:
    return url_for("webhooks.index", board_id=board.id)


def page_context(board: Board, form: WebhookForm | None = None) -> dict:
    hooks = db.session.scalars(select(Webhook).where(Webhook.board_id == board.id).order_by(Webhook.id)).all()
    return {"board": board, "hooks": hooks, "deliveries": recent_deliveries([hook.id for hook in hooks]),
            "form": form or WebhookForm(formdata=None, data={"all_events": True}), "event_groups": EVENT_GROUPS,
            "board_url": url_for("boards.show", board_id=board.id)}


def recent_deliveries(hook_ids: list[int]) -> dict[int, list[WebhookDelivery]]:
    """Each hook's newest deliveries, in one statement however many hooks there are."""
    if not hook_ids:
        return {}
    rank = func.row_number().over(partition_by=WebhookDelivery.webhook_id,
                                  order_by=WebhookDelivery.id.desc()).label("rank")
    ranked = select(WebhookDelivery.id, rank).where(WebhookDelivery.webhook_id.in_(hook_ids)).subquery()
    rows = db.session.scalars(select(WebhookDelivery).join(ranked, ranked.c.id == WebhookDelivery.id)
                              .where(ranked.c.rank <= DELIVERIES_SHOWN).order_by(WebhookDelivery.id.desc())).all()
    grouped: dict[int, list[WebhookDelivery]] = {hook_id: [] for hook_id in hook_ids}
    for delivery in rows:
        grouped[delivery.webhook_id].append(delivery)
    return grouped


@bp.get("/boards/<int:board_id>/webhooks")
def index(board_id: int):
    board = get_owned_board_or_404(board_id)
    context = page_context(board)
    if any(d.status == "queued" for ds in context["deliveries"].values() for d in ds):
        sender_for(current_app._get_current_object()).wake()  # deliveries left by a restart
    return page_or_partial("webhooks.html", "partials/webhook_deliveries.html", **context)


@bp.post("/boards/<int:board_id>/webhooks")
def create(board_id: int):
    board = get_owned_board_or_404(board_id, change=True)
    form = WebhookForm()
    if not form.validate():
        return render_template("webhooks.html", **page_context(board, form)), 422
    hook = Webhook(board_id=board.id, url=form.url.data, secret=new_secret(), events=form.chosen_events(),
                   created_by_id=current_user.id)
    db.session.add(hook)
    db.session.commit()
    flash(f"Webhook added: {hook.url}. Its secret is on this page.", "success")
    return redirect(page_url(board), 303)


@bp.get("/boards/<int:board_id>/webhooks/<int:hook_id>/edit")
def edit(board_id: int, hook_id: int):
    board = get_owned_board_or_404(board_id)
    hook = hook_of(board, hook_id)
    return render_template("webhooks.html", **page_context(board), editing=hook, edit_form=WebhookForm.for_hook(hook))


@bp.route("/boards/<int:board_id>/webhooks/<int:hook_id>", methods=["PUT", "PATCH"])
def save(board_id: int, hook_id: int):
    board = get_owned_board_or_404(board_id, change=True)
    hook = hook_of(board, hook_id)
    form = WebhookForm()
    if not form.validate():
        return render_template("webhooks.html", **page_context(board), editing=hook, edit_form=form), 422
    hook.url, hook.events = form.url.data, form.chosen_events()
    db.session.commit()
    flash("Webhook saved.", "success")
    return redirect(page_url(board), 303)


@bp.post("/boards/<int:board_id>/webhooks/<int:hook_id>/enable")
def enable(board_id: int, hook_id: int):
    return _set_active(board_id, hook_id, True)


@bp.post("/boards/<int:board_id>/webhooks/<int:hook_id>/disable")
def disable(board_id: int, hook_id: int):
    return _set_active(board_id, hook_id, False)


def _set_active(board_id: int, hook_id: int, active: bool):
    board = get_owned_board_or_404(board_id, change=True)
    hook = hook_of(board, hook_id)
    hook.active = active
    db.session.commit()
    flash(f"Webhook {'enabled' if active else 'disabled'}: {hook.url}", "info")
    return redirect(page_url(board), 303)


@bp.get("/boards/<int:board_id>/webhooks/<int:hook_id>/delete")
def delete_form(board_id: int, hook_id: int):
    board = get_owned_board_or_404(board_id)
    hook = hook_of(board, hook_id)
    return render_template("confirm_delete.html", question=f"Delete the webhook to {hook.url}?",
                           detail="It hears of no more changes, and its delivery log goes with it.",
                           action=url_for("webhooks.delete", board_id=board.id, hook_id=hook.id),
                           button="Delete webhook", cancel_url=page_url(board))


@bp.delete("/boards/<int:board_id>/webhooks/<int:hook_id>")
def delete(board_id: int, hook_id: int):
    board = get_owned_board_or_404(board_id, change=True)
    hook = hook_of(board, hook_id)
    url = hook.url
    db.session.delete(hook)
    db.session.commit()
    flash(f"Webhook deleted: {url}", "info")
    if wants_fragment():
        return "", 200, {"HX-Redirect": page_url(board)}
    return redirect(page_url(board), 303)


@bp.post("/boards/<int:board_id>/webhooks/test")
async def send_test(board_id: int):
    """A `ping` to every active hook of the board at once; the page shows what each answered.

    The database's work happens before and after the sending, each part committed, so no
    transaction (nor, on SQLite, the write lock) stays open while the receivers take their time."""
    board = get_owned_board_or_404(board_id)
    hooks = db.session.scalars(select(Webhook).where(Webhook.board_id == board.id, Webhook.active.is_(True))
                               .order_by(Webhook.id)).all()
    if not hooks:
        summary = "No active webhook to test: add one first."
        if not wants_fragment():
            flash(summary, "info")
        return updated("partials/webhook_deliveries.html", page_url(board), summary=summary, **page_context(board))
    body = payload(PING, {"id": board.id, "title": board.title}, {"id": current_user.id, "name": current_user.name},
                   {"message": "A test from the board's webhooks page."})
    deliveries = [WebhookDelivery(webhook_id=hook.id, event=PING, payload=body, status="sending", attempts=0)
                  for hook in hooks]
    db.session.add_all(deliveries)
    db.session.flush()
    targets = [(hook.url, headers_for(delivery.id, PING, hook.secret, body)) for hook, delivery in zip(hooks, deliveries)]
    db.session.commit()  # nothing of the session is read again until every receiver has answered
    allow_private = bool(current_app.config["WEBHOOKS_ALLOW_PRIVATE"])
    async with httpx.AsyncClient(timeout=float(current_app.config["WEBHOOK_TIMEOUT"]), follow_redirects=False) as client:
        outcomes = await asyncio.gather(*(attempt_async(client, url, headers, body, allow_private)
                                          for url, headers in targets))
    for delivery, outcome in zip(deliveries, outcomes):
        record(delivery, outcome, retry_delays=None)  # a test is tried once: its answer is the point
    db.session.commit()
    delivered = sum(outcome.ok for outcome in outcomes)
    summary = (f"Test sent to {len(outcomes)} webhook{'s' if len(outcomes) != 1 else ''}: {delivered} delivered, "
               f"{len(outcomes) - delivered} failed.")
    if not wants_fragment():
        flash(summary, "success" if delivered == len(outcomes) else "warning")
    return updated("partials/webhook_deliveries.html", page_url(board), summary=summary, **page_context(board))
