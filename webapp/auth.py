"""Accounts: sign up, log in, log out, reset a forgotten password, the account page.

Each login is a row of `login_sessions`. The id Flask-Login keeps in the session cookie and
in the remember-me cookie is "<user id>.<login id>.<secret>" (its "alternative id"), checked
against that row on every request: deleting the row (logging out, a new password, "Log out
everywhere") ends the login wherever its cookies were copied.
"""
import hashlib
import hmac
import logging
import re
import secrets
from datetime import timedelta
from urllib.parse import urlsplit

from flask import (Blueprint, abort, current_app, flash, g, jsonify, redirect, render_template, request, session,
                   url_for)
from flask_login import UserMixin, current_user, login_required, login_user, logout_user
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import and_, bindparam, delete, select, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from . import live
from .access import (PENDING_INVITATION, as_utc, is_safe_next, require_login, secret_digest,  # noqa: F401
                     standing_on_board)
from .extensions import db, login_manager
from .forms import ConfirmSignupForm, LoginForm, NewPasswordForm, PasswordChangeForm, PasswordResetRequestForm, SignupForm
from .mail import MailNotSent, external_url, send_mail
from .models import THEMES, BoardMember, Invitation, LoginSession, User, hash_password, utcnow, verify_password
from .operations.members import InvitationProblem, accept_invitation, load_invitation, masked, meant_for
from .pagecache import BOARD_VERSION
from .security import MAX_ID
from .sqlite_lock import read_connection

bp = Blueprint("auth", __name__)

login_manager.login_view = "auth.login"
login_manager.login_message = "Log in to see that page."
login_manager.session_protection = "basic"

# A login without "Remember me" ends after this long unused; one with it, this long after it
# began (REMEMBER_COOKIE_DURATION, as its cookie does).
LOGIN_IDLE_TIMEOUT = timedelta(days=7)
# How stale a login's "last used" may get: writing it on every request would make every page
# view a write. The idle timeout is counted from it.
LOGIN_TOUCH_INTERVAL = timedelta(minutes=1)


class CurrentUser(UserMixin):
    """The logged-in account as requests use it: who they are and which login this is, nothing
    to change through it. Loaded as a plain row on every request, a fraction of an ORM object's
    cost; code that changes an account loads its `User`."""

    def __init__(self, id: int, name: str, email: str, login_id: int, secret: str, theme: str = "system"):
        self.id, self.name, self.email, self.theme = id, name, email, theme
        self.login_id, self._secret = login_id, secret

    def get_id(self) -> str:
        return f"{self.id}.{self.login_id}.{self._secret}"


_LOGIN = and_(LoginSession.user_id == User.id, LoginSession.id == bindparam("login_id"))
_USER_AND_LOGIN = (User.id, User.name, User.email, User.theme, LoginSession.secret_hash, LoginSession.remember,
                   LoginSession.last_used_at, LoginSession.expires_at)
# Built once; each is the one statement a request makes to know who is asking.
USER_BY_LOGIN = select(*_USER_AND_LOGIN).join(LoginSession, _LOGIN).where(User.id == bindparam("user_id"))
# On a board's pages the user comes with their role there (None: not a member) and the board's
# version (its newest activity): all the cached board page needs, in the query made anyway.
_ROLE = and_(BoardMember.user_id == User.id, BoardMember.board_id == bindparam("board_id"))
USER_ON_BOARD = (
    select(*_USER_AND_LOGIN, BoardMember.role, BOARD_VERSION.scalar_subquery().label("version"))
    .join(LoginSession, _LOGIN).outerjoin(BoardMember, _ROLE).where(User.id == bindparam("user_id"))
)
TOUCH_LOGIN = (update(LoginSession).where(LoginSession.id == bindparam("login_id"))
               .values(last_used_at=bindparam("now"), expires_at=bindparam("expires")))


DIGITS = re.compile(r"[0-9]{1,20}")
log = logging.getLogger(__name__)


