"""The one loader of board snapshots (docs/export-format.md): every import ends here.

`load_board` checks the whole snapshot before it writes anything, so a bad file is refused with
the path of what is wrong (`board.columns[2].cards[5].title`) and leaves no trace. Then it writes
the board with a handful of multi-row INSERTs per hundred cards, flushes, and leaves the commit to
the caller: a failure anywhere rolls the whole board back.
"""
import re
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timezone

from sqlalchemy import func, insert, select

from ..extensions import db
from ..models import (BOARD_COLORS, LABEL_COLORS, ROLES, TITLE_MAX, Activity, Attachment, Board, BoardColumn,
                      BoardMember, Card, ChecklistItem, Comment, Label, User, card_assignees, card_labels, utcnow)
from ..ordering import keys_after

FORMAT = "corkboard-board"
VERSION = 1
LABEL_NAME_MAX = 50
FILENAME_MAX = 255
CONTENT_TYPE_MAX = 100
# Cards are written (and progress reported) this many at a time.
BATCH = 100
SHA256_HEX = re.compile(r"\A[0-9a-f]{64}\Z")
LINK_SCHEMES = ("http://", "https://", "mailto:")


class SnapshotError(ValueError):
    """The snapshot cannot be loaded; the message starts with the path of what is wrong."""


Progress = Callable[[int, int], None]


# --- reading and checking ----------------------------------------------------------------------

def _fail(path: str, message: str):
    raise SnapshotError(f"{path}: {message}")


def _type_name(value) -> str:
    return {dict: "an object", list: "a list", str: "text", bool: "true/false", type(None): "null",
            int: "a number", float: "a number"}.get(type(value), type(value).__name__)


def _object(value, path: str) -> dict:
    if not isinstance(value, dict):
        _fail(path, f"expected an object, found {_type_name(value)}")
    return value


def _list(container: dict, key: str, path: str, required: bool = False) -> list:
    value = container.get(key)
    if value is None:
        if required:
            _fail(f"{path}.{key}", "missing (a list is required)")
        return []
    if not isinstance(value, list):
        _fail(f"{path}.{key}", f"expected a list, found {_type_name(value)}")
    return value


def _text(container: dict, key: str, path: str, *, required: bool = False, limit: int | None = None) -> str:
    value = container.get(key)
    if value is None:
        if required:
            _fail(f"{path}.{key}", "missing")
        return ""
    if not isinstance(value, str):
        _fail(f"{path}.{key}", f"expected text, found {_type_name(value)}")
    value = value.replace("\x00", "")
    if required and not value.strip():
        _fail(f"{path}.{key}", "must not be empty")
    return value.strip()[:limit] if limit else value


def _flag(container: dict, key: str, path: str) -> bool:
    value = container.get(key)
    if value is None:
        return False
    if not isinstance(value, bool):
        _fail(f"{path}.{key}", f"expected true or false, found {_type_name(value)}")
    return value


def _day(container: dict, key: str, path: str) -> date | None:
    value = container.get(key)
    if value is None or value == "":
        return None
    if isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    _fail(f"{path}.{key}", f"expected a date as YYYY-MM-DD, found {value!r}")


def _moment(container: dict, key: str, path: str) -> datetime | None:
    value = container.get(key)
    if value is None or value == "":
        return None
    if isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            moment = None
        if moment is not None:
            return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment.astimezone(timezone.utc)
    _fail(f"{path}.{key}", f"expected an ISO-8601 time such as 2026-12-04T01:30:00Z, found {value!r}")


def _email(value, path: str) -> str:
    if not isinstance(value, str) or "@" not in value:
        _fail(path, f"expected an email address, found {value!r}")
    return value.strip().lower()


@dataclass
class _Card:
    title: str
    description: str
    archived: bool
    start_date: date | None
    due_date: date | None
    created_at: datetime | None
    labels: list[str]
    assignees: list[str]
    checklist: list[tuple[str, bool]]
    comments: list[dict]
    files: list[dict]
    links: list[tuple[str, str]]


@dataclass
class _Column:
    title: str
    wip_limit: int | None
    archived: bool
    cards: list[_Card] = field(default_factory=list)


@dataclass
class BoardPlan:
    title: str
    color: str
    members: list[tuple[str, str, str]]  # (email, name, role)
    labels: dict[str, tuple[str, str]]  # key -> (name, color)
    columns: list[_Column]

    @property
    def card_count(self) -> int:
        return sum(len(column.cards) for column in self.columns)


