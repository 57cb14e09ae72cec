"""`flask backup` / `flask restore`: the whole instance, SQLite to PostgreSQL, every row and file kept."""
import io
import json
import os
import zipfile

import pytest
from sqlalchemy import create_engine, make_url, select, text
from sqlalchemy.exc import OperationalError

from webapp import storage
from webapp.extensions import db
from webapp.models import AccessToken, Activity, Board, Invitation, LoginSession, User, utcnow
from webapp.portable.backup import encode, tables

from .conftest import app_config, fresh_app
from .test_export import PNG_BYTES, rich_board

POSTGRES_URL = os.environ.get("BACKUP_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/portable_b")


@pytest.fixture
def source(tmp_path):
    """An instance on SQLite with a bit of everything: the rich board, a login, a token, an invitation."""
    folder = tmp_path / "source"
    folder.mkdir()
    for app in fresh_app(app_config(f"sqlite:///{folder / 'source.db'}", folder)):
        with app.app_context():
            board_id = rich_board()
            ada = db.session.scalar(select(User).where(User.email == "ada@example.com"))
            db.session.add_all([
                LoginSession(user_id=ada.id, secret_hash="a" * 64, user_agent="Firefox/1 Linux",
                             expires_at=utcnow()),
                AccessToken(user_id=ada.id, name="script", token_hash="b" * 64, prefix="cb_abc", scope="read"),
                Invitation(board_id=board_id, email="dee@example.com", role="editor", invited_by_id=ada.id),
                Activity(board_id=board_id, actor_id=ada.id, verb="card.moved",
                         details={"card": "Write the post 🎉", "source": "To do", "target": "Done"}),
            ])
            db.session.commit()
        yield app


def target_app(url, folder):
    folder.mkdir(exist_ok=True)
    return fresh_app(app_config(url, folder))


def postgres_or_skip():
    """The restore target's own database on the shared PostgreSQL, made if missing (never `test`,
    which the PostgreSQL run of the suite uses); a skip if no PostgreSQL answers."""
    url = make_url(POSTGRES_URL)
    server = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with server.connect() as connection:
            exists = connection.scalar(text("SELECT 1 FROM pg_database WHERE datname = :name"),
                                       {"name": url.database})
            if not exists:
                connection.execute(text(f'CREATE DATABASE "{url.database}"'))
    except OperationalError as error:
        pytest.skip(f"PostgreSQL is not reachable at {url.render_as_string()} ({error.orig.__class__.__name__})")
    finally:
        server.dispose()


def every_row(app) -> dict[str, list[dict]]:
    """Each table's rows as the backup writes them (times in UTC), ordered by primary key."""
    with app.app_context():
        rows = {}
        for table in tables():
            result = db.session.execute(select(table).order_by(*table.primary_key.columns))
            rows[table.name] = [{key: encode(value) for key, value in row._mapping.items()} for row in result]
        db.session.rollback()
        return rows


def backup(app, path):
    result = app.test_cli_runner().invoke(args=["backup", str(path)])
    assert result.exit_code == 0, result.output
    return result.output


def restore(app, path, *options):
    return app.test_cli_runner().invoke(args=["restore", str(path), *options])


def uploaded_files(app) -> dict[str, bytes]:
    with app.app_context():
        folder = storage.upload_folder()
    return {path.relative_to(folder).as_posix(): path.read_bytes() for path in folder.rglob("*") if path.is_file()}


def test_backup_on_sqlite_restores_on_postgresql_with_every_row_and_file_and_back(source, tmp_path):
    postgres_or_skip()
    archive = tmp_path / "instance.zip"
    assert "Backed up" in backup(source, archive)
    expected = every_row(source)
    assert all(expected[name] for name in ("users", "boards", "cards", "comments", "attachments", "card_labels",
                                           "access_tokens", "login_sessions", "invitations", "activities"))
    for app in target_app(POSTGRES_URL, tmp_path / "target"):
        result = restore(app, archive)
        assert result.exit_code == 0, result.output
        assert every_row(app) == expected
        assert uploaded_files(app) == uploaded_files(source)
        assert PNG_BYTES in uploaded_files(app).values()
        with app.app_context():  # the id sequences moved past the restored ids
            highest = db.session.scalar(select(db.func.max(User.id)))
            user = User(name="New", email="new@example.com", password_hash="x")
            db.session.add(user)
            db.session.commit()
            assert user.id == highest + 1
            activity = db.session.scalar(select(Activity).where(Activity.verb == "card.moved"))
            assert activity.details["card"] == "Write the post 🎉"
        back = tmp_path / "from-postgres.zip"  # and back again, PostgreSQL to SQLite
        backup(app, back)
        expected = every_row(app)
    for app in target_app(f"sqlite:///{tmp_path / 'again.db'}", tmp_path / "again"):
        result = restore(app, back)
        assert result.exit_code == 0, result.output
        assert every_row(app) == expected


