"""The landing page and the liveness check."""
from flask import Blueprint, redirect, render_template, url_for
from flask_login import current_user

bp = Blueprint("main", __name__)


@bp.get("/")
def index():
    if current_user.is_authenticated:
        return redirect(url_for("boards.index"))
    return render_template("index.html")


@bp.get("/healthz")
def healthz():
    """Liveness: the process answers. Touches neither the database nor the session."""
    return {"status": "ok"}
