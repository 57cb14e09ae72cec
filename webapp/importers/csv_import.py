"""CSV: one card a row, as a spreadsheet writes it, as a board snapshot.

`sniff` reads the header and the first rows and guesses which column of the file holds which
field (by its header: "Status" is the column, "Summary" the title...); the person importing
confirms or changes that mapping, and `csv_to_snapshot` builds the board from it.
The file is UTF-8, with or without a byte-order mark, separated by commas or semicolons.
Labels and assignees hold several values separated by commas, semicolons or `|`; assignees are
email addresses; due dates are written YYYY-MM-DD (a time after it is ignored).
"""
import csv
import io
import re
from datetime import date, datetime

from ..models import LABEL_COLORS, TITLE_MAX
from . import ImportFileError, empty_snapshot, plural

# The fields a card can take from a file, in the order the preview offers them.
FIELDS = {
    "column": "Column",
    "title": "Title",
    "description": "Description",
    "labels": "Labels",
    "due_date": "Due date",
    "assignees": "Assignees (emails)",
}
# Headers each field is guessed from, lowercased, the likeliest first.
GUESSES = {
    "column": ("column", "list", "status", "stage", "lane", "state", "list name", "column name"),
    "title": ("title", "name", "card", "card name", "summary", "task", "subject", "card title"),
    "description": ("description", "desc", "details", "notes", "body", "card description"),
    "labels": ("labels", "label", "tags", "tag", "categories", "category"),
    "due_date": ("due date", "due", "deadline", "due_date", "duedate", "due on"),
    "assignees": ("assignees", "assignee", "members", "assigned to", "owner", "owners", "people", "emails", "email"),
}
PREVIEW_ROWS = 5
DEFAULT_COLUMN = "Imported"
LABEL_NAME_MAX = 50
SEPARATORS = re.compile(r"\s*[,;|]\s*")
EMAIL = re.compile(r"^[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+$")
ISO_DATE = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})(?:[T ].*)?$")
# The csv module's own limit is 128 KB a cell; a description may be long, but not that long.
csv.field_size_limit(1024 * 1024)


def sniff(text: str) -> dict:
    """The file's headers, its first rows and a guessed mapping {field: header or None}."""
    rows = reader(text)
    headers = header_row(rows)
    first = []
    for _line, row in records(rows):
        first.append([*row, *[""] * (len(headers) - len(row))][:len(headers)])
        if len(first) == PREVIEW_ROWS:
            break
    return {"headers": headers, "rows": first, "mapping": guess_mapping(headers), "delimiter": delimiter_of(text)}


def guess_mapping(headers: list[str]) -> dict[str, str | None]:
    lowered = {header.strip().lower(): header for header in headers}
    mapping, taken = {}, set()
    for field, names in GUESSES.items():
        mapping[field] = next((lowered[name] for name in names if name in lowered and lowered[name] not in taken), None)
        if mapping[field]:
            taken.add(mapping[field])
    return mapping


def csv_to_snapshot(text: str, mapping: dict[str, str | None], title: str) -> tuple[dict, list[str]]:
    """The board snapshot of a CSV file read with `mapping` ({field: header}), and what it leaves out."""
    title = (title or "").replace("\x00", "").strip()
    if not title:
        raise ImportFileError("give the board a title")
    rows = reader(text)
    headers = header_row(rows)
    where = column_indexes(headers, mapping)
    snapshot = empty_snapshot(title[:TITLE_MAX])
    board = snapshot["board"]
    columns: dict[str, dict] = {}
    labels: dict[str, dict] = {}
    members: dict[str, dict] = {}
    skipped: list[str] = []
    long_titles = 0
    for start, row in records(rows):
        cell = lambda field: row[where[field]].strip() if where.get(field, len(row)) < len(row) else ""  # noqa: E731
        card_title = cell("title")
        if not card_title:
            skipped.append(f"line {start}: no title, row left out")
            continue
        if len(card_title) > TITLE_MAX:
            long_titles += 1
        column_title = cell("column")[:TITLE_MAX] or DEFAULT_COLUMN
        column = columns.get(column_title.lower())
        if column is None:
            column = columns[column_title.lower()] = {"key": f"C{len(columns) + 1}", "title": column_title,
                                                      "wip_limit": None, "archived": False, "cards": []}
        card = {"key": f"K{start}", "title": cut(card_title), "description": cell("description"),
                "due_date": due_date(cell("due_date"), start), "labels": [], "assignees": []}
        for name in split(cell("labels")):
            name = name[:LABEL_NAME_MAX]
            label = labels.get(name.lower())
            if label is None:
                label = labels[name.lower()] = {"key": f"L{len(labels) + 1}", "name": name,
                                                "color": LABEL_COLORS[len(labels) % len(LABEL_COLORS)]}
            if label["key"] not in card["labels"]:
                card["labels"].append(label["key"])
        for person in split(cell("assignees")):
            if not EMAIL.match(person):
                skipped.append(f"line {start}: assignee {person!r} is not an email address, not assigned")
                continue
            email = person.lower()
            members.setdefault(email, {"email": email, "name": "", "role": "editor"})
            if email not in card["assignees"]:
                card["assignees"].append(email)
        column["cards"].append(card)
    board["columns"] = list(columns.values())
    board["labels"] = list(labels.values())
    board["members"] = list(members.values())
    if long_titles:
        skipped.append(f"{long_titles} card title{plural(long_titles)} cut to {TITLE_MAX} characters")
    return snapshot, skipped