def read_snapshot(snapshot) -> BoardPlan:
    """The snapshot, checked and normalised; SnapshotError naming the first thing that is wrong."""
    _object(snapshot, "snapshot")
    if snapshot.get("format") != FORMAT:
        _fail("format", f"expected {FORMAT!r}, found {snapshot.get('format')!r}: this is not a Corkboard board snapshot")
    version = snapshot.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        _fail("version", f"expected a whole number from 1, found {version!r}")
    if version > VERSION:
        _fail("version", f"version {version} is newer than this Corkboard reads (up to {VERSION}); "
                         "update Corkboard to import it")
    board = _object(snapshot.get("board"), "board")
    path = "board"
    color = board.get("color")
    members = []
    for index, member in enumerate(_list(board, "members", path)):
        where = f"{path}.members[{index}]"
        _object(member, where)
        role = member.get("role") or "viewer"
        if role not in ROLES:
            _fail(f"{where}.role", f"expected one of {', '.join(ROLES)}, found {role!r}")
        members.append((_email(member.get("email"), f"{where}.email"), _text(member, "name", where, limit=80), role))
    labels: dict[str, tuple[str, str]] = {}
    for index, label in enumerate(_list(board, "labels", path)):
        where = f"{path}.labels[{index}]"
        _object(label, where)
        key = _key(label, where)
        if key in labels:
            _fail(f"{where}.key", f"the label key {key!r} is used twice")
        label_color = label.get("color")
        labels[key] = (_text(label, "name", where, limit=LABEL_NAME_MAX),
                       label_color if label_color in LABEL_COLORS else "grey")
    columns = [_read_column(column, f"{path}.columns[{index}]", labels)
               for index, column in enumerate(_list(board, "columns", path, required=True))]
    return BoardPlan(title=_text(board, "title", path, required=True, limit=TITLE_MAX),
                  color=color if color in BOARD_COLORS else "blue", members=members, labels=labels, columns=columns)


def _key(item: dict, path: str) -> str:
    key = item.get("key")
    if isinstance(key, int) and not isinstance(key, bool):
        key = str(key)
    if not isinstance(key, str) or not key:
        _fail(f"{path}.key", f"expected a key (text), found {key!r}")
    return key


def _read_column(column, path: str, labels: Mapping[str, tuple]) -> _Column:
    _object(column, path)
    wip_limit = column.get("wip_limit")
    if wip_limit is not None and (not isinstance(wip_limit, int) or isinstance(wip_limit, bool) or wip_limit < 0):
        _fail(f"{path}.wip_limit", f"expected a whole number or null, found {wip_limit!r}")
    return _Column(title=_text(column, "title", path, required=True, limit=TITLE_MAX), wip_limit=wip_limit or None,
                   archived=_flag(column, "archived", path),
                   cards=[_read_card(card, f"{path}.cards[{index}]", labels)
                          for index, card in enumerate(_list(column, "cards", path))])


def _read_card(card, path: str, labels: Mapping[str, tuple]) -> _Card:
    _object(card, path)
    label_keys = []
    for index, key in enumerate(_list(card, "labels", path)):
        key = str(key) if isinstance(key, int) and not isinstance(key, bool) else key
        if not isinstance(key, str) or key not in labels:
            _fail(f"{path}.labels[{index}]", f"no label with the key {key!r} in board.labels")
        if key not in label_keys:
            label_keys.append(key)
    assignees = []
    for index, email in enumerate(_list(card, "assignees", path)):
        email = _email(email, f"{path}.assignees[{index}]")
        if email not in assignees:
            assignees.append(email)
    checklist = []
    for index, item in enumerate(_list(card, "checklist", path)):
        where = f"{path}.checklist[{index}]"
        _object(item, where)
        checklist.append((_text(item, "text", where, required=True, limit=TITLE_MAX), _flag(item, "done", where)))
    comments = []
    for index, comment in enumerate(_list(card, "comments", path)):
        where = f"{path}.comments[{index}]"
        _object(comment, where)
        email = comment.get("author_email")
        comments.append({"body": _text(comment, "body", where, required=True),
                         "author_email": _email(email, f"{where}.author_email") if email else None,
                         "author_name": _text(comment, "author_name", where, limit=80),
                         "created_at": _moment(comment, "created_at", where)})
    files, links = [], []
    for index, attachment in enumerate(_list(card, "attachments", path)):
        where = f"{path}.attachments[{index}]"
        _object(attachment, where)
        if attachment.get("file") is None and attachment.get("url") is not None:
            url = _text(attachment, "url", where, required=True).strip()
            links.append((_text(attachment, "filename", where) or url, url))
            continue
        files.append(_read_file(attachment, where))
    return _Card(title=_text(card, "title", path, required=True, limit=TITLE_MAX),
                 description=_text(card, "description", path), archived=_flag(card, "archived", path),
                 start_date=_day(card, "start_date", path), due_date=_day(card, "due_date", path),
                 created_at=_moment(card, "created_at", path), labels=label_keys, assignees=assignees,
                 checklist=checklist, comments=comments, files=files, links=links)


