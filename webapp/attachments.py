"""Attachments: files on a card. Upload, download (members only), thumbnails, remove.

`/boards/<id>/cards/<id>/attachments` takes uploads; `/boards/<id>/attachments/<id>` serves a file
and removes it. Files are kept by storage.py, outside static/, so every byte goes through
`get_attachment_or_404`: a board's files are as private as the board.
"""
import mimetypes
import re
import unicodedata
from pathlib import PurePath

from flask import Blueprint, abort, current_app, send_file, url_for
from flask_login import current_user
from sqlalchemy import select

from . import storage
from .activity import record
from .auth import require_login
from .boards import get_board_or_404
from .cards import get_card_or_404, publish_face
from .extensions import db
from .forms import AttachmentForm
from .hypermedia import invalid, page_or_partial, updated
from .models import Attachment, Board, Card
from .queries import card_face
from .wsgi import takes_files

bp = Blueprint("attachments", __name__, url_prefix="/boards/<int:board_id>")
bp.before_request(require_login)

PARTIAL = "partials/attachments.html"
UPDATED = "partials/attachments_updated.html"
TITLE = "Attach files"
# Content-addressed files never change, but access can be taken away: browsers may keep
# them for an hour, shared caches not at all.
CACHE_SECONDS = 3600


def get_attachment_or_404(board_id: int, attachment_id: int, role: str = "viewer") -> tuple[Board, Attachment]:
    board = get_board_or_404(board_id, role)
    attachment = db.session.scalar(
        select(Attachment).join(Card).where(Attachment.id == attachment_id, Card.board_id == board.id))
    if attachment is None:
        abort(404, "No such attachment.")
    return board, attachment


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
    most = current_app.config["MAX_FILES_PER_UPLOAD"]
    if len(form.files.data) > most:
        form.files.errors = [f"At most {most} files can be attached at once, and {len(form.files.data)} were "
                             "chosen. Nothing was attached."]
        return invalid(form, PARTIAL, TITLE, board=board, card=card)
    limit = current_app.config["MAX_ATTACHMENT_SIZE"]
    oversized = [upload.filename for upload in form.files.data if storage.size_of(upload.stream) > limit]
    if oversized:
        return too_large(form, board, card, oversized)
    max_pixels = current_app.config["MAX_IMAGE_PIXELS"]
    huge = [upload.filename for upload in form.files.data if (storage.image_pixels(upload.stream) or 0) > max_pixels]
    if huge:
        return too_many_pixels(form, board, card, huge, max_pixels)
    try:
        with storage.saving() as save:  # a failure anywhere below keeps no file and no row
            for upload in form.files.data:
                attach(board, card, save(upload.stream, limit), upload.filename)
            db.session.commit()
    except storage.TooLarge:  # grew past the limit while being read
        return too_large(form, board, card, [])
    publish_face(card)  # the cover, on every open board
    return updated(UPDATED, card_page(card), board=board, card=card, face=card_face(card))


def attach(board: Board, card: Card, blob: storage.Blob, uploaded_name: str | None) -> None:
    filename = safe_filename(uploaded_name)
    db.session.add(Attachment(
        card_id=card.id, uploader_id=current_user.id, filename=filename, sha256=blob.sha256,
        content_type=content_type_for(filename, blob.image_type), size=blob.size,
        is_image=blob.image_type is not None))
    record(board.id, "attachment.added", card=card, filename=filename)


def too_large(form: AttachmentForm, board: Board, card: Card, names: list[str]):
    """413, with the form and its message inline, like a field error (nothing was stored)."""
    limit = file_size(current_app.config["MAX_ATTACHMENT_SIZE"])
    shown = ", ".join(f"“{safe_filename(name)}”" for name in names) or "A file"
    verb = "is" if len(names) <= 1 else "are"
    form.files.errors = [f"{shown} {verb} larger than {limit}, the most one file may be. Nothing was attached."]
    return page_or_partial("form_page.html", PARTIAL, 413, board=board, card=card, form=form,
                           form_partial=PARTIAL, title=TITLE)


