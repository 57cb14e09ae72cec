"""What the board shows of each card, loaded in a fixed number of queries."""
from dataclasses import dataclass, field
from datetime import date, timedelta

from sqlalchemy import and_, bindparam, exists, func, or_, select
from sqlalchemy.orm import selectinload

from .extensions import db
from .models import (Activity, Attachment, Board, BoardColumn, BoardMember, Card, ChecklistItem, Comment, Label, User,
                     card_assignees, card_labels, initials)
from .security import filter_ids

DUE_SOON_DAYS = 2


@dataclass(slots=True)
class CardFace:
    """A card as its face on the board shows it: title, labels, people, dates, progress."""
    id: int
    column_id: int
    title: str
    has_description: bool
    start_date: date | None
    due_date: date | None
    checklist_done: int
    checklist_total: int
    comment_count: int
    cover_id: int | None
    # Most cards have neither: they share the empty tuple rather than hold two empty lists each.
    labels: list | tuple = ()
    assignees: list | tuple = ()

    @property
    def due_state(self) -> str | None:
        """'overdue', 'due-soon' or None, for the badge on the card face."""
        if self.due_date is None:
            return None
        today = date.today()
        if self.due_date < today:
            return "overdue"
        if self.due_date <= today + timedelta(days=DUE_SOON_DAYS):
            return "due-soon"
        return None


@dataclass
class CardFilters:
    """The board's filters, straight from the query string: ?q=&label=3&assignee=5&due=overdue."""
    text: str = ""
    label_ids: list[int] = field(default_factory=list)
    assignee_ids: list[int] = field(default_factory=list)
    due: str = ""  # "", "overdue", "week" or "none"

    DUE_CHOICES = {"overdue": "Overdue", "week": "Due this week", "none": "No due date"}

    @classmethod
    def from_args(cls, args) -> "CardFilters":
        def ids(name):
            return filter_ids(name, args.getlist(name))[:50]
        due = args.get("due", "")
        return cls(text=args.get("q", "").strip()[:200], label_ids=ids("label"),
                   assignee_ids=ids("assignee"), due=due if due in cls.DUE_CHOICES else "")

    def __bool__(self) -> bool:
        return bool(self.text or self.label_ids or self.assignee_ids or self.due)

    def where(self):
        """SQL conditions on Card for these filters (any of the chosen labels, and so on)."""
        conditions = []
        if self.text:
            pattern = "%" + self.text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            conditions.append(or_(Card.title.ilike(pattern, escape="\\"),
                                  Card.description.ilike(pattern, escape="\\")))
        if self.label_ids:
            conditions.append(exists().where(card_labels.c.card_id == Card.id,
                                             card_labels.c.label_id.in_(self.label_ids)))
        if self.assignee_ids:
            conditions.append(exists().where(card_assignees.c.card_id == Card.id,
                                             card_assignees.c.user_id.in_(self.assignee_ids)))
        today = date.today()
        if self.due == "overdue":
            conditions.append(Card.due_date < today)
        elif self.due == "week":
            conditions.append(and_(Card.due_date >= today, Card.due_date <= today + timedelta(days=7)))
        elif self.due == "none":
            conditions.append(Card.due_date.is_(None))
        return conditions


def _faces_statement(archived: bool):
    done = (select(func.count()).where(ChecklistItem.card_id == Card.id, ChecklistItem.done)
            .correlate(Card).scalar_subquery())
    total = select(func.count()).where(ChecklistItem.card_id == Card.id).correlate(Card).scalar_subquery()
    comments = select(func.count()).where(Comment.card_id == Card.id).correlate(Card).scalar_subquery()
    cover = (select(func.min(Attachment.id)).where(Attachment.card_id == Card.id, Attachment.is_image)
             .correlate(Card).scalar_subquery())
    return (
        select(Card.id, Card.column_id, Card.title, Card.description != "", Card.start_date, Card.due_date,
               done, total, comments, cover)
        .where(Card.board_id == bindparam("board_id"),
               Card.archived_at.is_not(None) if archived else Card.archived_at.is_(None))
        .order_by(Card.position, Card.id)
    )


# Built once: every live update of a card list runs these (`bindparam`s take the values).
FACES = {archived: _faces_statement(archived) for archived in (False, True)}
FACES_IN_COLUMNS = {archived: statement.where(Card.column_id.in_(bindparam("column_ids", expanding=True)))
                    for archived, statement in FACES.items()}
