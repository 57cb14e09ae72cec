"""`flask import trello FILE --owner EMAIL` and `flask import csv FILE --owner EMAIL --board TITLE`.

Each prints its progress (`cards 1200/5000`), then what it imported, what it left out and the new
board's address. The board is written in one transaction: a bad file changes nothing.
"""
from pathlib import Path

import click
from flask import current_app, url_for
from flask.cli import with_appcontext
from sqlalchemy import func, select

from .. import portable
from ..extensions import db
from ..mail import external_url
from ..models import User
from . import ImportFileError, decode_text, summary_lines
from .csv_import import FIELDS, csv_to_snapshot, sniff
from .trello import load_json, people_directory, trello_to_snapshot


@click.group("import")
def import_group():
    """Import a board from Trello or a CSV file."""


@import_group.command("trello")
@with_appcontext
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--owner", required=True, help="Email of the account that will own the board.")
def import_trello(file: Path, owner: str):
    """Import a Trello board from its JSON export ("Export as JSON").

    Trello members join the board when an account here has their email or, as Trello's exports
    rarely carry emails, their full name or username (a name two accounts share is not guessed)."""
    user = owner_or_fail(owner)
    people = people_directory(db.session.scalars(select(User)).all())
    load(user, lambda: trello_to_snapshot(load_json(file.read_bytes()), people))


@import_group.command("csv")
@with_appcontext
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--owner", required=True, help="Email of the account that will own the board.")
@click.option("--board", "title", required=True, help="The new board's title.")
@click.option("--map", "mappings", multiple=True, metavar="FIELD=HEADER",
              help=f"Which column of the file fills a field ({', '.join(FIELDS)}); "
                   "unmapped fields are guessed from the headers.")
def import_csv(file: Path, owner: str, title: str, mappings: tuple[str, ...]):
    """Import a CSV file, one card a row, as a new board."""
    user = owner_or_fail(owner)

    def convert():
        text = decode_text(file.read_bytes())
        mapping = sniff(text)["mapping"]
        for pair in mappings:
            field, equals, header = pair.partition("=")
            if not equals:
                raise ImportFileError(f"--map {pair!r}: write it as FIELD=HEADER, e.g. title=Summary")
            mapping[field.strip()] = header.strip() or None
        click.echo("Fields: " + ", ".join(f"{field}={header}" for field, header in mapping.items() if header))
        return csv_to_snapshot(text, mapping, title)

    load(user, convert)


def owner_or_fail(email: str) -> User:
    user = db.session.scalar(select(User).where(func.lower(User.email) == email.strip().lower()))
    if user is None:
        raise click.ClickException(f"No account has the email {email}; create it with `flask create-user`.")
    return user


def load(owner: User, convert) -> None:
    """Convert, load and commit, printing progress; on any refusal roll back and say why."""
    try:
        snapshot, skipped = convert()
        board, summary = portable.load_board(snapshot, owner, progress=print_progress)
        db.session.commit()
    except (ImportFileError, portable.SnapshotError) as error:
        db.session.rollback()
        raise click.ClickException(f"Nothing imported. {error}") from None
    headline, left_out = summary_lines(summary, skipped)
    click.echo(headline)
    for line in left_out:
        click.echo(f"  left out: {line}")
    click.echo(f"The board: {board_address(board.id)}")


def print_progress(done: int, total: int) -> None:
    click.echo(f"cards {done}/{total}")


def board_address(board_id: int) -> str:
    """The board's full address on PUBLIC_URL (or SERVER_NAME), as emailed links are; else its path."""
    config = current_app.config
    base = config.get("PUBLIC_URL")
    if not base and config.get("SERVER_NAME"):
        base = f"{config.get('PREFERRED_URL_SCHEME') or 'http'}://{config['SERVER_NAME']}"
    with current_app.test_request_context(base_url=base or "http://localhost"):
        if base:
            return external_url("boards.show", board_id=board_id)
        return url_for("boards.show", board_id=board_id) + " (set PUBLIC_URL for the full address)"
