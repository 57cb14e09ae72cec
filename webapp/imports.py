"""Import a board: `/boards/import` takes a Trello JSON export or a CSV file.

A Trello export is imported as soon as it is uploaded. A CSV file first shows a preview: its
first rows and, for each card field, which of the file's columns fills it (guessed from the
headers, changed with a select). The file's text waits for that choice on the server, in a file
under the instance folder named by a random token (never in the page, so it cannot be altered
between the preview and the import); it is deleted once imported, or after an hour.

Either way the file becomes a board snapshot, checked while the request lasts, so a bad file is an
inline error (422) naming its line or key. The board is then written in the background
(`webapp.jobs`), in one transaction, while the import's own page shows a progress bar, polled by
HTMX (or refreshed by the browser without JavaScript), and at the end what was imported and what
was left out. Nobody sees the board before it is complete, and a failure leaves nothing behind.
"""
import os
import re
import secrets
import time
from pathlib import Path

from flask import Blueprint, abort, current_app, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from sqlalchemy import select
from wtforms import RadioField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired

from . import jobs, portable
from .access import require_login
from .extensions import db
from .forms import TitleField
from .hypermedia import page_or_partial
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
        return start_import(snapshot, skipped)
    except (ImportFileError, portable.SnapshotError) as error:
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
        response = start_import(snapshot, skipped)
    except (ImportFileError, portable.SnapshotError) as error:
        return show_preview(token, preview, mapping, form, error=str(error), status=422)
    forget_csv(token)
    return response


def show_preview(token: str, preview: dict, mapping: dict, form: PreviewForm, error: str | None = None,
                 status: int = 200):
    return render_template("import_preview.html", token=token, preview=preview, mapping=mapping, fields=FIELDS,
                           form=form, error=error), status


def start_import(snapshot: dict, skipped: list[str]):
    """Check the snapshot, then write it for the current user in the background; answer with the
    import's page. Raises SnapshotError while nothing has started."""
    skipped = keep_members(snapshot, {user.email for user in collaborators()}) + skipped  # people first
    plan = portable.read_snapshot(snapshot)
    owner_id = current_user.id

    def write(job: jobs.Job) -> dict:
        board, summary = portable.write_board(plan, db.session.get(User, owner_id), progress=job.progress)
        db.session.commit()
        headline, left_out = summary_lines(summary, skipped)
        return {"board_id": board.id, "title": board.title, "headline": headline, "left_out": left_out}

    token = secrets.token_urlsafe(16)
    current_app.extensions["jobs"].start(job_key(token), "import", write)
    return redirect(url_for("imports.job", token=token), 303)


@bp.get("/jobs/<token>")
def job(token: str):
    """How far the import got: a progress bar while it runs, then its summary (or its error)."""
    try:
        state = current_app.extensions["jobs"].read(job_key(token))
    except jobs.StoreUnavailable:
        state = {"state": "unknown", "done": 0, "total": 0}
    if state is None:
        abort(404, "No such import: it finished more than a day ago, or was never started.")
    response = page_or_partial("import_job.html", "partials/import_job.html", job=state, token=token,
                               running=state["state"] not in jobs.FINISHED)
    response.cache_control.no_store = True
    return response


def job_key(token: str) -> str:
    """The job of this user's import; the user id in it keeps imports private."""
    if not TOKEN.match(token):
        abort(404, "No such import.")
    return f"import-{current_user.id}-{token}"


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