FACES_OF_CARDS = {archived: statement.where(Card.id.in_(bindparam("card_ids", expanding=True)))
                  for archived, statement in FACES.items()}
# Plain columns, not entities: a face needs a label's name and colour, a person's id and name.
LABELS = (select(card_labels.c.card_id, Label.id, Label.name, Label.color)
          .join(Label, Label.id == card_labels.c.label_id).order_by(Label.name, Label.id))
LABELS_OF_CARDS = LABELS.where(card_labels.c.card_id.in_(bindparam("card_ids", expanding=True)))
# The whole board: each of its labels (for the filter bar) with each card that carries it, or none.
LABELS_ON_BOARD = (select(card_labels.c.card_id, Label.id, Label.name, Label.color)
                   .outerjoin(card_labels, card_labels.c.label_id == Label.id)
                   .where(Label.board_id == bindparam("board_id")).order_by(Label.name, Label.id))
PEOPLE = (select(card_assignees.c.card_id, User.id, User.name)
          .join(User, User.id == card_assignees.c.user_id).order_by(User.name, User.id))
PEOPLE_ON_BOARD = (PEOPLE.join(Card, Card.id == card_assignees.c.card_id)
                   .where(Card.board_id == bindparam("board_id")))
PEOPLE_OF_CARDS = PEOPLE.where(card_assignees.c.card_id.in_(bindparam("card_ids", expanding=True)))


@dataclass(slots=True, frozen=True)
class LabelFace:
    """A label as a card face and the filter bar show it."""
    id: int
    name: str
    color: str


@dataclass(slots=True, frozen=True)
class Person:
    id: int
    name: str

    @property
    def initials(self) -> str:
        return initials(self.name)


def card_faces(board_id: int, *, filters: CardFilters | None = None, card_ids=None, column_ids=None,
               archived: bool = False) -> list[CardFace]:
    """The faces of a board's cards in board order: three queries, whatever the count."""
    return _faces_and_labels(board_id, filters, card_ids, column_ids, archived)[0]


def _faces_and_labels(board_id: int, filters: CardFilters | None, card_ids=None, column_ids=None,
                      archived: bool = False) -> tuple[list[CardFace], list[LabelFace] | None]:
    """The faces, and (unless only some cards are asked for) the board's labels, by name."""
    params = {"board_id": board_id}
    if card_ids is not None:
        statement = FACES_OF_CARDS[archived]
        params["card_ids"] = list(card_ids)
    elif column_ids is not None:
        statement = FACES_IN_COLUMNS[archived]
        params["column_ids"] = list(column_ids)
    else:
        statement = FACES[archived]
    if filters:
        statement = statement.where(*filters.where())
    faces = [CardFace(*row) for row in plain_rows(statement, params)]
    by_id = {face.id: face for face in faces}
    board_labels = None
    if card_ids is None:  # the whole board (or some columns): cheaper than a long IN list
        board_labels, labels = [], {}
        for card_id, label_id, name, color in plain_rows(LABELS_ON_BOARD, params):
            label = labels.get(label_id)
            if label is None:
                label = labels[label_id] = LabelFace(label_id, name, color)
                board_labels.append(label)
            _add(by_id, card_id, "labels", label)
    elif faces:
        for card_id, label_id, name, color in plain_rows(LABELS_OF_CARDS, params):
            _add(by_id, card_id, "labels", LabelFace(label_id, name, color))
    if faces:
        people: dict[int, Person] = {}
        for card_id, user_id, name in plain_rows(PEOPLE_OF_CARDS if card_ids is not None else PEOPLE_ON_BOARD, params):
            person = people.get(user_id)
            if person is None:
                person = people[user_id] = Person(user_id, name)
            _add(by_id, card_id, "assignees", person)
    return faces, board_labels


def _add(faces_by_id: dict[int, CardFace], card_id: int, name: str, thing) -> None:
    face = faces_by_id.get(card_id)
    if face is not None:  # else a card not shown (archived, filtered out)
        things = getattr(face, name)
        if things:
            things.append(thing)
        else:
            setattr(face, name, [thing])


