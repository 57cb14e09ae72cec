"""Boards in and out: the snapshot format (docs/export-format.md), its one loader, zip and CSV
exports, and whole-instance backup and restore."""
from .archive import load_archive, write_archive
from .load import BoardPlan, SnapshotError, StoredFile, load_board, read_snapshot, write_board
from .snapshot import export_board
from .table import cards_csv

__all__ = ["BoardPlan", "SnapshotError", "StoredFile", "cards_csv", "export_board", "load_archive", "load_board",
           "read_snapshot", "write_archive", "write_board"]