@login_manager.user_loader
def load_user(login: str) -> CurrentUser | None:
    user_id, _, rest = login.partition(".")
    login_id, _, secret = rest.partition(".")
    if not (DIGITS.fullmatch(user_id) and DIGITS.fullmatch(login_id) and secret) \
            or max(int(user_id), int(login_id)) > MAX_ID:
        return None  # a cookie from before logins were kept, or a made-up one
    params = {"user_id": int(user_id), "login_id": int(login_id)}
    board_id = (request.view_args or {}).get("board_id")
    if board_id is not None:
        params["board_id"] = board_id
    # A plain row, not an ORM query (a third of the cost for one row).
    with read_connection() as (connection, commit, rollback):
        row = connection.execute(USER_BY_LOGIN if board_id is None else USER_ON_BOARD, params).first()
        if row is None or not hmac.compare_digest(row.secret_hash, secret_digest(secret)):
            return None
        now = utcnow()
        if as_utc(row.expires_at) <= now:
            return None
        if now - as_utc(row.last_used_at) >= LOGIN_TOUCH_INTERVAL:
            expires = as_utc(row.expires_at) if row.remember else now + idle_timeout()
            try:
                connection.execute(TOUCH_LOGIN, {"login_id": int(login_id), "now": now, "expires": expires})
                commit()
            except SQLAlchemyError:  # a busy database: the page matters more; a later request touches it
                rollback()
                log.warning("Could not note the use of login %s", login_id, exc_info=True)
    if board_id is not None:
        g.standing_on_board = (board_id, row.role, row.version or 0)
    return CurrentUser(row.id, row.name, row.email, int(login_id), secret, row.theme)


def idle_timeout() -> timedelta:
    return timedelta(seconds=current_app.config.get("LOGIN_IDLE_TIMEOUT", LOGIN_IDLE_TIMEOUT.total_seconds()))


def remember_duration() -> timedelta:
    duration = current_app.config["REMEMBER_COOKIE_DURATION"]
    return duration if isinstance(duration, timedelta) else timedelta(seconds=duration)


def start_login(user: User, remember: bool = False) -> None:
    """Log this browser in as `user` with a login of its own (and forget the user's expired
    ones). Adds to the session, the caller commits."""
    secret = secrets.token_urlsafe(32)
    now = utcnow()
    login = LoginSession(user_id=user.id, secret_hash=secret_digest(secret), remember=remember,
                         user_agent=(request.user_agent.string or "")[:200], created_at=now, last_used_at=now,
                         expires_at=now + (remember_duration() if remember else idle_timeout()))
    db.session.execute(delete(LoginSession).where(LoginSession.user_id == user.id, LoginSession.expires_at <= now))
    db.session.add(login)
    db.session.flush()
    # A new CSRF secret for the new login: a token seen before it (on a shared computer, in a
    # page someone kept) is no use after it.
    session.pop("csrf_token", None)
    g.pop("csrf_token", None)
    login_user(CurrentUser(user.id, user.name, user.email, login.id, secret, user.theme), remember=remember)


def end_logins(user_id: int, login_id: int | None = None) -> int:
    """Delete one login of the user, or (no `login_id`) all of them. The caller commits."""
    condition = [LoginSession.user_id == user_id]
    if login_id is not None:
        condition.append(LoginSession.id == login_id)
    return db.session.execute(delete(LoginSession).where(*condition)).rowcount


def end_streams(user_id: int, login_id: int | None = None) -> None:
    """After the user's logins (or the one login) ended, and that committed: their open board
    streams end now, not when they next reconnect (their pages reload, and find out whether
    they still have a login)."""
    for board_id in db.session.scalars(select(BoardMember.board_id).where(BoardMember.user_id == user_id)):
        live.revoke(board_id, user_id, login_id)


@login_manager.unauthorized_handler
def unauthorized():
    login_url = url_for("auth.login", next=request.full_path.rstrip("?"))
    if request.accept_mimetypes.best == "application/json":
        return jsonify(error="unauthorized", message="Log in first."), 401
    if request.htmx:
        # A redirect would be followed and swapped into the page; send the browser instead.
        return "", 401, {"HX-Redirect": login_url}
    flash(login_manager.login_message, "info")
    return redirect(login_url)


# --- Sign up: an emailed link confirms the address, so the page can't tell who has an account ---

SIGNUP_SALT = "corkboard.signup"
SIGNUP_MAX_AGE = 24 * 60 * 60


def _signup_serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=SIGNUP_SALT)