def plain_rows(statement, params: dict):
    """Rows of plain values through the session's connection, without the ORM's work per row
    (a third of the cost of a 1,000-card board). Pending changes are flushed first, as
    `db.session.execute` would."""
    session = db.session()
    if session.autoflush:
        session.flush()
    return session.connection().execute(statement, params)


def card_face(card: Card) -> CardFace:
    return card_faces(card.board_id, card_ids=[card.id], archived=card.archived_at is not None)[0]


def group_by_column(faces: list[CardFace]) -> dict[int, list[CardFace]]:
    grouped: dict[int, list[CardFace]] = {}
    for face in faces:
        grouped.setdefault(face.column_id, []).append(face)
    return grouped


COLUMNS = (select(BoardColumn.id, BoardColumn.title, BoardColumn.wip_limit)
           .where(BoardColumn.board_id == bindparam("board_id"), BoardColumn.archived_at.is_(None))
           .order_by(BoardColumn.position, BoardColumn.id))
COLUMN_TOTALS = (select(Card.column_id, func.count())
                 .where(Card.board_id == bindparam("board_id"), Card.archived_at.is_(None)).group_by(Card.column_id))


def board_context(board: Board, filters: CardFilters | None = None) -> dict:
    """Everything the board page and its columns partial show: the columns (id, title and WIP
    limit), the cards' faces by column, and the board's labels (for the filter bar)."""
    filters = filters or CardFilters()
    params = {"board_id": board.id}
    columns = plain_rows(COLUMNS, params).all()
    # Filtered, a column shows fewer cards than it holds: its count and WIP warning need the real total.
    totals = dict(plain_rows(COLUMN_TOTALS, params).all()) if filters else None
    faces, labels = _faces_and_labels(board.id, filters)
    return {"board": board, "columns": columns, "labels": labels, "filters": filters, "q": filters.text,
            "cards": group_by_column(faces),
            "column_totals": totals and {column.id: totals.get(column.id, 0) for column in columns}}


FILTER_MEMBERS = (select(BoardMember.user_id, User.name).join(User, User.id == BoardMember.user_id)
                  .where(BoardMember.board_id == bindparam("board_id")).order_by(User.name, User.id))


@dataclass(slots=True, frozen=True)
class Member:
    """A member of a board as its filter bar offers them: `member.user_id`, `member.user.name`."""
    user_id: int
    user: Person


def filter_members(board_id: int) -> list[Member]:
    """The board's members for its filter bar, by name."""
    return [Member(user_id, Person(user_id, name))
            for user_id, name in plain_rows(FILTER_MEMBERS, {"board_id": board_id})]


def board_members(board_id: int) -> list[User]:
    """The board's members, by name: who can be assigned to its cards and mentioned in comments."""
    return db.session.scalars(
        select(User).join(BoardMember, BoardMember.user_id == User.id)
        .where(BoardMember.board_id == board_id).order_by(User.name, User.id)
    ).all()


def assignable_people(board: Board, card: Card) -> list[User]:
    """Who the card's assignee checkboxes offer: the board's members, and anyone still assigned
    who has since left the board (so they can be unassigned, not silently dropped)."""
    assigned = select(card_assignees.c.user_id).where(card_assignees.c.card_id == card.id)
    members = select(BoardMember.user_id).where(BoardMember.board_id == board.id)
    return db.session.scalars(
        select(User).where(or_(User.id.in_(members), User.id.in_(assigned))).order_by(User.name, User.id)
    ).all()


def last_editor(card: Card) -> str:
    """Who last changed the card, as the activity log says ("Someone" when it does not)."""
    name = db.session.scalar(
        select(User.name).join(Activity, Activity.actor_id == User.id)
        .where(Activity.card_id == card.id).order_by(Activity.id.desc()).limit(1))
    return name or "Someone"


ACTIVITY_PAGE = 50


def latest_activity(board_id: int, card_id: int | None = None, before: int | None = None) -> list[Activity]:
    """A page of the board's (or one card's) activity, newest first, older than `before`."""
    statement = (select(Activity).where(Activity.board_id == board_id)
                 .options(selectinload(Activity.actor)).order_by(Activity.id.desc()).limit(ACTIVITY_PAGE))
    if card_id is not None:
        statement = statement.where(Activity.card_id == card_id)
    if before:
        statement = statement.where(Activity.id < before)
    return db.session.scalars(statement).all()
