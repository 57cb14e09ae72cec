"""A board as a zip: `board.json` (the snapshot) and `attachments/<sha256><ext>`, the files' bytes.

Reading one back trusts nothing in it: only `board.json` and the attachment files the snapshot
names are read, entry names with `..`, a leading `/` or a backslash are refused, sizes are capped
(per file, and in total, counting the bytes actually inflated, not what the headers claim) and
every file's SHA-256 is checked against the snapshot. Files go to storage.py under their hash,
never under a name from the zip.
"""
import json
import re
import shutil
import zipfile
from collections.abc import Iterator
from typing import BinaryIO

from flask import current_app
from sqlalchemy import event

from .. import storage
from ..extensions import db
from ..models import Board, User
from .load import Progress, SnapshotError, StoredFile, load_board, read_snapshot
from .snapshot import export_board

SNAPSHOT_NAME = "board.json"
ATTACHMENT_NAME = re.compile(r"\Aattachments/[0-9a-f]{64}(\.[a-z0-9]{1,10})?\Z")
# Defaults for ARCHIVE_MAX_SIZE (all entries read, inflated) and ARCHIVE_MAX_SNAPSHOT_SIZE.
MAX_SIZE = 2 * 1024 ** 3
MAX_SNAPSHOT_SIZE = 200 * 1024 ** 2
MAX_ENTRIES = 100_000
# The files an import wrote that no attachment used before: removed again if it rolls back.
CREATED_FILES = "portable_created_files"


def write_archive(board: Board, out: BinaryIO) -> dict:
    """Write the board's zip to `out`; returns its snapshot. A file missing from storage is left
    out of the zip (its attachment is then skipped on import, and says so)."""
    snapshot = export_board(board)
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(SNAPSHOT_NAME, json.dumps(snapshot, ensure_ascii=False, indent=1))
        written = set()
        for _path, attachment in _named_files(snapshot):
            name, sha256 = attachment["file"], attachment["sha256"]
            path = storage.blob_path(sha256)
            if name in written or not path.is_file():
                continue
            written.add(name)
            with path.open("rb") as source, archive.open(name, "w", force_zip64=True) as target:
                shutil.copyfileobj(source, target, storage.CHUNK)
    return snapshot


def load_archive(file: BinaryIO, owner: User, *, progress: Progress | None = None) -> tuple[Board, dict]:
    """Load a zip export as a new board: its files into storage, then `load_board`. Flushes,
    never commits; if the caller rolls back, the files this import added are removed again."""
    created: list[str] = []
    try:
        with _open(file) as archive:
            entries = _entries(archive)
            snapshot = _read_json(archive, entries)
            read_snapshot(snapshot)  # a bad snapshot is refused before any file is stored
            files = _store_files(archive, entries, snapshot, created)
        loaded = load_board(snapshot, owner, progress=progress, files=files)
    except BaseException:
        storage.remove_unused(created)
        raise
    db.session.info.setdefault(CREATED_FILES, set()).update(created)
    return loaded


def _open(file: BinaryIO) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(file)
    except (zipfile.BadZipFile, OSError, ValueError):
        raise SnapshotError("archive: not a zip file") from None


def _entries(archive: zipfile.ZipFile) -> dict[str, zipfile.ZipInfo]:
    infos = archive.infolist()
    if len(infos) > MAX_ENTRIES:
        raise SnapshotError(f"archive: {len(infos)} entries, more than the {MAX_ENTRIES} an export can hold")
    entries = {}
    for info in infos:
        name = info.filename
        if name.startswith("/") or "\\" in name or "\x00" in name or ".." in name.split("/") or ":" in name:
            raise SnapshotError(f"archive: the entry {name!r} has an unsafe path")
        if info.flag_bits & 0x1:
            raise SnapshotError(f"archive: the entry {name!r} is encrypted")
        if name == SNAPSHOT_NAME or ATTACHMENT_NAME.match(name):
            entries[name] = info
    if SNAPSHOT_NAME not in entries:
        raise SnapshotError(f"archive: no {SNAPSHOT_NAME} in the zip: is this a Corkboard board export?")
    return entries


