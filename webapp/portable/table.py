"""A board's cards as a CSV file: one row per card, in board order, safe to open in a spreadsheet."""
import csv
import io

from ..models import Board
from .snapshot import export_board

HEADER = ["column", "title", "description", "labels", "due date", "start date", "assignees", "archived", "created"]
# A spreadsheet runs a cell starting with one of these as a formula ("=HYPERLINK(...)"): such a
# cell gets a leading apostrophe, which spreadsheets show as text and do not display.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: str) -> str:
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def cards_csv(board: Board) -> str:
    """The CSV text (with a byte-order mark, so spreadsheets read it as UTF-8); newlines stay
    inside quoted cells, as RFC 4180 has it."""
    snapshot = export_board(board)["board"]
    label_names = {label["key"]: label["name"] or label["color"] for label in snapshot["labels"]}
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(HEADER)
    for column in snapshot["columns"]:
        for card in column["cards"]:
            row = [column["title"], card["title"], card["description"],
                   ", ".join(label_names[key] for key in card["labels"]), card["due_date"] or "",
                   card["start_date"] or "", ", ".join(card["assignees"]),
                   "yes" if card["archived"] or column["archived"] else "no", card["created_at"] or ""]
            writer.writerow([safe_cell(cell) for cell in row])
    return out.getvalue()
