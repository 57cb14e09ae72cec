"""A board's labels (name and colour) and the labels on its cards."""
from sqlalchemy import func, select

from ..extensions import db
from ..models import Board, Card, Label
from . import inputs, publish
from .activity import commit, record
from .errors import Invalid


def label_name(label: Label) -> str:
    """What a label is called, aloud and in the activity log: its name, or its colour when it has none."""
    return label.name or f"{label.color} label"


def name_taken(board_id: int, name: str, other_than: Label | None = None) -> bool:
    statement = select(func.count()).where(Label.board_id == board_id, func.lower(Label.name) == name.lower())
    if other_than is not None:
        statement = statement.where(Label.id != other_than.id)
    return db.session.scalar(statement) > 0


def checked_label(board_id: int, name, color, other_than: Label | None = None) -> tuple[str, str]:
    """Two labels of a board may not share a name; any number may have none (one of each colour...)."""
    name, color = inputs.label_name(name), inputs.label_color(color)
    if name and name_taken(board_id, name, other_than):
        raise Invalid({"name": f"This board already has a label called “{name}”."})
    return name, color


def create_label(board: Board, name: str, color: str, *, actor, card: Card | None = None) -> Label:
    """A new label of the board; given a card, it is put on that card in the same change."""
    name, color = checked_label(board.id, name, color)
    label = Label(board_id=board.id, name=name, color=color)
    db.session.add(label)
    if card is not None:
        card.labels.append(label)
    record(board.id, "label.created", actor=actor, label=label_name(label))
    if card is not None:
        record(board.id, "card.labeled", actor=actor, card=card, label=label_name(label))
    commit(board.id, actor)
    if card is not None:
        publish.card_face_changed(card)
    return label


def edit_label(label: Label, name: str, color: str, *, actor) -> Label:
    board_id = label.board_id
    label.name, label.color = checked_label(board_id, name, color, other_than=label)
    record(board_id, "label.edited", actor=actor, label=label_name(label))
    commit(board_id, actor)
    publish.board_reloads(board_id)  # its cards show the new name or colour
    return label


def delete_label(label: Label, *, actor) -> None:
    """The label goes, from every card too (ON DELETE CASCADE)."""
    board_id = label.board_id
    record(board_id, "label.deleted", actor=actor, label=label_name(label))
    db.session.delete(label)
    commit(board_id, actor)
    publish.board_reloads(board_id)


def set_labels(card: Card, labels: list[Label], *, actor) -> Card:
    """The card carries exactly these labels of its board: one activity for each put on or taken off."""
    if any(label.board_id != card.board_id for label in labels):
        raise Invalid({"labels": "Choose among the labels of the card's board."})
    added = [label for label in labels if label not in card.labels]
    removed = [label for label in card.labels if label not in labels]
    for label in added:
        record(card.board_id, "card.labeled", actor=actor, card=card, label=label_name(label))
    for label in removed:
        record(card.board_id, "card.unlabeled", actor=actor, card=card, label=label_name(label))
    card.labels = list(labels)
    commit(card.board_id, actor)
    publish.card_face_changed(card)
    return card


def add_label(card: Card, label: Label, *, actor) -> Card:
    return set_labels(card, [*card.labels, label] if label not in card.labels else list(card.labels), actor=actor)


def remove_label(card: Card, label: Label, *, actor) -> Card:
    return set_labels(card, [other for other in card.labels if other != label], actor=actor)
