"""Trello: the JSON that a board's "Print and export → Export as JSON" gives, as a board snapshot.

Real exports differ from the documentation, and this reads them as they come:
- `pos` is a float, not unique, up to ~1.4e14: lists and cards sort by it, ties by file order.
- A closed list's cards often stay open: the column is archived, each card only if it is closed.
- Labels are read from the top-level `labels` (older exports lack it: then from the cards' own
  `labels`), never from `labelNames`; several labels may share a colour, and a colour may be null
  or a `_dark`/`_light` shade.
- Check items are "complete" or "incomplete"; dates are ISO-8601 with milliseconds and `Z`, and
  become the UTC calendar date.
- `actions` holds only the newest 1,000 actions, newest first: older comments are not in the file,
  and the summary says so when the file looks cut.
- Members rarely carry an email. They are matched by email when they do, else by full name or
  username through `people` (see `people_directory`); the others are listed as skipped.
Optional keys may be missing anywhere; a wrong type or a card in a list that does not exist is an
`ImportFileError` naming the key.
"""
import json
import re
from collections import Counter, defaultdict
from datetime import datetime, timezone

from ..models import BOARD_COLORS, LABEL_COLORS, TITLE_MAX
from . import ImportFileError, decode_text, empty_snapshot, plural

# Trello's label colours (and their _dark/_light shades) in Corkboard's palette.
LABEL_COLOR_MAP = {"green": "green", "yellow": "yellow", "orange": "orange", "red": "red", "purple": "purple",
                   "blue": "blue", "sky": "sky", "lime": "lime", "pink": "pink", "black": "grey"}
DEFAULT_LABEL_COLOR = "grey"
BOARD_COLOR_MAP = {color: color for color in BOARD_COLORS} | {"gray": "grey", "black": "grey"}
LABEL_NAME_MAX = 50
# Trello's memberType: its admins manage the board, but the importing user is the new board's owner.
ROLES = {"admin": "editor", "normal": "editor", "observer": "viewer"}
# Trello keeps at most this many actions in an export: a file holding that many has lost older ones.
ACTIONS_KEPT = 1000
WIP_LIMIT_MAX = 10_000  # Trello allows up to 5,000; anything above is not a limit anyone meant
SAFE_URL = re.compile(r"^https?://", re.IGNORECASE)
OBJECT_ID = re.compile(r"^[0-9a-f]{24}$")


def load_json(raw: bytes) -> dict:
    """The export file's JSON, or an ImportFileError naming the line where it breaks."""
    text = decode_text(raw)
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise ImportFileError(f"line {error.lineno}, column {error.colno}: not valid JSON ({error.msg})") from None
    except RecursionError:
        raise ImportFileError("the JSON is nested too deeply to be a Trello export") from None


def people_directory(users) -> dict[str, str | None]:
    """Existing people by lowercased email, name and the part of the email before the @, for matching
    Trello members that carry no email. A name two people share maps to None: never guessed."""
    directory: dict[str, str | None] = {}
    for user in users:
        directory[user.email.lower()] = user.email
        for handle in {user.name.strip().lower(), user.email.split("@")[0].lower()} - {""}:
            directory[handle] = user.email if directory.get(handle, user.email) == user.email else None
    return directory


def trello_to_snapshot(data, people: dict[str, str | None] | None = None) -> tuple[dict, list[str]]:
    """The board snapshot of a Trello export, and what it leaves out, in words."""
    return TrelloBoard(data, people or {}).snapshot()


