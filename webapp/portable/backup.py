"""`flask backup FILE` and `flask restore FILE`: the whole instance as one zip, any database to any other.

The zip holds `manifest.json` (format, version, schema revision, each table's columns and row
count), `tables/<table>.jsonl` (one JSON object per row, every table of models.py in foreign-key
order, ids kept; times as ISO-8601 UTC, dates as YYYY-MM-DD) and `uploads/...`, the attachment
files and thumbnails as they lie in the uploads folder. Restoring writes every row in one
transaction into an empty database (or, with --force, one emptied first), then moves PostgreSQL's
id sequences past the restored ids so that new rows do not collide with them.
"""
import base64
import json
import os
import tempfile
import zipfile
from datetime import date, datetime, timezone
from pathlib import Path, PurePosixPath
from typing import BinaryIO

import click
from flask.cli import with_appcontext
from sqlalchemy import JSON, Date, DateTime, LargeBinary, Table, delete, func, inspect, select, text

from .. import storage
from ..extensions import db

FORMAT = "corkboard-backup"
VERSION = 1
MANIFEST = "manifest.json"
BATCH = 1000


class BackupError(Exception):
    """The backup cannot be restored here; nothing was changed."""


def tables() -> list[Table]:
    """Every table of the models, parents before the tables that refer to them."""
    from .. import models  # noqa: F401 -- the tables are defined by importing the models
    return list(db.metadata.sorted_tables)


# --- values -------------------------------------------------------------------------------------

def encode(value):
    if isinstance(value, datetime):
        if value.tzinfo is None:  # SQLite hands back naive datetimes: they are UTC
            value = value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, (bytes, memoryview)):
        return base64.b64encode(bytes(value)).decode("ascii")
    return value


def decode(column, value):
    if value is None:
        return None
    kind = column.type
    if isinstance(kind, DateTime):
        moment = datetime.fromisoformat(value)
        return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)
    if isinstance(kind, Date):
        return date.fromisoformat(value)
    if isinstance(kind, LargeBinary):
        return base64.b64decode(value)
    if isinstance(kind, JSON):
        return value
    return value


# --- backing up ---------------------------------------------------------------------------------

def schema_revision(connection) -> str | None:
    if not inspect(connection).has_table("alembic_version"):
        return None
    return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()


def write_backup(out: BinaryIO) -> dict:
    """Write the instance's zip to `out`; returns the manifest. Reads in one transaction, so the
    rows agree with each other even while the app keeps serving (a database server reads them
    from one snapshot: REPEATABLE READ; SQLite's read transaction is one already)."""
    db.session.rollback()  # the isolation level is chosen as a transaction begins
    options = {} if db.engine.dialect.name == "sqlite" else {"isolation_level": "REPEATABLE READ"}
    connection = db.session.connection(execution_options=options)
    manifest = {"format": FORMAT, "version": VERSION, "created_at": encode(datetime.now(timezone.utc)),
                "database": connection.dialect.name, "schema_revision": schema_revision(connection),
                "tables": [], "uploads": 0}
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED, allowZip64=True) as archive:
        for table in tables():
            names = [column.name for column in table.columns]
            count = 0
            with archive.open(f"tables/{table.name}.jsonl", "w", force_zip64=True) as entry:
                result = connection.execution_options(yield_per=BATCH).execute(
                    select(table).order_by(*table.primary_key.columns))
                for row in result:
                    line = {name: encode(value) for name, value in zip(names, row)}
                    entry.write(json.dumps(line, ensure_ascii=False, separators=(",", ":")).encode() + b"\n")
                    count += 1
            manifest["tables"].append({"name": table.name, "columns": names, "rows": count})
        folder = storage.upload_folder()
        if folder.is_dir():
            for path in sorted(folder.rglob("*")):
                relative = path.relative_to(folder)
                if path.is_file() and relative.parts[0] != "tmp":
                    try:
                        archive.write(path, f"uploads/{relative.as_posix()}", compress_type=zipfile.ZIP_STORED)
                    except FileNotFoundError:  # removed since the listing, with its attachment
                        continue
                    manifest["uploads"] += 1
        archive.writestr(MANIFEST, json.dumps(manifest, indent=1))
    db.session.rollback()  # end the read transaction
    return manifest


# --- restoring ----------------------------------------------------------------------------------

def read_manifest(archive: zipfile.ZipFile) -> dict:
    try:
        manifest = json.loads(archive.read(MANIFEST))
    except KeyError:
        raise BackupError(f"no {MANIFEST} in the zip: not a Corkboard backup") from None
    except (ValueError, zipfile.BadZipFile) as error:
        raise BackupError(f"{MANIFEST} cannot be read: {error}") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise BackupError(f"{MANIFEST}: not a Corkboard backup (format {manifest.get('format')!r})"
                          if isinstance(manifest, dict) else f"{MANIFEST}: not a Corkboard backup")
    if not isinstance(manifest.get("version"), int) or manifest["version"] > VERSION:
        raise BackupError(f"{MANIFEST}: backup version {manifest.get('version')!r} is newer than this Corkboard "
                          f"restores (up to {VERSION})")
    return manifest


