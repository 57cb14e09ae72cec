"""Board downloads for any member: `/boards/<id>/export.json` (the snapshot, docs/export-format.md),
`export.csv` (one row per card) and `export.zip` (the snapshot and the attachments' bytes)."""
import json
import re
import tempfile
import unicodedata
from datetime import date
from urllib.parse import quote

from flask import Blueprint, Response, send_file

from .access import get_board_or_404, require_login
from .portable import cards_csv, export_board, write_archive

bp = Blueprint("exports", __name__, url_prefix="/boards/<int:board_id>")
bp.before_request(require_login)

# Zips are built in a temporary file that moves to disk past this size.
SPOOL_BYTES = 16 * 1024 * 1024


@bp.get("/export.json")
def board_json(board_id: int):
    board = get_board_or_404(board_id, "viewer")
    body = json.dumps(export_board(board), ensure_ascii=False, indent=1)
    return download(Response(body, mimetype="application/json"), board.title, "json")


@bp.get("/export.csv")
def board_csv(board_id: int):
    board = get_board_or_404(board_id, "viewer")
    return download(Response(cards_csv(board), mimetype="text/csv"), board.title, "csv")


@bp.get("/export.zip")
def board_zip(board_id: int):
    board = get_board_or_404(board_id, "viewer")
    spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)
    write_archive(board, spool)
    spool.seek(0)
    response = send_file(spool, mimetype="application/zip", conditional=False, etag=False, max_age=0)
    return download(response, board.title, "zip")


def download(response: Response, title: str, extension: str) -> Response:
    """A private download named after the board: "Product launch 2026-12-04.csv"."""
    response.headers["Content-Disposition"] = content_disposition(f"{title} {date.today().isoformat()}.{extension}")
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def content_disposition(filename: str) -> str:
    """`attachment` with a plain-ASCII `filename` for old clients and the exact name as RFC 5987
    `filename*`. Control characters, quotes, slashes and backslashes never reach the header, so no
    title can end the header early, add another or name a path."""
    name = re.sub(r"[\x00-\x1f\x7f\"\\/;]+", " ", unicodedata.normalize("NFC", filename))
    name = re.sub(r"\s+", " ", name).strip(" .") or "board"
    fallback = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    fallback = re.sub(r"[^A-Za-z0-9 ._()-]+", "", fallback).strip(" .") or "board"
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"