class TrelloBoard:
    def __init__(self, data, people: dict[str, str | None]):
        if not isinstance(data, dict):
            raise ImportFileError("the file is not a Trello board export: it should hold one JSON object")
        if "lists" not in data and "cards" not in data:
            raise ImportFileError("key lists: missing; the file is not a Trello board export")
        self.data = data
        self.people = people
        self.skipped: list[str] = []
        self.counts: Counter[str] = Counter()

    def snapshot(self) -> tuple[dict, list[str]]:
        data = self.data
        title = text_at(data, "name", "name").strip() or "Trello board"
        snapshot = empty_snapshot(cut(title, TITLE_MAX), board_color(data.get("prefs")))
        board = snapshot["board"]
        self.emails = self.member_emails()
        board["members"] = self.members()
        self.labels = self.read_labels()
        board["labels"] = list(self.labels.values())
        columns = self.columns()
        cards = self.cards(columns)
        checklists = self.checklists(cards)
        comments = self.comments(cards)
        for card_id, card in cards.items():
            card["checklist"] = checklists.get(card_id, [])
            card["comments"] = comments.get(card_id, [])
        board["columns"] = list(columns.values())
        if text_at(data, "desc", "desc"):
            self.skipped.append("the board's description (Corkboard boards have none)")
        self.note_counts()
        return snapshot, self.skipped

    # --- people ---------------------------------------------------------------------------------

    def member_emails(self) -> dict[str, str]:
        """Trello member id → the email of the person it is matched to."""
        emails = {}
        for member in objects_at(self.data, "members"):
            member_id = ident(member.get("id"))
            email = self.match_person(member)
            if email and member_id:
                emails[member_id] = email
            elif member_id:
                self.skipped.append(f"Trello member {member_name(member)}: no account here with that "
                                    "email or name, not added")
        return emails

    def match_person(self, member: dict) -> str | None:
        email = member.get("email")
        if isinstance(email, str) and "@" in email:
            return email.strip()
        for key in ("fullName", "username"):
            value = member.get(key)
            if isinstance(value, str) and value.strip():
                match = self.people.get(value.strip().lower())
                if match:
                    return match
        return None

    def members(self) -> list[dict]:
        roles = {ident(membership.get("idMember")): ROLES.get(ident(membership.get("memberType")), "editor")
                 for membership in objects_at(self.data, "memberships")}
        names = {ident(member.get("id")): member_name(member, quoted=False) for member in objects_at(self.data, "members")}
        return [{"email": email, "name": names.get(member_id, ""), "role": roles.get(member_id, "editor")}
                for member_id, email in self.emails.items()]

    # --- labels, lists, cards -------------------------------------------------------------------

    def read_labels(self) -> dict[str, dict]:
        """Label id → snapshot label. From the top-level array, else from the cards' own copies."""
        labels: dict[str, dict] = {}
        sources = [("labels", objects_at(self.data, "labels"))]
        for index, card in enumerate(objects_at(self.data, "cards")):
            sources.append((f"cards[{index}].labels", objects_at(card, "labels", f"cards[{index}].labels")))
        for path, items in sources:
            for index, label in enumerate(items):
                label_id = ident(label.get("id"))
                if label_id is None or label_id in labels:
                    continue
                name = text_at(label, "name", f"{path}[{index}].name")
                labels[label_id] = {"key": label_id, "name": cut(name, LABEL_NAME_MAX),
                                    "color": label_color(label.get("color"))}
        return labels

    def columns(self) -> dict[str, dict]:
        lists = objects_at(self.data, "lists")
        columns = {}
        for index in in_order(lists, "lists"):
            item = lists[index]
            path = f"lists[{index}]"
            list_id = item.get("id")
            if not isinstance(list_id, str) or not list_id:
                raise ImportFileError(f"key {path}.id: missing; every list needs its id")
            title = text_at(item, "name", f"{path}.name").strip() or "Untitled list"
            columns[list_id] = {"key": list_id, "title": cut(title, TITLE_MAX), "wip_limit": wip_limit(item),
                                "archived": bool(item.get("closed")), "cards": []}
        return columns

    def cards(self, columns: dict[str, dict]) -> dict[str, dict]:
        items = objects_at(self.data, "cards")
        cards = {}
        for index in in_order(items, "cards"):
            item, path = items[index], f"cards[{index}]"
            list_id = item.get("idList")
            if ident(list_id) not in columns:
                found = ("missing" if list_id is None else f"no list with id {list_id!r} in lists" if ident(list_id)
                         else f"expected a list's id, found {type_name(list_id)}")
                raise ImportFileError(f"key {path}.idList: {found}")
            card_id = item.get("id") if isinstance(item.get("id"), str) and item.get("id") else f"card-{index}"
            card = self.card(item, path, card_id)
            columns[list_id]["cards"].append(card)
            cards[card_id] = card
        return cards

    def card(self, item: dict, path: str, card_id: str) -> dict:
        title = text_at(item, "name", f"{path}.name").strip()
        if not title:
            title = "Untitled card"
        if len(title) > TITLE_MAX:
            self.counts["long_titles"] += 1
        card = {"key": card_id, "title": cut(title, TITLE_MAX), "description": text_at(item, "desc", f"{path}.desc"),
                "archived": bool(item.get("closed")),
                "start_date": calendar_date(item.get("start"), f"{path}.start"),
                "due_date": calendar_date(item.get("due"), f"{path}.due"),
                "labels": self.card_labels(item, path), "assignees": self.assignees(item, path),
                "attachments": self.attachments(item, path)}
        created = object_id_time(card_id)
        if created:
            card["created_at"] = created
        if item.get("dueComplete"):
            self.counts["due_complete"] += 1
        for key, what in (("idMembersVoted", "votes"), ("stickers", "stickers"), ("customFieldItems", "custom_fields")):
            if isinstance(item.get(key), list) and item[key]:
                self.counts[what] += 1
        return card

    def card_labels(self, item: dict, path: str) -> list[str]:
        keys = []
        for label_id in strings_at(item, "idLabels", f"{path}.idLabels"):
            if label_id in self.labels:
                keys.append(label_id)
            else:
                self.counts["unknown_labels"] += 1
        return list(dict.fromkeys(keys))

    def assignees(self, item: dict, path: str) -> list[str]:
        emails = []
        for member_id in strings_at(item, "idMembers", f"{path}.idMembers"):
            if member_id in self.emails:
                emails.append(self.emails[member_id])
            else:
                self.counts["unmatched_assignees"] += 1
        return list(dict.fromkeys(emails))

    def attachments(self, item: dict, path: str) -> list[dict]:
        links = []
        for index, attachment in enumerate(objects_at(item, "attachments", f"{path}.attachments")):
            url = attachment.get("url")
            if not isinstance(url, str) or not SAFE_URL.match(url):
                self.counts["unsafe_links"] += 1
                continue
            if attachment.get("isUpload"):
                self.counts["uploads"] += 1
            name = text_at(attachment, "name", f"{path}.attachments[{index}].name").strip() or url
            link = {"filename": cut(name, 255), "url": url}
            if isinstance(attachment.get("mimeType"), str) and attachment["mimeType"]:
                link["content_type"] = attachment["mimeType"]
            if isinstance(attachment.get("bytes"), int):
                link["size"] = attachment["bytes"]
            links.append(link)
        return links

    # --- what hangs off cards -------------------------------------------------------------------

    def checklists(self, cards: dict[str, dict]) -> dict[str, list[dict]]:
        """Card id → its one Corkboard checklist. Several Trello checklists on a card become one list,
        each item prefixed with its checklist's name ("Launch: Write the post"); a lone checklist's
        items keep their text as they are."""
        items = objects_at(self.data, "checklists")
        by_card: dict[str, list[tuple[str, list[dict]]]] = defaultdict(list)
        for index in in_order(items, "checklists"):
            checklist, path = items[index], f"checklists[{index}]"
            card_id = ident(checklist.get("idCard"))
            if card_id not in cards:
                self.counts["orphan_checklists"] += 1
                continue
            name = text_at(checklist, "name", f"{path}.name").strip()
            check_items = objects_at(checklist, "checkItems", f"{path}.checkItems")
            entries = []
            for item_index in in_order(check_items, f"{path}.checkItems"):
                check_item = check_items[item_index]
                item_path = f"{path}.checkItems[{item_index}]"
                text = text_at(check_item, "name", f"{item_path}.name").strip()
                if not text:
                    continue
                state = check_item.get("state")
                if state not in (None, "complete", "incomplete"):
                    raise ImportFileError(f"key {item_path}.state: {state!r} is neither "
                                          '"complete" nor "incomplete"')
                if check_item.get("due") or check_item.get("idMember"):
                    self.counts["check_item_extras"] += 1
                entries.append({"text": text, "done": state == "complete"})
            by_card[card_id].append((name, entries))
        merged = {}
        for card_id, lists in by_card.items():
            several = len(lists) > 1
            merged[card_id] = []
            for name, entries in lists:
                for entry in entries:
                    text = f"{name}: {entry['text']}" if several and name else entry["text"]
                    if len(text) > TITLE_MAX:
                        self.counts["long_items"] += 1
                    merged[card_id].append({"text": cut(text, TITLE_MAX), "done": entry["done"]})
        return merged

    def comments(self, cards: dict[str, dict]) -> dict[str, list[dict]]:
        """Card id → its comments, oldest first (the file lists actions newest first)."""
        actions = objects_at(self.data, "actions")
        names = {ident(member.get("id")): member for member in objects_at(self.data, "members")}
        by_card: dict[str, list[dict]] = defaultdict(list)
        for index, action in enumerate(actions):
            if action.get("type") != "commentCard":
                continue
            path = f"actions[{index}]"
            details = action.get("data") if isinstance(action.get("data"), dict) else {}
            card_ref = details.get("card") if isinstance(details.get("card"), dict) else {}
            card_id = ident(card_ref.get("id"))
            if card_id not in cards:
                self.counts["orphan_comments"] += 1
                continue
            body = text_at(details, "text", f"{path}.data.text")
            if not body.strip():
                continue
            author = action.get("memberCreator") if isinstance(action.get("memberCreator"), dict) else {}
            author = author or names.get(ident(action.get("idMemberCreator")), {})
            author_id = ident(author.get("id")) or ident(action.get("idMemberCreator"))
            email = self.emails.get(author_id) or self.match_person(author)
            comment = {"author_email": email, "author_name": member_name(author, quoted=False), "body": body}
            created = timestamp(action.get("date"), f"{path}.date")
            if created:
                comment["created_at"] = created
            by_card[card_id].append(comment)
        for comments in by_card.values():
            comments.reverse()
        if len(actions) >= ACTIONS_KEPT:
            self.skipped.append(f"comments older than the newest {ACTIONS_KEPT} actions: Trello leaves them out "
                                "of its exports")
        return by_card

    def note_counts(self) -> None:
        counts = self.counts
        notes = [
            ("uploads", "{n} uploaded file{s} kept as links only: opening them needs a Trello login"),
            ("unsafe_links", "{n} attachment{s} without a web address (http or https)"),
            ("due_complete", "the \"due date done\" mark of {n} card{s} (Corkboard has no such mark)"),
            ("unmatched_assignees", "{n} assignment{s} of Trello members not matched to anyone here"),
            ("unknown_labels", "{n} label{s} on cards that the file does not describe"),
            ("orphan_checklists", "{n} checklist{s} of cards not in the file"),
            ("orphan_comments", "{n} comment{s} on cards not in the file"),
            ("check_item_extras", "due dates and people on {n} checklist item{s}"),
            ("long_titles", "{n} card title{s} cut to 200 characters"),
            ("long_items", "{n} checklist item{s} cut to 200 characters"),
            ("votes", "votes on {n} card{s}"),
            ("stickers", "stickers on {n} card{s}"),
            ("custom_fields", "custom field values on {n} card{s}"),
        ]
        for key, text in notes:
            if counts[key]:
                self.skipped.append(text.format(n=f"{counts[key]:,}", s=plural(counts[key])))