def restore_backup(file: BinaryIO, *, force: bool = False) -> dict:
    """Restore a backup into this database in one transaction; returns rows restored per table.
    Refuses a database that holds any row unless `force`, which empties it first."""
    try:
        archive = zipfile.ZipFile(file)
    except (zipfile.BadZipFile, OSError) as error:
        raise BackupError(f"not a zip file ({error})") from None
    with archive:
        manifest = read_manifest(archive)
        known = {table.name: table for table in tables()}
        backed_up = _check_tables(manifest, known)
        uploads = _upload_entries(archive)
        session = db.session
        connection = session.connection()
        _check_revision(manifest, connection)
        occupied = [name for name, table in known.items()
                    if connection.execute(select(func.count()).select_from(table)).scalar()]
        if occupied and not force:
            session.rollback()
            raise BackupError(f"the database is not empty ({', '.join(occupied)} hold rows); "
                              "restore into an empty database, or pass --force to replace everything in it")
        try:
            for table in reversed(list(known.values())):
                connection.execute(delete(table))
            restored = {}
            for table in known.values():
                if table.name in backed_up:
                    restored[table.name] = _restore_table(connection, archive, table)
            _advance_sequences(connection, known.values())
            session.commit()
        except BaseException:
            session.rollback()
            raise
        restored["uploads"] = _restore_uploads(archive, uploads)
    return restored


def _check_tables(manifest: dict, known: dict[str, Table]) -> set[str]:
    names = set()
    for entry in manifest.get("tables") or []:
        name = entry.get("name")
        table = known.get(name)
        if table is None:
            raise BackupError(f"the backup has a table {name!r} that this Corkboard does not know: "
                              "restore it with the version that made it")
        missing = set(entry.get("columns") or []) - {column.name for column in table.columns}
        if missing:
            raise BackupError(f"table {name}: columns {', '.join(sorted(missing))} are not in this Corkboard's schema")
        names.add(name)
    return names


def _check_revision(manifest: dict, connection) -> None:
    here, there = schema_revision(connection), manifest.get("schema_revision")
    if here and there and here != there:
        raise BackupError(f"the backup's schema is at revision {there}, this database at {here}: "
                          "bring both to the same version (flask db upgrade) first")


def _restore_table(connection, archive: zipfile.ZipFile, table: Table) -> int:
    columns = {column.name: column for column in table.columns}
    count, batch = 0, []
    name = f"tables/{table.name}.jsonl"
    try:
        entry = archive.open(name)
    except KeyError:
        raise BackupError(f"{name} is missing from the zip") from None
    with entry:
        for number, line in enumerate(entry, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                batch.append({key: decode(columns[key], value) for key, value in row.items()})
            except (ValueError, KeyError, TypeError) as error:
                raise BackupError(f"{name} line {number}: {error}") from None
            if len(batch) == BATCH:
                connection.execute(table.insert(), batch)
                count, batch = count + len(batch), []
    if batch:
        connection.execute(table.insert(), batch)
        count += len(batch)
    return count


def _advance_sequences(connection, known) -> None:
    """PostgreSQL hands out ids from a sequence that restored rows did not move: set each one to
    the largest id, so the next insert gets the one after it."""
    if connection.dialect.name != "postgresql":
        return
    for table in known:
        keys = list(table.primary_key.columns)
        if len(keys) == 1 and keys[0].autoincrement in (True, "auto") and keys[0].type.python_type is int:
            quote = connection.dialect.identifier_preparer.quote
            column, name = quote(keys[0].name), quote(table.name)
            connection.execute(text(
                f"SELECT setval(pg_get_serial_sequence(:table, :column), "
                f"COALESCE((SELECT MAX({column}) FROM {name}), 1), (SELECT MAX({column}) FROM {name}) IS NOT NULL)"),
                {"table": name, "column": keys[0].name})


def _upload_entries(archive: zipfile.ZipFile) -> list[tuple[zipfile.ZipInfo, PurePosixPath]]:
    """The upload files of the zip, each with a path checked to stay inside the uploads folder."""
    entries = []
    for info in archive.infolist():
        if not info.filename.startswith("uploads/") or info.is_dir():
            continue
        relative = PurePosixPath(info.filename[len("uploads/"):])
        if (relative.is_absolute() or not relative.parts or any(part in ("", ".", "..") for part in relative.parts)
                or "\\" in info.filename or relative.parts[0] == "tmp"):
            raise BackupError(f"the entry {info.filename!r} has an unsafe path")
        entries.append((info, relative))
    return entries


def _restore_uploads(archive: zipfile.ZipFile, entries) -> int:
    folder = storage.upload_folder()
    for info, relative in entries:
        target = folder.joinpath(*relative.parts)
        target.parent.mkdir(parents=True, exist_ok=True)
        descriptor, temp = tempfile.mkstemp(dir=target.parent, prefix=".restore-")
        try:
            with os.fdopen(descriptor, "wb") as out, archive.open(info) as source:
                while chunk := source.read(storage.CHUNK):
                    out.write(chunk)
            os.replace(temp, target)
        finally:
            Path(temp).unlink(missing_ok=True)
    return len(entries)


# --- commands -----------------------------------------------------------------------------------

@click.command("backup")
@with_appcontext
@click.argument("file", type=click.Path(dir_okay=False, writable=True))
def backup_command(file: str):
    """Write every table and every uploaded file to one zip FILE, to restore on any database."""
    with open(file, "wb") as out:
        manifest = write_backup(out)
    rows = sum(table["rows"] for table in manifest["tables"])
    click.echo(f"Backed up {rows} rows in {len(manifest['tables'])} tables and {manifest['uploads']} files to {file}.")


@click.command("restore")
@with_appcontext
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--force", is_flag=True, help="Replace everything in a database that is not empty.")
def restore_command(file: str, force: bool):
    """Restore a backup zip FILE into this (empty) database and uploads folder."""
    try:
        with open(file, "rb") as source:
            restored = restore_backup(source, force=force)
    except BackupError as error:
        raise click.ClickException(str(error)) from None
    files = restored.pop("uploads")
    click.echo(f"Restored {sum(restored.values())} rows in {len(restored)} tables and {files} files from {file}.")