def _read_file(attachment: dict, path: str) -> dict:
    sha256 = _text(attachment, "sha256", path, required=True).lower()
    if not SHA256_HEX.match(sha256):
        _fail(f"{path}.sha256", "expected 64 hexadecimal digits")
    size = attachment.get("size")
    if size is not None and (not isinstance(size, int) or isinstance(size, bool) or size < 0):
        _fail(f"{path}.size", f"expected a number of bytes, found {size!r}")
    return {"file": _text(attachment, "file", path, required=True), "sha256": sha256,
            "filename": _text(attachment, "filename", path, required=True, limit=FILENAME_MAX),
            "content_type": _text(attachment, "content_type", path, limit=CONTENT_TYPE_MAX)
            or "application/octet-stream",
            "created_at": _moment(attachment, "created_at", path)}


# --- writing ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class StoredFile:
    """An attachment's bytes, already in storage (storage.save) by whoever read them from the zip."""
    sha256: str
    size: int
    is_image: bool


def load_board(snapshot, owner: User, *, progress: Progress | None = None,
               files: Mapping[str, StoredFile] | None = None) -> tuple[Board, dict]:
    """Write the snapshot as a new board owned by `owner`; returns (board, summary).

    `files` maps an attachment's `file` path to its stored bytes (an archive's loader provides
    them); without it, or without a file's entry, a file attachment is left out and listed in the
    summary's `skipped`. Flushes, never commits."""
    return write_board(read_snapshot(snapshot), owner, progress=progress, files=files)


def write_board(plan: BoardPlan, owner: User, *, progress: Progress | None = None,
                files: Mapping[str, StoredFile] | None = None) -> tuple[Board, dict]:
    """`load_board` for a snapshot already checked by `read_snapshot` (the import page checks
    it while the upload's request lasts, and writes it in the background)."""
    return _Writer(plan, owner, progress, files or {}).write()