@bp.route("/signup", methods=["GET", "POST"])
def signup():
    if current_user.is_authenticated:
        return redirect(url_for("boards.index"))
    invitation = invitation_for_signup()
    form = SignupForm()
    if invitation is not None and not form.is_submitted():
        form.email.data = invitation.email
    if form.validate_on_submit():
        # Hashed whether or not the address has an account: the same work, the same time.
        password_hash = hash_password(form.password.data)
        taken = db.session.scalar(select(User.id).where(User.email == form.email.data)) is not None
        if invitation is not None and not taken and invitation.email.casefold() == form.email.data.casefold():
            # The invitation's link came to this address: that proves it, no second email needed.
            # Signing up through it lands on the board, already a member.
            user = User(name=form.name.data, email=form.email.data, password_hash=password_hash)
            db.session.add(user)
            db.session.flush()
            start_login(user)
            board_url = join_through_invitation(invitation)
            db.session.commit()
            return redirect(board_url, 303)
        try:
            if taken:
                send_mail(form.email.data, "You already have a Corkboard account", "signup_existing",
                          login_link=external_url("auth.login"), reset_link=external_url("auth.forgot_password"))
            else:
                token = _signup_serializer().dumps({"name": form.name.data, "email": form.email.data,
                                                    "password": password_hash})
                send_mail(form.email.data, "Confirm your Corkboard account", "signup_confirm", name=form.name.data,
                          link=external_url("auth.confirm_signup", token=token), hours=SIGNUP_MAX_AGE // 3600)
        except MailNotSent:
            abort(503, "We could not send the email just now. Please try again in a few minutes.")
        # The same page either way: whether an account exists is told only to the address's owner.
        return render_template("signup.html", sent_to=form.email.data)
    status = 422 if form.errors else 200
    return render_template("signup.html", form=form), status


def invitation_for_signup() -> Invitation | None:
    """The invitation someone opened before signing up, if it still stands."""
    token = session.get(PENDING_INVITATION)
    if not token:
        return None
    try:
        invitation = load_invitation(token)
    except InvitationProblem as problem:
        session.pop(PENDING_INVITATION, None)
        flash(problem.message, "error")
        return None
    if request.method == "GET":
        flash(f"Create your account to join “{invitation.board.title}” as {invitation.role}.", "info")
    return invitation


def join_through_invitation(invitation: Invitation) -> str:
    """The new account accepts the invitation it signed up through: joins with the invited role.
    Returns where to go next. Only the invited address can accept: someone who signs up through
    the link with another address gets their account, not the board (the invitation stays open)."""
    session.pop(PENDING_INVITATION, None)
    if not meant_for(invitation, current_user.email):
        flash(f"The invitation to “{invitation.board.title}” is for {masked(invitation.email)}, so it was not used. "
              "Log in with that address to accept it.", "error")
        return url_for("boards.index")
    acceptance = accept_invitation(invitation, actor=current_user)
    flash(acceptance.message, "success" if acceptance.joined else "info")
    return url_for("boards.show", board_id=acceptance.board_id)


class SignupLinkProblem(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status, self.message = status, message


def signup_from_token(token: str) -> dict:
    """The name, email and password hash a confirmation link carries, if it can still be used."""
    again = "Sign up again to get a new link."
    try:
        payload = _signup_serializer().loads(token, max_age=SIGNUP_MAX_AGE)
    except SignatureExpired:
        raise SignupLinkProblem(410, f"This link has expired: links work for {SIGNUP_MAX_AGE // 3600} hours. {again}")
    except BadSignature:
        raise SignupLinkProblem(400, "This link is not valid. Check that you opened the whole link from the "
                                     f"email, or sign up again.")
    if not (isinstance(payload, dict) and all(isinstance(payload.get(key), str) for key in ("name", "email", "password"))):
        raise SignupLinkProblem(400, f"This link is not valid. {again}")
    if db.session.scalar(select(User.id).where(User.email == payload["email"])) is not None:
        raise SignupLinkProblem(410, "This link has already been used: the account exists. Log in with it.")
    return payload


@bp.route("/signup/confirm", methods=["GET", "POST"])
def confirm_signup():
    """The link in the confirmation email: a button (a GET changes nothing, so a mail scanner
    that follows links creates no account), which creates the account and logs in."""
    token = request.args.get("token", "")
    headers = {"Referrer-Policy": "no-referrer"}  # the token is in the URL
    try:
        payload = signup_from_token(token)
    except SignupLinkProblem as problem:
        return render_template("signup.html", problem=problem.message), problem.status, headers
    form = ConfirmSignupForm()
    if form.validate_on_submit():
        if current_user.is_authenticated:  # someone else was logged in in this browser
            end_logins(current_user.id, current_user.login_id)
            logout_user()
        user = User(name=payload["name"], email=payload["email"], password_hash=payload["password"])
        db.session.add(user)
        try:
            db.session.flush()
        except IntegrityError:  # the same link, clicked twice at once
            db.session.rollback()
            problem = "This link has already been used: the account exists. Log in with it."
            return render_template("signup.html", problem=problem), 410, headers
        start_login(user)
        # An invitation opened in this browser before signing up: joined if it is for this
        # address (now confirmed), left for its owner otherwise (join_through_invitation says which).
        invitation = invitation_for_signup()
        if invitation is None:
            flash(f"Welcome to Corkboard, {user.name}! Create your first board.", "success")
            target = url_for("boards.index")
        else:
            flash(f"Welcome to Corkboard, {user.name}!", "success")
            target = join_through_invitation(invitation)
        db.session.commit()
        return redirect(target, 303)
    return render_template("signup.html", confirm=payload, form=form, token=token), 200, headers


@bp.route("/login", methods=["GET", "POST"])
def login():
    form = LoginForm(next=request.args.get("next", ""))
    if current_user.is_authenticated:
        return redirect(url_for("boards.index"))
    if form.validate_on_submit():
        user = db.session.scalar(select(User).where(User.email == form.email.data))
        if not password_matches(user, form.password.data):
            # 422 on this endpoint is what the rate limit counts as a failed login.
            form.password.errors.append("That email and password don't match an account.")
        else:
            start_login(user, remember=form.remember.data)
            db.session.commit()
            target = form.next.data
            if not is_safe_next(target):
                target = pending_invitation_url() or url_for("boards.index")
            return redirect(target, 303)
    status = 422 if form.errors else 200
    return render_template("login.html", form=form), status


def pending_invitation_url() -> str | None:
    """Back to the invitation someone opened before logging in (it asks them to accept)."""
    token = session.pop(PENDING_INVITATION, None)
    return url_for("members.invitation", token=token) if token else None


_dummy_hashes: dict[str, str] = {}


def password_matches(user: User | None, password: str) -> bool:
    """Whether the password is the user's. An unknown address costs the same hash check as a
    known one (against a hash made the same way), so the time taken doesn't say which it was."""
    if user is None:
        method = current_app.config.get("PASSWORD_HASH_METHOD", "scrypt")
        if method not in _dummy_hashes:
            _dummy_hashes[method] = hash_password(secrets.token_urlsafe(16))
        verify_password(_dummy_hashes[method], password)
        return False
    return user.check_password(password)


@bp.post("/logout")
@login_required
def logout():
    # Server-side first: a copy of this browser's cookies is then worth nothing either.
    end_logins(current_user.id, current_user.login_id)
    db.session.commit()
    end_streams(current_user.id, current_user.login_id)
    logout_user()
    flash("You are logged out.", "info")
    return redirect(url_for("auth.login"), 303)


# --- Password reset: an emailed, signed link, valid one hour, that works once -----------------

RESET_SALT = "corkboard.password-reset"
RESET_MAX_AGE = 60 * 60


class ResetLinkProblem(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status, self.message = status, message


def _reset_serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=RESET_SALT)


def password_fingerprint(user: User) -> str:
    """Changes whenever the password does, so a used link (or one older than the
    current password) stops working. Reveals nothing about the password itself."""
    return hashlib.sha256(user.password_hash.encode()).hexdigest()[:16]


def reset_token(user: User) -> str:
    return _reset_serializer().dumps({"user": user.id, "password": password_fingerprint(user)})


def user_from_reset_token(token: str) -> User:
    ask_again = "Ask for a new link on the “Forgot password?” page."
    try:
        payload = _reset_serializer().loads(token, max_age=RESET_MAX_AGE)
    except SignatureExpired:
        raise ResetLinkProblem(410, f"This password reset link has expired: links work for one hour. {ask_again}")
    except BadSignature:
        raise ResetLinkProblem(400, f"This password reset link is not valid. Check that you opened the whole "
                                    f"link from the email, or {ask_again[0].lower()}{ask_again[1:]}")
    user_id = payload.get("user") if isinstance(payload, dict) else None
    user = db.session.get(User, user_id) if isinstance(user_id, int) else None
    if user is None:
        raise ResetLinkProblem(400, f"This password reset link is not valid. {ask_again}")
    if payload.get("password") != password_fingerprint(user):
        raise ResetLinkProblem(410, "This password reset link has already been used (or the password was "
                                    f"changed since it was sent). {ask_again}")
    return user


@bp.route("/forgot-password", methods=["GET", "POST"])
def forgot_password():
    form = PasswordResetRequestForm()
    if form.validate_on_submit():
        user = db.session.scalar(select(User).where(User.email == form.email.data))
        try:
            # Unknown addresses get an email too: the page, its timing and a mail outage
            # all look the same whether or not an account exists.
            if user is not None:
                send_mail(user.email, "Reset your Corkboard password", "password_reset", user=user,
                          link=external_url("auth.reset_password", token=reset_token(user)))
            else:
                send_mail(form.email.data, "Your Corkboard password reset request", "password_reset_unknown",
                          email=form.email.data, signup_link=external_url("auth.signup"))
        except MailNotSent:
            abort(503, "We could not send the email just now. Please try again in a few minutes.")
        flash(f"If an account exists for {form.email.data}, we have sent it a link to reset the password. "
              "The link works for one hour.", "info")
        return redirect(url_for("auth.login"), 303)
    status = 422 if form.errors else 200
    return render_template("reset_request.html", form=form), status


@bp.route("/reset-password", methods=["GET", "POST"])
def reset_password():
    token = request.args.get("token", "")
    # The token is in the URL: keep it out of the Referer of any link on these pages.
    headers = {"Referrer-Policy": "no-referrer"}
    try:
        user = user_from_reset_token(token)
    except ResetLinkProblem as problem:
        return render_template("reset_password.html", problem=problem.message), problem.status, headers
    form = NewPasswordForm()
    form.account = user
    if form.validate_on_submit():
        user.set_password(form.password.data)
        # Whoever knew the old password may be logged in somewhere: every login ends.
        end_logins(user.id)
        start_login(user)
        db.session.commit()
        end_streams(user.id)
        flash("Your password has been changed, and you are logged in. Every other session was logged out.",
              "success")
        return redirect(url_for("boards.index"), 303)
    status = 422 if form.errors else 200
    return render_template("reset_password.html", form=form, token=token, user=user), status, headers


# --- The account page: active sessions, "Log out everywhere", a new password -----------------

@bp.get("/account")
@login_required
def account():
    return render_account(PasswordChangeForm())


def render_account(form: PasswordChangeForm, status: int = 200):
    logins = db.session.scalars(select(LoginSession).where(LoginSession.user_id == current_user.id,
                                                           LoginSession.expires_at > utcnow())
                                .order_by(LoginSession.last_used_at.desc(), LoginSession.id.desc())).all()
    return render_template("account.html", form=form, logins=logins, this_login=current_user.login_id), status


@bp.post("/account/password")
@login_required
def change_password():
    user = db.session.get(User, current_user.id)
    form = PasswordChangeForm()
    form.account = user
    if form.validate_on_submit():
        if not user.check_password(form.current_password.data):
            form.current_password.errors.append("That is not your current password.")
        else:
            remember = db.session.scalar(select(LoginSession.remember).where(
                LoginSession.id == current_user.login_id)) or False
            user.set_password(form.password.data)
            end_logins(user.id)
            start_login(user, remember=remember)
            db.session.commit()
            end_streams(user.id)
            flash("Your password has been changed. Every other session was logged out.", "success")
            return redirect(url_for("auth.account"), 303)
    return render_account(form, 422)


@bp.post("/account/theme")
@login_required
def theme():
    """Light, dark, or the system's: remembered on the account, so every device follows."""
    choice = request.form.get("theme", "")
    if choice not in THEMES:
        abort(400, "Choose a theme: system, light or dark.")
    db.session.get(User, current_user.id).theme = choice
    db.session.commit()
    if request.headers.get("HX-Request"):
        return "", 204
    back = urlsplit(request.referrer or "")  # without JavaScript: back to the page it was chosen on
    target = back.path + (f"?{back.query}" if back.query else "")
    if back.netloc != request.host or not is_safe_next(target):
        target = url_for("boards.index")
    return redirect(target, 303)


@bp.post("/account/logout-everywhere")
@login_required
def logout_everywhere():
    count = end_logins(current_user.id)
    db.session.commit()
    end_streams(current_user.id)
    logout_user()
    flash(f"You are logged out everywhere ({count} session{'s' if count != 1 else ''}).", "info")
    return redirect(url_for("auth.login"), 303)


@bp.post("/account/sessions/end")
@login_required
def end_session():
    login_id = request.form.get("login", type=int)
    if login_id is None or not 0 < login_id <= MAX_ID or not end_logins(current_user.id, login_id):
        abort(404, "No such session: it may have ended already.")
    db.session.commit()
    end_streams(current_user.id, login_id)
    if login_id == current_user.login_id:
        logout_user()
        flash("You are logged out.", "info")
        return redirect(url_for("auth.login"), 303)
    flash("That session is logged out.", "info")
    return redirect(url_for("auth.account"), 303)
