"""Import a board: `/boards/import` takes a Trello JSON export or a CSV file.

A Trello export is imported as soon as it is uploaded. A CSV file first shows a preview: its
first rows and, for each card field, which of the file's columns fills it (guessed from the
headers, changed with a select). The file's text waits for that choice on the server, in a file
under the instance folder named by a random token (never in the page, so it cannot be altered
between the preview and the import); it is deleted once imported, or after an hour.

Either way the file becomes a board snapshot and `portable.load_board` writes it in one
transaction: a bad file is an inline error (422) and leaves nothing behind.
"""
import os
import re
import secrets
import time
from pathlib import Path

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from sqlalchemy import select
from wtforms import RadioField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired

from . import portable
from .access import require_login
from .extensions import db
from .forms import TitleField
from .importers import ImportFileError, decode_text, keep_members, summary_lines
from .importers.csv_import import FIELDS, csv_to_snapshot, sniff
from .importers.trello import load_json, people_directory, trello_to_snapshot
from .models import BoardMember, User
from .wsgi import takes_files

bp = Blueprint("imports", __name__, url_prefix="/boards/import")
bp.before_request(require_login)

KINDS = [SelectChoice("trello", "Trello JSON (a board’s “Export as JSON”)"),
         SelectChoice("csv", "CSV (one card a row)")]
PREVIEW_SECONDS = 3600
TOKEN = re.compile(r"^[A-Za-z0-9_-]{22}$")
# A flash message is read in a few seconds: the first lines of what was left out, then a count.
SKIPPED_SHOWN = 5


class ImportForm(FlaskForm):
    kind = RadioField("What the file is", choices=KINDS, default="trello",
                      validators=[InputRequired("Say whether the file is a Trello export or a CSV file.")])
    file = FileField("File", validators=[FileRequired("Choose the file to import.")])


class PreviewForm(FlaskForm):
    """The board's title; the field mapping is read from the selects (`map-<field>`), one per field."""
    title = TitleField("Board title")


@bp.get("")
def new():
    return render_template("import.html", form=ImportForm(formdata=None))


@bp.post("")
@takes_files
def upload():
    form = ImportForm()
    if not form.validate():
        return render_template("import.html", form=form), 422
    upload = form.file.data
    try:
        raw = upload.read()
        if form.kind.data == "csv":
            text = decode_text(raw)
            preview = sniff(text)
            token = keep_csv(text)
            title = Path(upload.filename or "").stem.replace("_", " ").strip() or "Imported board"
            return show_preview(token, preview, preview["mapping"], PreviewForm(formdata=None, title=title[:200]))
        snapshot, skipped = trello_to_snapshot(load_json(raw), people_directory(collaborators()))
        return run_import(snapshot, skipped)
    except (ImportFileError, portable.SnapshotError) as error:
        db.session.rollback()
        form.file.errors = [f"{upload.filename or 'The file'}: {error}"]
        return render_template("import.html", form=form), 422


@bp.get("/csv/<token>")
def preview(token: str):
    text = kept_csv(token)
    preview = sniff(text)
    return show_preview(token, preview, preview["mapping"], PreviewForm(formdata=None))


@bp.post("/csv/<token>")
def run_csv(token: str):
    text = kept_csv(token)
    form = PreviewForm()
    preview = sniff(text)
    mapping = {field: request.form.get(f"map-{field}") or None for field in FIELDS}
    if not form.validate():
        return show_preview(token, preview, mapping, form, status=422)
    try:
        snapshot, skipped = csv_to_snapshot(text, mapping, form.title.data)
        response = run_import(snapshot, skipped)
    except (ImportFileError, portable.SnapshotError) as error:
        db.session.rollback()
        return show_preview(token, preview, mapping, form, error=str(error), status=422)
    forget_csv(token)
    return response


def show_preview(token: str, preview: dict, mapping: dict, form: PreviewForm, error: str | None = None,
                 status: int = 200):
    return render_template("import_preview.html", token=token, preview=preview, mapping=mapping, fields=FIELDS,
                           form=form, error=error), status


def run_import(snapshot: dict, skipped: list[str]):
    """Load the snapshot for the current user, commit, and show the new board with what was left out."""
    skipped = keep_members(snapshot, {user.email for user in collaborators()}) + skipped  # people first
    board, summary = portable.load_board(snapshot, db.session.get(User, current_user.id))
    db.session.commit()
    headline, left_out = summary_lines(summary, skipped)
    flash(headline, "success")
    if left_out:
        shown = left_out[:SKIPPED_SHOWN]
        more = len(left_out) - len(shown)
        flash("Left out: " + "; ".join(shown) + (f"; and {more} more." if more else "."), "warning")
    return redirect(url_for("boards.show", board_id=board.id), 303)


def collaborators() -> list[User]:
    """The importing user and everyone who shares a board with them: the people an import may add.
    Anyone else in the file is left out, worded alike whether or not they have an account here."""
    my_boards = select(BoardMember.board_id).where(BoardMember.user_id == current_user.id)
    people = db.session.scalars(select(User).join(BoardMember, BoardMember.user_id == User.id)
                                .where(BoardMember.board_id.in_(my_boards)).distinct()).all()
    me = db.session.get(User, current_user.id)
    return [me, *(person for person in people if person.id != me.id)]


# --- the CSV file between the preview and the import ---------------------------------------------

def import_folder() -> Path:
    folder = Path(current_app.config.get("IMPORT_FOLDER") or Path(current_app.instance_path) / "imports")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def csv_path(token: str) -> Path:
    """The kept file of this user's preview; the user id in its name keeps previews private."""
    if not TOKEN.match(token):
        abort(404, "No such import.")
    return import_folder() / f"{current_user.id}-{token}.csv"


def keep_csv(text: str) -> str:
    forget_stale_csv()
    token = secrets.token_urlsafe(16)
    path = csv_path(token)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8", newline="") as file:
        file.write(text)
    return token


def kept_csv(token: str) -> str:
    path = csv_path(token)
    try:
        if time.time() - path.stat().st_mtime > PREVIEW_SECONDS:
            path.unlink(missing_ok=True)
            raise FileNotFoundError
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        abort(404, "This import has expired or is done already. Upload the file again to import it.")


def forget_csv(token: str) -> None:
    csv_path(token).unlink(missing_ok=True)


def forget_stale_csv() -> None:
    """Previews nobody finished: deleted an hour after they were made."""
    cutoff = time.time() - PREVIEW_SECONDS
    for path in import_folder().glob("*.csv"):
        try:
            if path.stat().st_mtime < cutoff:
                path.unlink()
        except FileNotFoundError:  # another worker got there first
            pass
