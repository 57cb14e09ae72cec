"""Importers: a Trello board export or a CSV file, turned into a board snapshot (docs/export-format.md)
that `webapp.portable.load_board` writes in one transaction.

Each converter is a plain function of the file's content; it never touches the database, so a
bad file is refused before anything is written. `ImportFileError` says what is wrong and where:
"line 7: …" for a CSV file, "key cards[12].idList: …" for a JSON one.
"""
from collections.abc import Iterable

SNAPSHOT_FORMAT = "corkboard-board"
SNAPSHOT_VERSION = 1


class ImportFileError(ValueError):
    """The file cannot be imported; the message names the line or key at fault."""


def decode_text(raw: bytes) -> str:
    """The file's text: UTF-8, with or without a byte-order mark."""
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = raw[:error.start].count(b"\n") + 1
        raise ImportFileError(f"line {line}: the file is not UTF-8 text (byte {error.start + 1} "
                              "cannot be read); save it as UTF-8 and try again") from None


def empty_snapshot(title: str, color: str = "blue") -> dict:
    return {"format": SNAPSHOT_FORMAT, "version": SNAPSHOT_VERSION,
            "board": {"title": title, "color": color, "members": [], "labels": [], "columns": []}}


def keep_members(snapshot: dict, allowed_emails: Iterable[str]) -> list[str]:
    """Drop the snapshot's members (and their assignments) whose email is not in `allowed_emails`.

    The import page only adds people the importing user already works with: an uploaded file
    must not be a way to pull any account onto a board, or to learn which addresses have one.
    Returns the summary lines for what was dropped, worded the same whether an account exists."""
    allowed = {email.lower() for email in allowed_emails}
    board = snapshot["board"]
    kept, dropped = [], []
    for member in board.get("members") or []:
        (kept if (member.get("email") or "").lower() in allowed else dropped).append(member)
    board["members"] = kept
    gone = {(member.get("email") or "").lower() for member in dropped}
    if not gone:
        return []
    assignments = 0
    for column in board.get("columns") or []:
        for card in column.get("cards") or []:
            before = len(card.get("assignees") or [])
            card["assignees"] = [email for email in card.get("assignees") or [] if email.lower() not in gone]
            assignments += before - len(card["assignees"])
    lines = [f"{person_label(member)} is not on any of your boards: not added (invite them to the board instead)"
             for member in dropped]
    if assignments:
        lines.append(f"{assignments} assignment{plural(assignments)} of people not added "
                     f"{plural(assignments, 'were', 'was')} left out")
    return lines


def person_label(member: dict) -> str:
    name, email = member.get("name") or "", member.get("email") or ""
    return f"{name} <{email}>" if name and email else name or email or "someone"


def plural(count: int, many: str = "s", one: str = "") -> str:
    return one if count == 1 else many


# How a summary's counts read, in the order they are told.
COUNTED = (("columns", "column"), ("cards", "card"), ("labels", "label"), ("checklist_items", "checklist item"),
           ("comments", "comment"), ("attachments", "attachment"))


def summary_lines(summary: dict, skipped: list[str]) -> tuple[str, list[str]]:
    """("Imported 3 columns, 12 cards, …", [what was left out, the converter's then the loader's])."""
    counts = [f"{summary.get(key, 0):,} {name}{plural(summary.get(key, 0))}" for key, name in COUNTED
              if summary.get(key)]
    headline = "Imported " + (", ".join(counts) if counts else "an empty board") + "."
    return headline, [*skipped, *(summary.get("skipped") or [])]
