"""Accounts: sign up, log in, log out, reset a forgotten password."""
import hashlib
from urllib.parse import urlsplit

from flask import (Blueprint, abort, current_app, flash, g, jsonify, redirect, render_template, request, session,
                   url_for)
from flask_login import UserMixin, current_user, login_required, login_user, logout_user
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import and_, bindparam, select

from .extensions import db, login_manager
from .forms import LoginForm, NewPasswordForm, PasswordResetRequestForm, SignupForm
from .mail import MailNotSent, external_url, send_mail
from .models import BoardMember, User
from .pagecache import BOARD_VERSION

bp = Blueprint("auth", __name__)

login_manager.login_view = "auth.login"
login_manager.login_message = "Log in to see that page."
login_manager.session_protection = "basic"


class CurrentUser(UserMixin):
    """The logged-in account as requests use it: who they are, nothing to change through it.
    Loaded as a plain row on every request, a fraction of an ORM object's cost; code that
    changes an account loads its `User`."""

    def __init__(self, id: int, name: str, email: str):
        self.id, self.name, self.email = id, name, email


USER_BY_ID = select(User.id, User.name, User.email).where(User.id == bindparam("user_id"))  # built once
# On a board's pages the user comes with their role there (None: not a member) and the board's
# version (its newest activity): all the cached board page needs, in the query made anyway.
USER_ON_BOARD = (
    select(User.id, User.name, User.email, BoardMember.role,
           BOARD_VERSION.scalar_subquery().label("version"))
    .outerjoin(BoardMember, and_(BoardMember.user_id == User.id, BoardMember.board_id == bindparam("board_id")))
    .where(User.id == bindparam("user_id"))
)


@login_manager.user_loader
def load_user(user_id: str) -> CurrentUser | None:
    if not user_id.isdigit():
        return None
    board_id = (request.view_args or {}).get("board_id")
    # A connection of its own rather than the ORM session, which costs three times as much for
    # one row; a cached board page then never opens the session at all.
    with db.engine.connect() as connection:
        if board_id is None:
            row = connection.execute(USER_BY_ID, {"user_id": int(user_id)}).first()
            return CurrentUser(*row) if row else None
        row = connection.execute(USER_ON_BOARD, {"user_id": int(user_id), "board_id": board_id}).first()
    if row is None:
        return None
    g.standing_on_board = (board_id, row.role, row.version or 0)
    return CurrentUser(row.id, row.name, row.email)


def standing_on_board(board_id: int) -> tuple[str | None, int]:
    """The logged-in user's role on the board (None: not a member) and the board's version,
    as loaded with the user."""
    if current_user.is_authenticated and g.get("standing_on_board", (None,))[0] == board_id:
        return g.standing_on_board[1:]
    row = db.session.execute(USER_ON_BOARD, {"user_id": current_user.id, "board_id": board_id}).first()
    return (row.role, row.version or 0) if row else (None, 0)


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


def require_login():
    """`before_request` hook for blueprints whose every page needs an account."""
    if not current_user.is_authenticated:
        return login_manager.unauthorized()


def is_safe_next(target: str | None) -> bool:
    """Only a path on this site: no scheme, no host, no protocol-relative `//` trick."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return False
    parts = urlsplit(target)
    return not parts.scheme and not parts.netloc


# The token of a board invitation that someone opened before logging in or signing up.
PENDING_INVITATION = "pending_invitation"


@bp.route("/signup", methods=["GET", "POST"])
def signup():
    if current_user.is_authenticated:
        return redirect(url_for("boards.index"))
    from .members import invitation_for_signup, join_through_invitation  # members.py imports this module
    invitation = invitation_for_signup()
    form = SignupForm()
    if invitation is not None and not form.is_submitted():
        form.email.data = invitation.email
    if form.validate_on_submit():
        if db.session.scalar(select(User.id).where(User.email == form.email.data)):
            form.email.errors.append("An account with this email already exists. Log in instead?")
        elif invitation is not None:
            # Signing up through an invitation lands on the board, already a member.
            user = new_user(form)
            login_user(user)
            board_url = join_through_invitation(invitation)
            db.session.commit()
            return redirect(board_url, 303)
        else:
            user = new_user(form)
            db.session.commit()
            login_user(user)
            flash(f"Welcome to Corkboard, {user.name}! Create your first board.", "success")
            return redirect(url_for("boards.index"), 303)
    status = 422 if form.errors else 200
    return render_template("signup.html", form=form), status


def new_user(form: SignupForm) -> User:
    user = User(name=form.name.data, email=form.email.data)
    user.set_password(form.password.data)
    db.session.add(user)
    db.session.flush()
    return user


@bp.route("/login", methods=["GET", "POST"])
def login():
    form = LoginForm(next=request.args.get("next", ""))
    if current_user.is_authenticated:
        return redirect(url_for("boards.index"))
    if form.validate_on_submit():
        user = db.session.scalar(select(User).where(User.email == form.email.data))
        if user is None or not user.check_password(form.password.data):
            form.password.errors.append("That email and password don't match an account.")
        else:
            login_user(user, remember=form.remember.data)
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


@bp.post("/logout")
@login_required
def logout():
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
    if form.validate_on_submit():
        user.set_password(form.password.data)
        db.session.commit()
        login_user(user)
        flash("Your password has been changed, and you are logged in.", "success")
        return redirect(url_for("boards.index"), 303)
    status = 422 if form.errors else 200
    return render_template("reset_password.html", form=form, token=token, user=user), status, headers
