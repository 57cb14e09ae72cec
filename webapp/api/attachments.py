"""/api/v1/boards/<id>/cards/<id>/attachments: a card's files; upload (multipart), download, remove.

A download goes through the board's membership like every other read, and is sent as the card's
page sends it: its checked type, inline only for raster images, never sniffed, sandboxed.
"""
from flask import send_file, url_for
from flask_smorest import Blueprint
from sqlalchemy import select

from .. import storage
from ..access import as_utc, get_attachment_or_404, get_card_or_404
from ..extensions import db
from ..models import Attachment
from ..operations import attachments as attachment_operations
from ..operations.attachments import harmless
from ..operations.errors import NotFound
from ..wsgi import takes_files
from . import schemas
from .auth import actor, load_actor

blp = Blueprint("api_attachments", __name__, description="Files attached to cards")
blp.before_request(load_actor)
ATTACHMENTS = "/boards/<int:board_id>/cards/<int:card_id>/attachments"
ATTACHMENT = "/boards/<int:board_id>/attachments/<int:attachment_id>"
# As the card's page: browsers may keep a file for an hour, shared caches not at all.
CACHE_SECONDS = 3600
SANDBOX = "sandbox; default-src 'none'; img-src 'self'; style-src 'unsafe-inline'"


def attachment_body(attachment: Attachment, board_id: int) -> dict:
    return {"id": attachment.id, "card_id": attachment.card_id, "filename": attachment.filename,
            "content_type": attachment.content_type, "size": attachment.size, "is_image": attachment.is_image,
            "created_at": as_utc(attachment.created_at),
            "download_url": url_for("api_attachments.download", board_id=board_id, attachment_id=attachment.id)}


@blp.get(ATTACHMENTS)
@blp.response(200, schemas.AttachmentListSchema)
def list_attachments(board_id: int, card_id: int):
    _, card = get_card_or_404(board_id, card_id, user=actor())
    attachments = db.session.scalars(select(Attachment).where(Attachment.card_id == card.id).order_by(Attachment.id))
    return {"items": [attachment_body(attachment, board_id) for attachment in attachments]}


@takes_files
@blp.post(ATTACHMENTS)
@blp.arguments(schemas.UploadSchema, location="files")
@blp.response(201, schemas.AttachmentListSchema)
def upload(data, board_id: int, card_id: int):
    """Attach files, all or none (413 past the size allowed, 422 past the number of files)."""
    _, card = get_card_or_404(board_id, card_id, "editor", user=actor())
    attachments = attachment_operations.attach_files(card, data["files"], actor=actor())
    return {"items": [attachment_body(attachment, board_id) for attachment in attachments]}


@blp.get(ATTACHMENT)
@blp.response(200, {"type": "string", "format": "binary"}, content_type="application/octet-stream",
              description="The file, with its own content type")
def download(board_id: int, attachment_id: int):
    _, attachment = get_attachment_or_404(board_id, attachment_id, user=actor())
    path = storage.blob_path(attachment.sha256)
    if not path.is_file():
        raise NotFound("The file of this attachment is missing.")
    content_type = served_type(attachment)
    response = send_file(path, mimetype=content_type, download_name=attachment.filename, etag=attachment.sha256,
                         as_attachment=content_type not in storage.IMAGE_TYPES.values(), conditional=True)
    response.cache_control.no_cache = None
    response.cache_control.private = True
    response.cache_control.max_age = CACHE_SECONDS
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = SANDBOX
    return response


def served_type(attachment: Attachment) -> str:
    """The stored type, checked again: a row written some other way cannot make a page of a file."""
    if attachment.is_image and attachment.content_type in storage.IMAGE_TYPES.values():
        return attachment.content_type
    return harmless(attachment.content_type)


@blp.delete(ATTACHMENT)
@blp.response(204)
def delete_attachment(board_id: int, attachment_id: int):
    _, attachment = get_attachment_or_404(board_id, attachment_id, "editor", user=actor())
    attachment_operations.delete_attachment(attachment, actor=actor())