class _Writer:
    def __init__(self, plan: BoardPlan, owner: User, progress: Progress | None, files: Mapping[str, StoredFile]):
        self.plan, self.owner, self.progress, self.files = plan, owner, progress, files
        self.skipped: list[str] = []
        self.counts = Counter()  # rows written, by kind
        self.unassigned = Counter()  # assignments left out, by email
        self.now = utcnow()
        self._keys: list[str] = []

    def keys(self, count: int) -> list[str]:
        """The first `count` fresh order keys (the same for every list: each list starts afresh)."""
        if count > len(self._keys):
            self._keys = keys_after(None, max(count, 2 * len(self._keys)))
        return self._keys[:count]

    def write(self) -> tuple[Board, dict]:
        session = db.session
        plan = self.plan
        board = Board(title=plan.title, color=plan.color, owner_id=self.owner.id)
        session.add(board)
        session.flush()
        self.members = self._members(board)
        self.label_ids = self._labels(board)
        column_ids = self._columns(board)
        cards = [(column_id, card, key) for column_id, column in zip(column_ids, plan.columns)
                 for card, key in zip(column.cards, self.keys(len(column.cards)))]
        total = len(cards)
        for start in range(0, total, BATCH):
            self._cards(board, cards[start:start + BATCH])
            if self.progress is not None:
                self.progress(min(start + BATCH, total), total)
        self._note_skipped_assignees()
        session.add(Activity(board_id=board.id, actor_id=self.owner.id, verb="board.imported",
                             details={"title": board.title, "cards": total}))
        session.flush()
        summary = {"columns": len(column_ids), "cards": total, "labels": len(self.label_ids),
                   "comments": self.counts["comments"], "checklist_items": self.counts["checklist_items"],
                   "attachments": self.counts["attachments"], "skipped": self.skipped}
        return board, summary

    def _members(self, board: Board) -> dict[str, int]:
        """Email -> user id of everyone on the new board: the owner, and the members who have an account."""
        wanted = {email: (name, role) for email, name, role in self.plan.members if email != self.owner.email.lower()}
        found = dict(db.session.execute(
            select(func.lower(User.email), User.id).where(func.lower(User.email).in_(wanted))).all()) if wanted else {}
        rows = [{"board_id": board.id, "user_id": self.owner.id, "role": "owner", "created_at": self.now}]
        for email, (name, role) in wanted.items():
            if email in found:
                rows.append({"board_id": board.id, "user_id": found[email], "role": role, "created_at": self.now})
            else:
                who = f"{name} <{email}>" if name else email
                self.skipped.append(f"Member {who} was left out: no account here has this email.")
        insert_rows(BoardMember.__table__, rows)
        return {self.owner.email.lower(): self.owner.id, **found}

    def _labels(self, board: Board) -> dict[str, int]:
        labels = self.plan.labels
        if not labels:
            return {}
        ids = db.session.scalars(
            insert(Label).returning(Label.id, sort_by_parameter_order=True),
            [{"board_id": board.id, "name": name, "color": color} for name, color in labels.values()]).all()
        return dict(zip(labels, ids))

    def _columns(self, board: Board) -> list[int]:
        columns = self.plan.columns
        if not columns:
            return []
        rows = [{"board_id": board.id, "title": column.title, "position": key, "wip_limit": column.wip_limit,
                 "archived_at": self.now if column.archived else None}
                for column, key in zip(columns, self.keys(len(columns)))]
        return db.session.scalars(insert(BoardColumn).returning(BoardColumn.id, sort_by_parameter_order=True),
                                  rows).all()

    def _cards(self, board: Board, batch: list[tuple[int, _Card, str]]) -> None:
        session = db.session
        rows = [{"board_id": board.id, "column_id": column_id, "title": card.title,
                 "description": self._description(card), "position": key, "start_date": card.start_date,
                 "due_date": card.due_date, "archived_at": self.now if card.archived else None,
                 "created_at": card.created_at or self.now, "updated_at": self.now}
                for column_id, card, key in batch]
        card_ids = session.scalars(insert(Card).returning(Card.id, sort_by_parameter_order=True), rows).all()
        labels, assignees, checklist, comments, attachments = [], [], [], [], []
        for card_id, (_column_id, card, _key) in zip(card_ids, batch):
            labels += [{"card_id": card_id, "label_id": self.label_ids[key]} for key in card.labels]
            for email in card.assignees:
                if email in self.members:
                    assignees.append({"card_id": card_id, "user_id": self.members[email]})
                else:
                    self.unassigned[email] += 1
            checklist += [{"card_id": card_id, "text": text, "done": done, "position": key}
                          for (text, done), key in zip(card.checklist, self.keys(len(card.checklist)))]
            comments += [self._comment(card_id, comment) for comment in card.comments]
            attachments += self._attachments(card_id, card)
        for table, values, counter in ((card_labels, labels, None), (card_assignees, assignees, None),
                                       (ChecklistItem.__table__, checklist, "checklist_items"),
                                       (Comment.__table__, comments, "comments"),
                                       (Attachment.__table__, attachments, "attachments")):
            insert_rows(table, values)
            if counter:
                self.counts[counter] += len(values)

    def _description(self, card: _Card) -> str:
        """The description, with the card's links (which Corkboard keeps no row for) listed after it."""
        lines = []
        for text, url in card.links:
            if url.lower().startswith(LINK_SCHEMES) and not re.search(r"[\s<>]", url):
                lines.append(f"- [{_markdown_text(text)}](<{url}>)")
            else:
                self.skipped.append(f"Card “{card.title}”: the link {url!r} was left out (not a web address).")
        if not lines:
            return card.description
        return (card.description.rstrip() + "\n\n" if card.description.strip() else "") + "Links:\n\n" + "\n".join(lines)

    def _comment(self, card_id: int, comment: dict) -> dict:
        body, email = comment["body"], comment["author_email"]
        author_id = self.members.get(email) if email else None
        if author_id is None and (email or comment["author_name"]):
            author = comment["author_name"] or email
            body = f"**{_markdown_text(author)}** (imported): {body}"
        return {"card_id": card_id, "author_id": author_id, "body": body,
                "created_at": comment["created_at"] or self.now}

    def _attachments(self, card_id: int, card: _Card) -> list[dict]:
        rows = []
        for attachment in card.files:
            stored = self.files.get(attachment["file"])
            if stored is None or stored.sha256 != attachment["sha256"]:
                self.skipped.append(f"Card “{card.title}”: the file {attachment['filename']} was left out "
                                    "(its bytes come only with a .zip export).")
                continue
            rows.append({"card_id": card_id, "uploader_id": self.owner.id, "filename": attachment["filename"],
                         "sha256": stored.sha256, "content_type": attachment["content_type"], "size": stored.size,
                         "is_image": stored.is_image, "created_at": attachment["created_at"] or self.now})
        return rows

    def _note_skipped_assignees(self) -> None:
        for email, count in sorted(self.unassigned.items()):
            cards = f"{count} card{'s' if count != 1 else ''}"
            self.skipped.append(f"{email} was not assigned to {cards}: not a member of the board.")


def insert_rows(table, rows: list[dict]) -> None:
    """Many rows with one INSERT executed for all of them (the driver's executemany: SQLite's
    loop in C, psycopg's pipeline). Forcing multi-row VALUES through RETURNING measured no faster."""
    if rows:
        db.session.execute(insert(table), rows)


def _markdown_text(text: str) -> str:
    """Text shown as is inside Markdown emphasis or a link's text."""
    return re.sub(r"([\\`*_\[\]<>])", r"\\\1", text.replace("\n", " "))
