"""Attachment files on disk: outside static/, content-addressed by SHA-256, written atomically.

A file's bytes live at UPLOAD_FOLDER/ab/cd/abcd…(all 64 hex digits), an image's thumbnail beside
them as abcd….thumb.webp. Nothing a user sends becomes part of a path: names come from the hash.
Several attachments may share one file (the same bytes attached twice), so a file is removed only
when no attachment row uses it any more: the session hooks at the end of this module note the
files of every attachment, card, column, board or user deleted in a transaction and remove the
unused ones once it has committed. Deleting through the ORM anywhere is enough; no view has to
remember it.
"""
import hashlib
import logging
import math
import os
import re
import tempfile
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from flask import current_app
from PIL import Image, ImageOps, features
from sqlalchemy import event, or_, select

from .extensions import db
from .models import Attachment, Board, BoardColumn, Card, User

log = logging.getLogger(__name__)

CHUNK = 1024 * 1024
SHA256_HEX = re.compile(r"\A[0-9a-f]{64}\Z")

# What the board and the card show of an image: 320 px wide, never taller than a screen.
THUMBNAIL_WIDTH = 320
THUMBNAIL_MAX_HEIGHT = 960
# Larger images (after JPEG's cheap scaled decoding) are kept as plain files: decoding
# them for a thumbnail would hold hundreds of megabytes in one request.
PREVIEW_MAX_PIXELS = 50_000_000
# Decoding an image this large takes about a second and a few hundred megabytes: one at a time
# in a process, so that several large uploads at once cannot add up.
LARGE_PREVIEW_PIXELS = 10_000_000
_large_previews = threading.Lock()
# Raster images a browser shows inline; everything else (SVG included) is a download.
IMAGE_TYPES = {"JPEG": "image/jpeg", "PNG": "image/png", "GIF": "image/gif", "WEBP": "image/webp"}
if features.check("webp"):
    THUMBNAIL_FORMAT, THUMBNAIL_TYPE, THUMBNAIL_SUFFIX = "WEBP", "image/webp", ".thumb.webp"
else:  # a Pillow built without libwebp
    THUMBNAIL_FORMAT, THUMBNAIL_TYPE, THUMBNAIL_SUFFIX = "JPEG", "image/jpeg", ".thumb.jpg"


class TooLarge(Exception):
    """A file turned out larger than allowed while it was being written; none of it was kept."""


@dataclass(frozen=True)
class Blob:
    """A stored file: its hash (and so its name), size, and image type if it is a raster image."""
    sha256: str
    size: int
    image_type: str | None
    created: bool  # this save wrote it: it was not on disk before


def upload_folder() -> Path:
    configured = current_app.config.get("UPLOAD_FOLDER")
    return Path(configured) if configured else Path(current_app.instance_path) / "uploads"


def blob_path(sha256: str) -> Path:
    if not SHA256_HEX.match(sha256):
        raise ValueError(f"not a SHA-256 digest: {sha256!r}")
    return upload_folder() / sha256[:2] / sha256[2:4] / sha256


def thumbnail_path(sha256: str) -> Path:
    return blob_path(sha256).with_name(sha256 + THUMBNAIL_SUFFIX)


def size_of(stream) -> int:
    """The length of an uploaded file, read from its end (Werkzeug spools uploads to seekable files)."""
    stream.seek(0, os.SEEK_END)
    size = stream.tell()
    stream.seek(0)
    return size


def image_pixels(stream) -> float | None:
    """How many pixels an uploaded file has if it is a raster image a browser shows, read from its
    header alone (nothing is decoded); None for any other file. An image too large even for Pillow
    to open (a decompression bomb: a small file that would decode to gigabytes) counts as infinite."""
    try:
        with Image.open(stream) as image:  # past Pillow's own limit it warns (once): this one refuses
            return image.width * image.height if image.format in IMAGE_TYPES else None
    except Image.DecompressionBombError:
        return math.inf
    except Exception:  # not an image Pillow knows
        return None
    finally:
        stream.seek(0)


def save(stream, max_size: int | None = None) -> Blob:
    """Write the stream under its SHA-256 (temp file, then rename) and thumbnail it if it is an image.

    The same bytes saved twice are stored once. Raises TooLarge past `max_size` bytes.
    """
    temp = _temp_file()
    created = False
    try:
        digest, size = hashlib.sha256(), 0
        with temp.open("wb") as file:
            while chunk := stream.read(CHUNK):
                size += len(chunk)
                if max_size is not None and size > max_size:
                    raise TooLarge
                digest.update(chunk)
                file.write(chunk)
            file.flush()
            os.fsync(file.fileno())
        sha256 = digest.hexdigest()
        target = blob_path(sha256)
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(temp, target)
            created = True
        return Blob(sha256, size, thumbnail(sha256), created)
    except BaseException:
        if created:  # written, but not fully stored: take it back
            _unlink(sha256)
        raise
    finally:
        temp.unlink(missing_ok=True)


def thumbnail(sha256: str) -> str | None:
    """The file's image type if it really is a JPEG, PNG, GIF or WebP image, making its thumbnail
    if there is none yet; None for anything else (a text file named .png, a broken image, SVG)."""
    source, target = blob_path(sha256), thumbnail_path(sha256)
    image_type, preview = _decode_preview(source, make=not target.exists())
    if image_type and preview is not None:
        temp = _temp_file()
        try:
            preview.save(temp, THUMBNAIL_FORMAT, quality=80)
            os.replace(temp, target)
        finally:
            temp.unlink(missing_ok=True)
    return image_type