# --- reading values, each naming its key when it is wrong ---------------------------------------

def objects_at(container: dict, key: str, path: str | None = None) -> list[dict]:
    """A list of objects under `key`: [] when missing or null."""
    value = container.get(key)
    path = path or key
    if value is None:
        return []
    if not isinstance(value, list):
        raise ImportFileError(f"key {path}: expected a list, found {type_name(value)}")
    for index, item in enumerate(value):
        if not isinstance(item, dict):
            raise ImportFileError(f"key {path}[{index}]: expected an object, found {type_name(item)}")
    return value


def strings_at(container: dict, key: str, path: str) -> list[str]:
    value = container.get(key)
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ImportFileError(f"key {path}: expected a list of ids")
    return value


def text_at(container: dict, key: str, path: str) -> str:
    value = container.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ImportFileError(f"key {path}: expected text, found {type_name(value)}")
    return value.replace("\x00", "")  # no database keeps NUL characters in text


def in_order(items: list[dict], path: str) -> list[int]:
    """Indexes of `items` by their `pos` (a float, not unique), ties in file order; no pos sorts last."""
    def position(index: int) -> tuple[float, int]:
        value = items[index].get("pos")
        if value is None:
            return float("inf"), index
        if isinstance(value, bool) or not isinstance(value, (int, float, str)):
            raise ImportFileError(f"key {path}[{index}].pos: expected a number, found {type_name(value)}")
        try:
            return float(value), index
        except (ValueError, OverflowError):
            raise ImportFileError(f"key {path}[{index}].pos: {value!r} is not a number") from None
    return sorted(range(len(items)), key=position)


