"""Personal access tokens: an account's keys to the REST API, made and revoked on /account/tokens.

A token is `cb_` and 40 random URL-safe characters, sent as `Authorization: Bearer cb_…`. It is
shown once, on the page that made it; only its SHA-256 is kept, and a request's token is found
by that hash, so a copy of the database lets nobody in. A token reads, or reads and writes; it
may expire; it can be revoked at any time. The list shows its first characters to tell tokens
apart, and when it was last used (noted at most once a minute: writing on every API call would
make every read a write).

Session-authenticated API calls need the CSRF token; bearer calls carry no cookie a browser
could send on its own, so they need none. The API loads its caller with `user_for_bearer`.
"""
import logging
import secrets
from datetime import datetime, time, timedelta, timezone

from flask import Blueprint, abort, make_response, render_template, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import bindparam, select, update
from sqlalchemy.exc import SQLAlchemyError
from wtforms import DateField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional

from .access import Actor, as_utc, require_login, secret_digest
from .extensions import db
from .hypermedia import updated, wants_fragment
from .models import TOKEN_SCOPES, AccessToken, User, utcnow

bp = Blueprint("tokens", __name__, url_prefix="/account/tokens")
bp.before_request(require_login)

SECRET_PREFIX = "cb_"
SECRET_LENGTH = 40  # random characters after the prefix: 240 bits
SHOWN_LENGTH = 8  # "cb_8f3k2": enough to tell one's tokens apart, far too little to guess the rest
NAME_MAX = 100
# How stale "last used" may get (see the module's docstring).
TOUCH_INTERVAL = timedelta(minutes=1)

SCOPE_LABELS = {"read": "Read only", "write": "Read and write"}  # TOKEN_SCOPES, as people read them
bp.add_app_template_global(SCOPE_LABELS, "token_scope_labels")
EXPIRY_CHOICES = [("7", "In 7 days"), ("30", "In 30 days"), ("90", "In 90 days"), ("date", "On a date"),
                  ("never", "Never")]
# The furthest an expiry date may be: a date typed with a slip of the finger (20255) would
# otherwise make a token that never expires in all but name.
LONGEST_EXPIRY = timedelta(days=5 * 366)

log = logging.getLogger(__name__)