def _decode_preview(source: Path, make: bool) -> tuple[str | None, Image.Image | None]:
    """(image type, thumbnail image or None). Whatever fails to decode is simply not an image:
    Pillow reports damaged files with many exception types, so any error means "a plain file"."""
    try:
        with Image.open(source) as image:
            image_type = IMAGE_TYPES.get(image.format)
            if image_type is None:
                return None, None
            image.verify()  # reads the whole file: truncated or corrupt data fails here
        with Image.open(source) as image:
            image.draft("RGB", (THUMBNAIL_MAX_HEIGHT, THUMBNAIL_MAX_HEIGHT))  # JPEG: decode scaled down
            if image.width * image.height > PREVIEW_MAX_PIXELS:
                return None, None
            if not make:  # the same bytes were thumbnailed before
                return image_type, None
            if image.width * image.height > LARGE_PREVIEW_PIXELS:
                with _large_previews:
                    return image_type, _preview(image)
            return image_type, _preview(image)
    except Exception:
        return None, None


def _preview(image: Image.Image) -> Image.Image:
    preview = ImageOps.exif_transpose(image)
    preview = preview.convert("RGBA" if _has_alpha(preview) and THUMBNAIL_FORMAT == "WEBP" else "RGB")
    preview.thumbnail((THUMBNAIL_WIDTH, THUMBNAIL_MAX_HEIGHT))
    return preview


def _has_alpha(image: Image.Image) -> bool:
    return image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info)


def _temp_file() -> Path:
    """A fresh file on the same filesystem as the uploads, so that os.replace is atomic."""
    folder = upload_folder() / "tmp"
    folder.mkdir(parents=True, exist_ok=True)
    descriptor, name = tempfile.mkstemp(dir=folder, prefix="upload-")
    os.close(descriptor)
    return Path(name)


def _unlink(sha256: str) -> None:
    blob_path(sha256).unlink(missing_ok=True)
    thumbnail_path(sha256).unlink(missing_ok=True)


@contextmanager
def saving() -> Iterator:
    """`with saving() as save:` save files and commit inside the block. If anything in it fails
    (an oversized file, a full disk, the commit), the transaction is rolled back and the files
    it wrote are removed again, unless another attachment already used them."""
    saved: list[Blob] = []

    def save_one(stream, max_size: int | None = None) -> Blob:
        blob = save(stream, max_size)
        saved.append(blob)
        return blob

    try:
        yield save_one
    except BaseException:
        db.session.rollback()
        remove_unused(blob.sha256 for blob in saved if blob.created)
        raise


def remove_unused(shas: Iterable[str]) -> list[str]:
    """Remove the files (and thumbnails) of `shas` that no attachment uses. Call it after a commit."""
    shas = {sha for sha in shas if sha and SHA256_HEX.match(sha)}
    if not shas:
        return []
    # Its own connection: this runs after the session's transaction has ended.
    with db.engine.connect() as connection:
        used = set(connection.scalars(select(Attachment.sha256).where(Attachment.sha256.in_(shas))))
    unused = sorted(shas - used)
    for sha in unused:
        _unlink(sha)
    return unused


# --- deleting rows removes files no one uses --------------------------------------------------

BLOBS_TO_CHECK = "attachment_blobs_to_check"


@event.listens_for(db.session, "before_flush")
def _note_blobs_of_deleted_rows(session, _flush_context, _instances) -> None:
    shas = _blobs_of(session, session.deleted)
    if shas:
        session.info.setdefault(BLOBS_TO_CHECK, set()).update(shas)


def _blobs_of(session, deleted) -> set[str]:
    """The files of attachments that go with these rows. Cards, columns and boards take their
    attachments with them through ON DELETE CASCADE, unseen by the ORM: ask the database first."""
    shas = {row.sha256 for row in deleted if isinstance(row, Attachment)}
    ids = {kind: [row.id for row in deleted if isinstance(row, kind)] for kind in (Card, BoardColumn, Board, User)}
    conditions = [column.in_(ids[kind]) for kind, column in (
        (Card, Card.id), (BoardColumn, Card.column_id), (Board, Card.board_id), (User, Board.owner_id)) if ids[kind]]
    if conditions:
        query = (select(Attachment.sha256).join(Card, Attachment.card_id == Card.id)
                 .join(Board, Card.board_id == Board.id).where(or_(*conditions)))
        with session.no_autoflush:
            shas.update(session.scalars(query))
    return shas


@event.listens_for(db.session, "after_commit")
def _remove_blobs_no_one_uses(session) -> None:
    shas = session.info.pop(BLOBS_TO_CHECK, None)
    if not shas:
        return
    try:
        remove_unused(shas)
    except Exception:  # the change is committed; a file left behind only takes space
        log.exception("Could not remove unused attachment files %s", sorted(shas))


@event.listens_for(db.session, "after_rollback")
def _forget_blobs_to_check(session) -> None:
    session.info.pop(BLOBS_TO_CHECK, None)