def too_many_pixels(form: AttachmentForm, board: Board, card: Card, names: list[str], max_pixels: int):
    """422, with the form and its message inline: an image larger than an image may be is refused
    from its header, before it is stored or decoded."""
    shown = ", ".join(f"“{safe_filename(name)}”" for name in names)
    noun = "an image" if len(names) == 1 else "images"
    megapixels = f"{max_pixels / 1_000_000:g}"
    form.files.errors = [f"{shown} {'is' if len(names) == 1 else 'are'} {noun} of more than {megapixels} "
                         f"megapixels, the most an image may have. Nothing was attached."]
    return invalid(form, PARTIAL, TITLE, board=board, card=card)


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
    record(board.id, "attachment.deleted", card=card, filename=attachment.filename)
    db.session.delete(attachment)
    db.session.commit()  # storage removes the file after the commit if no other attachment uses it
    publish_face(card)
    return updated(UPDATED, card_page(card), board=board, card=card, face=card_face(card))


# --- serving files safely -------------------------------------------------------------------

DOWNLOAD_TYPE = "application/octet-stream"
# Types a browser would run as a page or a script: never sent under their own name.
ACTIVE_TYPES = {
    "text/html", "application/xhtml+xml", "image/svg+xml", "text/xml", "application/xml", "text/xsl",
    "application/xslt+xml", "text/javascript", "application/javascript", "application/x-javascript",
    "text/ecmascript", "application/ecmascript", "application/x-shockwave-flash", "text/x-component",
    "application/vnd.wap.xhtml+xml", "text/cache-manifest", "text/vtt",
}


def content_type_for(filename: str, image_type: str | None) -> str:
    """An image's type comes from its bytes (Pillow); any other file's from its name. A name may
    not claim an image (a text file called .png) or anything a browser would run (HTML, SVG, JS)."""
    if image_type:
        return image_type
    return harmless(mimetypes.guess_type(filename, strict=False)[0])


def harmless(content_type: str | None) -> str:
    content_type = (content_type or DOWNLOAD_TYPE).lower()
    if (content_type in ACTIVE_TYPES or content_type.startswith(("image/", "multipart/", "message/"))
            or content_type.endswith(("+xml", "/xml"))):
        return DOWNLOAD_TYPE
    return content_type


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


# --- names and sizes as people see them -----------------------------------------------------

FILENAME_MAX = 255
FALLBACK_NAME = "file"
ALLOWED_PUNCTUATION = set(" .-_()[]+,&'@!#=~")
WINDOWS_DEVICE_NAMES = {"CON", "PRN", "AUX", "NUL", *(f"COM{n}" for n in range(1, 10)),
                        *(f"LPT{n}" for n in range(1, 10))}


def safe_filename(name: str | None) -> str:
    """The name shown for an uploaded file (never used on disk). Like Werkzeug's secure_filename,
    but letters of every script stay: "Straße 報告.pdf" is kept, "../../etc/passwd" becomes
    "etc_passwd", NUL bytes and other control or direction-changing characters go, and a name
    that is empty or only dots becomes "file". At most 255 characters, extension kept."""
    name = unicodedata.normalize("NFC", name or "")
    name = "".join(_safe_char(char) for char in name)
    name = re.sub(r"\s+", " ", name)
    name = re.sub(r"_{2,}", "_", name).strip(" ._-")
    if not name:
        return FALLBACK_NAME
    if name.split(".")[0].upper() in WINDOWS_DEVICE_NAMES:
        name = "_" + name
    return _shortened(name)


def _safe_char(char: str) -> str:
    category = unicodedata.category(char)
    if category in ("Cc", "Cf", "Cs", "Co", "Cn"):  # control, format (bidi overrides), unassigned
        return ""
    if char.isspace():
        return " "
    if char.isalnum() or category.startswith("M") or char in ALLOWED_PUNCTUATION:
        return char
    return "_"  # path separators, quotes, < > : | ? * and the like


def _shortened(name: str) -> str:
    if len(name) <= FILENAME_MAX:
        return name
    suffix = PurePath(name).suffix
    if len(suffix) > 16:
        suffix = ""
    return name[:FILENAME_MAX - len(suffix)].rstrip(" ._-") + suffix


@bp.app_template_filter("file_size")
def file_size(size: int) -> str:
    """"1 byte", "820 bytes", "3.4 KB", "10 MB": binary units under their everyday names."""
    if size < 1024:
        return f"{size} byte{'' if size == 1 else 's'}"
    value = float(size)
    for unit in ("KB", "MB", "GB", "TB"):
        value /= 1024
        if value < 1024 or unit == "TB":
            return f"{value:.1f}".removesuffix(".0") + f" {unit}"
    raise AssertionError("unreachable")