def reader(text: str):
    text = text.removeprefix("\ufeff").replace("\x00", "")  # no database keeps NUL characters in text
    if not text.strip():
        raise ImportFileError("line 1: the file is empty")
    return csv.reader(io.StringIO(text, newline=""), delimiter=delimiter_of(text), strict=True)


def header_row(rows) -> list[str]:
    try:
        headers = [header.strip() for header in next(rows)]
    except csv.Error as error:
        raise ImportFileError(f"line 1: {csv_problem(error)}") from None
    if not any(headers):
        raise ImportFileError("line 1: the first line should name the columns (Title, Column, Labels...)")
    seen = set()
    for index, header in enumerate(headers):
        if not header:
            headers[index] = header = f"Column {index + 1}"
        if header.lower() in seen:
            raise ImportFileError(f"line 1: two columns are called {header!r}; give each its own name")
        seen.add(header.lower())
    return headers


def records(rows):
    """(the line a row starts on, its cells), skipping blank rows; a broken row is an error naming its line."""
    line = rows.line_num + 1
    while True:
        try:
            row = next(rows)
        except StopIteration:
            return
        except csv.Error as error:
            raise ImportFileError(f"line {line}: {csv_problem(error)}") from None
        start, line = line, rows.line_num + 1  # a quoted cell may span lines: the next row starts after it
        if any(cell.strip() for cell in row):
            yield start, row


def csv_problem(error: csv.Error) -> str:
    message = str(error)
    if "unexpected end of data" in message:
        return 'a quoted cell that starts here is never closed (a " is missing)'
    return message


def delimiter_of(text: str) -> str:
    """`;` when the header line has more semicolons than commas (outside quotes), else `,`."""
    first_line = re.sub(r'"[^"]*"', "", text.removeprefix("\ufeff").split("\n", 1)[0])
    return ";" if first_line.count(";") > first_line.count(",") else ","


def column_indexes(headers: list[str], mapping: dict[str, str | None]) -> dict[str, int]:
    unknown = set(mapping) - set(FIELDS)
    if unknown:
        raise ImportFileError(f"unknown field {sorted(unknown)[0]!r}; the fields are {', '.join(FIELDS)}")
    where = {}
    for field, header in mapping.items():
        if not header:
            continue
        if header not in headers:
            raise ImportFileError(f"line 1: the file has no column {header!r} (for {FIELDS[field].lower()})")
        where[field] = headers.index(header)
    if "title" not in where:
        raise ImportFileError("choose which column of the file holds the card titles")
    return where


def due_date(value: str, line: int) -> str | None:
    if not value:
        return None
    match = ISO_DATE.match(value)
    try:
        if not match:
            raise ValueError
        return date(*(int(part) for part in match.groups())).isoformat()
    except ValueError:
        raise ImportFileError(f"line {line}: due date {value!r} is not a date (write it as YYYY-MM-DD, "
                              f"e.g. {datetime.now().year}-02-28)") from None


def split(value: str) -> list[str]:
    return [part for part in SEPARATORS.split(value.strip()) if part] if value.strip() else []


def cut(text: str) -> str:
    return text if len(text) <= TITLE_MAX else text[:TITLE_MAX - 1].rstrip() + "…"
