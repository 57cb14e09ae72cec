"""Attachments: files on a card, added and removed. The files themselves are kept by storage.py."""
import mimetypes
import re
import unicodedata
from pathlib import PurePath

from flask import current_app

from .. import storage
from ..extensions import db
from ..models import Attachment, Card
from . import publish
from .activity import commit, record
from .errors import Invalid, TooLarge


def attach_files(card: Card, uploads: list, *, actor) -> list[Attachment]:
    """Attach uploaded files (each with a `.stream` and a `.filename`, as Werkzeug's) to the card,
    all or none. Refused, with nothing stored: more files than MAX_FILES_PER_UPLOAD (Invalid), one
    larger than MAX_ATTACHMENT_SIZE (TooLarge), an image of more than MAX_IMAGE_PIXELS (Invalid)."""
    check_uploads(uploads)
    limit = current_app.config["MAX_ATTACHMENT_SIZE"]
    try:
        with storage.saving() as save:  # a failure anywhere below keeps no file and no row
            attachments = [attach(card, save(upload.stream, limit), upload.filename, actor=actor)
                           for upload in uploads]
            commit(card.board_id, actor)
    except storage.TooLarge:  # grew past the limit while being read
        raise too_large([])
    publish.card_face_changed(card)  # the cover, on every open board
    return attachments


def check_uploads(uploads: list) -> None:
    if not uploads:
        raise Invalid({"files": "Choose one or more files to attach."})
    most = current_app.config["MAX_FILES_PER_UPLOAD"]
    if len(uploads) > most:
        raise Invalid({"files": f"At most {most} files can be attached at once, and {len(uploads)} were "
                                "chosen. Nothing was attached."})
    limit = current_app.config["MAX_ATTACHMENT_SIZE"]
    oversized = [upload.filename for upload in uploads if storage.size_of(upload.stream) > limit]
    if oversized:
        raise too_large(oversized)
    max_pixels = current_app.config["MAX_IMAGE_PIXELS"]
    huge = [upload.filename for upload in uploads if (storage.image_pixels(upload.stream) or 0) > max_pixels]
    if huge:
        raise too_many_pixels(huge, max_pixels)


def attach(card: Card, blob: storage.Blob, uploaded_name: str | None, *, actor) -> Attachment:
    filename = safe_filename(uploaded_name)
    attachment = Attachment(
        card_id=card.id, uploader_id=actor.id, filename=filename, sha256=blob.sha256,
        content_type=content_type_for(filename, blob.image_type), size=blob.size,
        is_image=blob.image_type is not None)
    db.session.add(attachment)
    record(card.board_id, "attachment.added", actor=actor, card=card, filename=filename)
    return attachment


def too_large(names: list[str]) -> TooLarge:
    limit = file_size(current_app.config["MAX_ATTACHMENT_SIZE"])
    shown = ", ".join(f"“{safe_filename(name)}”" for name in names) or "A file"
    verb = "is" if len(names) <= 1 else "are"
    return TooLarge({"files": f"{shown} {verb} larger than {limit}, the most one file may be. Nothing was attached."})


def too_many_pixels(names: list[str], max_pixels: int) -> Invalid:
    """An image larger than an image may be is refused from its header, before it is stored or decoded."""
    shown = ", ".join(f"“{safe_filename(name)}”" for name in names)
    noun = "an image" if len(names) == 1 else "images"
    megapixels = f"{max_pixels / 1_000_000:g}"
    return Invalid({"files": f"{shown} {'is' if len(names) == 1 else 'are'} {noun} of more than {megapixels} "
                             f"megapixels, the most an image may have. Nothing was attached."})


def delete_attachment(attachment: Attachment, *, actor) -> None:
    """The attachment goes; storage removes its file after the commit if no other attachment uses it."""
    card = attachment.card
    record(card.board_id, "attachment.deleted", actor=actor, card=card, filename=attachment.filename)
    db.session.delete(attachment)
    commit(card.board_id, actor)
    publish.card_face_changed(card)


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