def _read_json(archive: zipfile.ZipFile, entries: dict[str, zipfile.ZipInfo]) -> dict:
    limit = current_app.config.get("ARCHIVE_MAX_SNAPSHOT_SIZE", MAX_SNAPSHOT_SIZE)
    info = entries[SNAPSHOT_NAME]
    if info.file_size > limit:
        raise SnapshotError(f"archive: {SNAPSHOT_NAME} is larger than {limit} bytes")
    try:
        with archive.open(info) as entry:
            raw = entry.read(limit + 1)
    except (zipfile.BadZipFile, OSError, EOFError, NotImplementedError) as error:
        raise SnapshotError(f"archive: {SNAPSHOT_NAME} cannot be read ({error})") from None
    if len(raw) > limit:
        raise SnapshotError(f"archive: {SNAPSHOT_NAME} is larger than {limit} bytes")
    try:
        return json.loads(raw.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise SnapshotError(f"{SNAPSHOT_NAME}: not valid JSON ({error})") from None


class _Capped:
    """A zip entry's stream that refuses to give more than the archive's remaining budget."""

    def __init__(self, stream, budget: list[int], name: str):
        self.stream, self.budget, self.name = stream, budget, name

    def read(self, size: int = -1) -> bytes:
        chunk = self.stream.read(size)
        self.budget[0] -= len(chunk)
        if self.budget[0] < 0:
            raise SnapshotError(f"archive: larger than {current_app.config.get('ARCHIVE_MAX_SIZE', MAX_SIZE)} "
                                f"bytes once unpacked (at {self.name})")
        return chunk


def _store_files(archive: zipfile.ZipFile, entries: dict[str, zipfile.ZipInfo], snapshot: dict,
                 created: list[str]) -> dict[str, StoredFile]:
    """Save the files the snapshot names to storage, checking each one's hash; path -> StoredFile."""
    budget = [current_app.config.get("ARCHIVE_MAX_SIZE", MAX_SIZE) - entries[SNAPSHOT_NAME].file_size]
    max_file = current_app.config.get("MAX_ATTACHMENT_SIZE")
    stored: dict[str, StoredFile] = {}
    for path, attachment in _named_files(snapshot):
        name = attachment["file"]
        info = entries.get(name)
        if info is None or name in stored:
            continue
        try:
            with archive.open(info) as entry:
                blob = storage.save(_Capped(entry, budget, name), max_file)
        except storage.TooLarge:
            raise SnapshotError(f"{path}: {name} is larger than attachments may be ({max_file} bytes)") from None
        except (zipfile.BadZipFile, OSError, EOFError, NotImplementedError) as error:
            raise SnapshotError(f"{path}: {name} cannot be read from the zip ({error})") from None
        if blob.created:
            created.append(blob.sha256)
        if blob.sha256 != attachment["sha256"].lower():
            raise SnapshotError(f"{path}.sha256: the bytes of {name} do not have this SHA-256")
        stored[name] = StoredFile(blob.sha256, blob.size, blob.image_type is not None)
    return stored


def _named_files(snapshot: dict) -> Iterator[tuple[str, dict]]:
    for c, column in enumerate(snapshot["board"].get("columns") or []):
        for k, card in enumerate(column.get("cards") or []):
            for a, attachment in enumerate(card.get("attachments") or []):
                if attachment.get("file"):
                    yield f"board.columns[{c}].cards[{k}].attachments[{a}]", attachment


@event.listens_for(db.session, "after_rollback")
def _remove_files_of_a_rolled_back_import(session) -> None:
    shas = session.info.pop(CREATED_FILES, None)
    if shas:
        storage.remove_unused(shas)


@event.listens_for(db.session, "after_commit")
def _keep_files_of_a_committed_import(session) -> None:
    session.info.pop(CREATED_FILES, None)
