"""Attachments: files on a card. Upload, download (members only), thumbnails, remove.

`/boards/<id>/cards/<id>/attachments` takes uploads; `/boards/<id>/attachments/<id>` serves a file
and removes it. Files are kept by storage.py, outside static/, so every byte goes through
`get_attachment_or_404`: a board's files are as private as the board.
"""
from pathlib import PurePath

from flask import Blueprint, abort, send_file, url_for
from flask_login import current_user

from . import storage
from .access import get_attachment_or_404, get_card_or_404, require_login
from .forms import AttachmentForm
from .hypermedia import invalid, page_or_partial, updated
from .models import Attachment, Card
from .operations import attachments as attachment_operations
from .operations.attachments import file_size, harmless, safe_filename  # noqa: F401
from .operations.errors import Invalid
from .queries import card_face
from .wsgi import takes_files

bp = Blueprint("attachments", __name__, url_prefix="/boards/<int:board_id>")
bp.before_request(require_login)
bp.add_app_template_filter(file_size, "file_size")

PARTIAL = "partials/attachments.html"
UPDATED = "partials/attachments_updated.html"
TITLE = "Attach files"
# Content-addressed files never change, but access can be taken away: browsers may keep
# them for an hour, shared caches not at all.
CACHE_SECONDS = 3600


def card_page(card: Card) -> str:
    return url_for("cards.show", board_id=card.board_id, card_id=card.id) + "#attachments"


@bp.get("/cards/<int:card_id>/attachments")
def index(board_id: int, card_id: int):
    board, card = get_card_or_404(board_id, card_id)
    return page_or_partial("form_page.html", PARTIAL, board=board, card=card, form=AttachmentForm(formdata=None),
                           form_partial=PARTIAL, title=f"Attachments of “{card.title}”")


@bp.post("/cards/<int:card_id>/attachments")
@takes_files
def create(board_id: int, card_id: int):
    board, card = get_card_or_404(board_id, card_id, "editor")
    form = AttachmentForm()
    if not form.validate():
        return invalid(form, PARTIAL, TITLE, board=board, card=card)
    try:
        attachment_operations.attach_files(card, form.files.data, actor=current_user)
    except Invalid as problem:  # too many files, or too large (413): nothing was attached
        form.files.errors = list(problem.errors.values())
        return page_or_partial("form_page.html", PARTIAL, problem.code, board=board, card=card, form=form,
                               form_partial=PARTIAL, title=TITLE)
    return updated(UPDATED, card_page(card), board=board, card=card, face=card_face(card))


@bp.get("/attachments/<int:attachment_id>")
def download(board_id: int, attachment_id: int):
    _board, attachment = get_attachment_or_404(board_id, attachment_id)
    content_type = served_type(attachment)
    return send_stored(storage.blob_path(attachment.sha256), content_type, attachment.filename,
                       inline=content_type in storage.IMAGE_TYPES.values(), etag=attachment.sha256)


@bp.get("/attachments/<int:attachment_id>/thumbnail")
def thumbnail(board_id: int, attachment_id: int):
    _board, attachment = get_attachment_or_404(board_id, attachment_id)
    if not attachment.is_image:
        abort(404, "This attachment is not an image, so it has no thumbnail.")
    path = storage.thumbnail_path(attachment.sha256)
    if not path.exists():  # e.g. files restored from a backup without thumbnails: make it again
        storage.thumbnail(attachment.sha256)
    name = PurePath(attachment.filename).stem + storage.THUMBNAIL_SUFFIX
    return send_stored(path, storage.THUMBNAIL_TYPE, name, inline=True, etag=f"{attachment.sha256}-thumbnail")


@bp.delete("/attachments/<int:attachment_id>")
def delete(board_id: int, attachment_id: int):
    board, attachment = get_attachment_or_404(board_id, attachment_id, "editor")
    card = attachment.card
    attachment_operations.delete_attachment(attachment, actor=current_user)
    return updated(UPDATED, card_page(card), board=board, card=card, face=card_face(card))


def served_type(attachment: Attachment) -> str:
    """The stored type, checked again: a row written some other way cannot make a page of a file."""
    if attachment.is_image and attachment.content_type in storage.IMAGE_TYPES.values():
        return attachment.content_type
    return harmless(attachment.content_type)


def send_stored(path, content_type: str, filename: str, *, inline: bool, etag: str):
    """A stored file for a member: its safe type, inline only for raster images, never sniffed."""
    if not path.is_file():
        abort(404, "The file of this attachment is missing.")
    response = send_file(path, mimetype=content_type, as_attachment=not inline, download_name=filename,
                         etag=etag, conditional=True)
    response.cache_control.no_cache = None
    response.cache_control.private = True
    response.cache_control.max_age = CACHE_SECONDS
    response.headers["X-Content-Type-Options"] = "nosniff"
    # Opened on its own, a file can run nothing and reach nothing, whatever it is.
    response.headers["Content-Security-Policy"] = "sandbox; default-src 'none'; img-src 'self'; style-src 'unsafe-inline'"
    return response


