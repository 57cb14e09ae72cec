"""`flask export-board`, `flask backup`, `flask restore`."""
import json
import sys

import click
from flask.cli import with_appcontext

from ..extensions import db
from ..models import Board
from .archive import write_archive
from .snapshot import export_board
from .table import cards_csv


def init_app(app) -> None:
    from .backup import backup_command, restore_command
    app.cli.add_command(export_board_command)
    app.cli.add_command(backup_command)
    app.cli.add_command(restore_command)


@click.command("export-board")
@with_appcontext
@click.argument("board_id", type=int)
@click.option("--format", "kind", type=click.Choice(["json", "csv", "zip"]), default="json", show_default=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False, writable=True),
              help="File to write (default: standard output; a zip needs a file).")
def export_board_command(board_id: int, kind: str, output: str | None):
    """Export a board: its snapshot (json), its cards (csv), or the snapshot with its files (zip)."""
    board = db.session.get(Board, board_id)
    if board is None:
        raise click.ClickException(f"No board {board_id}.")
    if kind == "zip":
        if output is None:
            raise click.ClickException("A zip export needs a file: -o FILE.")
        with open(output, "wb") as out:
            write_archive(board, out)
    else:
        text = (json.dumps(export_board(board), ensure_ascii=False, indent=1) + "\n" if kind == "json"
                else cards_csv(board))
        if output is None:
            sys.stdout.write(text)
        else:
            with open(output, "w", encoding="utf-8", newline="") as out:
                out.write(text)
    if output is not None:
        click.echo(f"Exported board {board_id} “{board.title}” to {output}.", err=True)