def test_restore_refuses_a_database_that_holds_data_unless_forced(source, tmp_path):
    archive = tmp_path / "instance.zip"
    backup(source, archive)
    with source.app_context():
        db.session.add(User(name="Late", email="late@example.com", password_hash="x"))
        db.session.commit()
    result = restore(source, archive)
    assert result.exit_code != 0 and "the database is not empty" in result.output and "--force" in result.output
    with source.app_context():
        assert db.session.scalar(select(User.id).where(User.email == "late@example.com"))
    result = restore(source, archive, "--force")
    assert result.exit_code == 0, result.output
    with source.app_context():
        assert db.session.scalar(select(User.id).where(User.email == "late@example.com")) is None
        assert db.session.scalar(select(Board.title)) == "Launch"


def test_restore_into_a_fresh_sqlite_instance(source, tmp_path):
    archive = tmp_path / "instance.zip"
    backup(source, archive)
    for app in target_app(f"sqlite:///{tmp_path / 'copy.db'}", tmp_path / "copy"):
        result = restore(app, archive)
        assert result.exit_code == 0, result.output
        assert "Restored" in result.output
        assert every_row(app) == every_row(source)
        assert uploaded_files(app) == uploaded_files(source)


def rewritten(archive_path, tmp_path, change) -> str:
    """A copy of the backup with `change(entries)` applied to its {name: bytes}."""
    with zipfile.ZipFile(archive_path) as archive:
        entries = {name: archive.read(name) for name in archive.namelist()}
    change(entries)
    copy = tmp_path / "changed.zip"
    with zipfile.ZipFile(copy, "w") as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return copy


def test_a_broken_row_restores_nothing(source, tmp_path):
    archive = tmp_path / "instance.zip"
    backup(source, archive)

    def break_comments(entries):
        entries["tables/comments.jsonl"] += b'{"id": 99, "card_id": 1, "body": "x", "created_at": "not a time"}\n'

    copy = rewritten(archive, tmp_path, break_comments)
    for app in target_app(f"sqlite:///{tmp_path / 'copy.db'}", tmp_path / "copy"):
        result = restore(app, copy)
        assert result.exit_code != 0
        assert "tables/comments.jsonl line" in result.output
        assert all(not rows for rows in every_row(app).values())
        assert uploaded_files(app) == {}


def test_an_upload_path_leaving_the_folder_is_refused(source, tmp_path):
    archive = tmp_path / "instance.zip"
    backup(source, archive)
    copy = rewritten(archive, tmp_path, lambda entries: entries.update({"uploads/../../evil.txt": b"x"}))
    for app in target_app(f"sqlite:///{tmp_path / 'copy.db'}", tmp_path / "copy"):
        result = restore(app, copy)
        assert result.exit_code != 0 and "unsafe path" in result.output
        assert all(not rows for rows in every_row(app).values())
    assert not (tmp_path / "evil.txt").exists() and not (tmp_path.parent / "evil.txt").exists()


def test_a_zip_that_is_no_backup_is_refused(source, tmp_path):
    other = tmp_path / "other.zip"
    with zipfile.ZipFile(other, "w") as archive:
        archive.writestr("board.json", "{}")
    result = restore(source, other)
    assert result.exit_code != 0 and "not a Corkboard backup" in result.output
    newer = tmp_path / "newer.zip"
    with zipfile.ZipFile(newer, "w") as archive:
        archive.writestr("manifest.json", json.dumps({"format": "corkboard-backup", "version": 9, "tables": []}))
    result = restore(source, newer)
    assert result.exit_code != 0 and "newer than this Corkboard restores" in result.output


def test_the_backup_lists_its_tables_in_foreign_key_order(source, tmp_path):
    archive = tmp_path / "instance.zip"
    backup(source, archive)
    with zipfile.ZipFile(archive) as opened:
        manifest = json.loads(opened.read("manifest.json"))
        names = [table["name"] for table in manifest["tables"]]
        assert names.index("users") < names.index("boards") < names.index("cards") < names.index("comments")
        assert {table["name"]: table["rows"] for table in manifest["tables"]}["cards"] == 4
        assert manifest["database"] == "sqlite" and manifest["uploads"] >= 1
        line = json.loads(opened.read("tables/cards.jsonl").splitlines()[0])
        assert line["created_at"] == "2026-11-30T09:00:00+00:00" and line["start_date"] == "2026-12-01"
