"""Accounts: sign up, log in, log out."""
from urllib.parse import urlsplit

from flask import Blueprint, flash, jsonify, redirect, render_template, request, url_for
from flask_login import current_user, login_required, login_user, logout_user
from sqlalchemy import select

from .extensions import db, login_manager
from .forms import LoginForm, SignupForm
from .models import User

bp = Blueprint("auth", __name__)

login_manager.login_view = "auth.login"
login_manager.login_message = "Log in to see that page."
login_manager.session_protection = "basic"


@login_manager.user_loader
def load_user(user_id: str) -> User | None:
    return db.session.get(User, int(user_id)) if user_id.isdigit() else None


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


@bp.route("/signup", methods=["GET", "POST"])
def signup():
    if current_user.is_authenticated:
        return redirect(url_for("boards.index"))
    form = SignupForm()
    if form.validate_on_submit():
        if db.session.scalar(select(User.id).where(User.email == form.email.data)):
            form.email.errors.append("An account with this email already exists. Log in instead?")
        else:
            user = User(name=form.name.data, email=form.email.data)
            user.set_password(form.password.data)
            db.session.add(user)
            db.session.commit()
            login_user(user)
            flash(f"Welcome to Corkboard, {user.name}! Create your first board.", "success")
            return redirect(url_for("boards.index"), 303)
    status = 422 if form.errors else 200
    return render_template("signup.html", form=form), status


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
            return redirect(target if is_safe_next(target) else url_for("boards.index"), 303)
    status = 422 if form.errors else 200
    return render_template("login.html", form=form), status


@bp.post("/logout")
@login_required
def logout():
    logout_user()
    flash("You are logged out.", "info")
    return redirect(url_for("auth.login"), 303)