class TokenError(Exception):
    """A bearer token that names a real token which may not be used: "expired", "revoked", or
    "read-only" (a change asked with a read-only token). The API tells its caller which."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def _strip(value):
    return value.strip() if isinstance(value, str) else value


class TokenForm(FlaskForm):
    name = StringField("Name", filters=[_strip], validators=[
        DataRequired("Name it after what will use it, such as “Backup script”."),
        Length(max=NAME_MAX, message=f"Keep it under {NAME_MAX} characters.")],
        render_kw={"maxlength": NAME_MAX, "required": True, "autocomplete": "off"})
    scope = SelectField("Access", choices=[SelectChoice(scope, SCOPE_LABELS[scope]) for scope in TOKEN_SCOPES],
                        default="read")
    expires = SelectField("Expires", choices=[SelectChoice(*choice) for choice in EXPIRY_CHOICES], default="30")
    expiry_date = DateField("Expiry date (with “On a date”)", validators=[Optional()])

    def validate(self, extra_validators=None) -> bool:
        # Here, not in a field validator: an empty date stops its own validation (Optional).
        valid = super().validate(extra_validators)
        problem = self.expiry_date_problem() if self.expires.data == "date" and not self.expiry_date.errors else None
        if problem:
            self.expiry_date.errors.append(problem)
        return valid and problem is None

    def expiry_date_problem(self) -> str | None:
        chosen, today = self.expiry_date.data, utcnow().date()
        if chosen is None:
            return "Choose the date it expires on."
        if chosen <= today:
            return "Choose a date after today."
        if chosen > today + LONGEST_EXPIRY:
            return "Choose a date within five years, or “Never”."
        return None

    def expiry(self, now: datetime) -> datetime | None:
        """When a token made now with this form's choice stops working (None: never).
        A token "expiring on" a date stops working as that day begins (UTC), as the list says."""
        choice = self.expires.data
        if choice == "never":
            return None
        if choice == "date":
            return datetime.combine(self.expiry_date.data, time(), tzinfo=timezone.utc)
        return now + timedelta(days=int(choice))


# --- What the API uses ----------------------------------------------------------------------

_TOKEN_BY_HASH = (select(AccessToken.id, AccessToken.user_id, AccessToken.scope, AccessToken.expires_at,
                         AccessToken.revoked_at, AccessToken.last_used_at, User.name, User.email)
                  .join(User, User.id == AccessToken.user_id)
                  .where(AccessToken.token_hash == bindparam("token_hash")))
_TOUCH_TOKEN = (update(AccessToken).where(AccessToken.id == bindparam("token_id"))
                .values(last_used_at=bindparam("now")))


def user_for_bearer(header_value: str | None, *, need_write: bool) -> Actor | None:
    """The account an `Authorization: Bearer cb_…` header speaks for; None when the header is
    absent, of another kind, or names no token. Raises TokenError when the token exists but may
    not do this: revoked, expired, or read-only and `need_write`.

    Call it before the request's own database work: the token is read and its use noted on a
    connection of its own (committed at once, so a GET notes it too, and on SQLite a change's
    write lock is not yet held by the request's session), with the user's id, name and email:
    all a change needs of who makes it, and the session is left untouched."""
    secret = bearer_secret(header_value)
    if secret is None:
        return None
    now = utcnow()
    with db.engine.connect() as connection:
        token = connection.execute(_TOKEN_BY_HASH, {"token_hash": secret_digest(secret)}).first()
        if token is None:
            return None
        if token.revoked_at is not None:
            raise TokenError("revoked")
        if token.expires_at is not None and as_utc(token.expires_at) <= now:
            raise TokenError("expired")
        if need_write and token.scope != "write":
            raise TokenError("read-only")
        if token.last_used_at is None or now - as_utc(token.last_used_at) >= TOUCH_INTERVAL:
            try:
                connection.execute(_TOUCH_TOKEN, {"token_id": token.id, "now": now})
                connection.commit()
            except SQLAlchemyError:  # a busy database: the call matters more; a later one notes it
                log.warning("Could not note the use of access token %s", token.id, exc_info=True)
    return Actor(token.user_id, token.name, token.email)


def bearer_secret(header_value: str | None) -> str | None:
    """The token in "Bearer cb_…" (the scheme in any case, as RFC 7235 allows), if it looks like one."""
    scheme, _, secret = (header_value or "").strip().partition(" ")
    secret = secret.strip()
    if scheme.lower() != "bearer" or not secret.startswith(SECRET_PREFIX) or len(secret) > 200:
        return None
    return secret


def new_secret() -> str:
    # token_urlsafe(30) gives exactly 40 characters of [A-Za-z0-9_-].
    return SECRET_PREFIX + secrets.token_urlsafe(SECRET_LENGTH * 3 // 4)


# --- The account's list of tokens -----------------------------------------------------------

def tokens_url() -> str:
    return url_for("tokens.index")


def listed_tokens() -> list[AccessToken]:
    """The user's tokens that are not revoked, newest first (expired ones too: they say so)."""
    return db.session.scalars(
        select(AccessToken).where(AccessToken.user_id == current_user.id, AccessToken.revoked_at.is_(None))
        .order_by(AccessToken.created_at.desc(), AccessToken.id.desc())
    ).all()


def get_token_or_404(token_id: int) -> AccessToken:
    """One of the current user's tokens that still stands; anyone else's is "no such token"."""
    token = db.session.get(AccessToken, token_id)
    if token is None or token.user_id != current_user.id or token.revoked_at is not None:
        abort(404, "No such token.")
    return token


@bp.app_template_filter("token_expired")
def is_expired(token: AccessToken) -> bool:
    return token.expires_at is not None and as_utc(token.expires_at) <= utcnow()


def render_list(form: TokenForm | None = None, status: int = 200):
    form = form or TokenForm(formdata=None)
    response = make_response(render_template("tokens.html", tokens=listed_tokens(), form=form), status)
    response.vary.add("HX-Request")
    return response


@bp.get("")
def index():
    return render_list()


@bp.post("")
def create():
    form = TokenForm()
    if not form.validate():
        return render_list(form, 422)
    secret = new_secret()
    now = utcnow()
    token = AccessToken(user_id=current_user.id, name=form.name.data, token_hash=secret_digest(secret),
                        prefix=secret[:SHOWN_LENGTH], scope=form.scope.data, created_at=now,
                        expires_at=form.expiry(now))
    db.session.add(token)
    db.session.commit()
    # The one time the secret is shown: no copy of this page may be kept anywhere.
    response = make_response(render_template("token_created.html", token=token, secret=secret))
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/<int:token_id>/revoke")
def revoke_form(token_id: int):
    """Without JavaScript, Revoke opens this page: the question htmx asks in a dialog."""
    token = get_token_or_404(token_id)
    return render_template("confirm_delete.html", question=f"Revoke the token “{token.name}”?",
                           detail="Whatever uses it loses access at once. This cannot be undone; "
                                  "make a new token to give access again.",
                           action=url_for("tokens.delete", token_id=token.id), button="Revoke token",
                           cancel_url=tokens_url())


@bp.delete("/<int:token_id>")
def delete(token_id: int):
    revoke(get_token_or_404(token_id))
    if wants_fragment():
        return render_template("partials/token_list.html", tokens=listed_tokens())
    return updated(None, tokens_url())


@bp.post("/<int:token_id>/revoke")
def revoke_post(token_id: int):
    revoke(get_token_or_404(token_id))
    return updated(None, tokens_url())


def revoke(token: AccessToken) -> None:
    """Revoked, not deleted: a call made with it is told it was revoked, not that it never was."""
    token.revoked_at = utcnow()
    db.session.commit()