def parse_time(value, path: str) -> datetime | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise ImportFileError(f"key {path}: expected a date, found {type_name(value)}")
    try:
        moment = datetime.fromisoformat(value.strip())
        return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment.astimezone(timezone.utc)
    except (ValueError, OverflowError):
        raise ImportFileError(f"key {path}: {value!r} is not an ISO-8601 date") from None


def calendar_date(value, path: str) -> str | None:
    moment = parse_time(value, path)
    return moment.date().isoformat() if moment else None


def timestamp(value, path: str) -> str | None:
    moment = parse_time(value, path)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ") if moment else None


def object_id_time(object_id: str) -> str | None:
    """A Trello id is a MongoDB ObjectId: its first four bytes are when the object was made."""
    if not OBJECT_ID.match(object_id):
        return None
    return datetime.fromtimestamp(int(object_id[:8], 16), timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def ident(value) -> str | None:
    """An id as Trello writes them (text), or None for anything else."""
    return value if isinstance(value, str) and value else None


def label_color(color) -> str:
    if not isinstance(color, str):
        return DEFAULT_LABEL_COLOR
    base = color.lower().removesuffix("_dark").removesuffix("_light")
    mapped = LABEL_COLOR_MAP.get(base, DEFAULT_LABEL_COLOR)
    return mapped if mapped in LABEL_COLORS else DEFAULT_LABEL_COLOR


def board_color(prefs) -> str:
    background = prefs.get("background") if isinstance(prefs, dict) else None
    return BOARD_COLOR_MAP.get(background, "blue") if isinstance(background, str) else "blue"


def wip_limit(item: dict) -> int | None:
    """Trello's list limit (`softLimit`, newer exports, a number or a numeric string)."""
    value = item.get("softLimit")
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        return None
    try:
        limit = int(value)
    except (ValueError, OverflowError):
        return None
    return limit if 0 < limit <= WIP_LIMIT_MAX else None


def member_name(member: dict, quoted: bool = True) -> str:
    name = member.get("fullName") if isinstance(member.get("fullName"), str) else ""
    username = member.get("username") if isinstance(member.get("username"), str) else ""
    if not quoted:
        return name or username or "A Trello member"
    label = f"“{name}”" if name else ""
    return f"{label} (@{username})".strip() if username else label or "without a name"


def cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit - 1].rstrip() + "…"


def type_name(value) -> str:
    return {dict: "an object", list: "a list", str: "text", bool: "true/false", type(None): "null"}.get(
        type(value), "a number")
