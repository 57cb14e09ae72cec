"""A card's checklist: add items, tick them off, delete them. The card's face shows the progress."""
from ..extensions import db
from ..models import Card, ChecklistItem
from ..ordering import place
from . import inputs, publish
from .activity import commit, record


def add_item(card: Card, text: str, *, actor) -> ChecklistItem:
    """A new item at the end of the card's checklist."""
    text = inputs.checklist_text(text)
    position = place(db.session, ChecklistItem, ChecklistItem.card_id == card.id, None, parent=(Card, card.id))
    item = ChecklistItem(card_id=card.id, text=text, position=position)
    db.session.add(item)
    record(card.board_id, "checklist.added", actor=actor, card=card, item=item.text)
    commit(card.board_id, actor)
    publish.card_face_changed(card)
    return item


def tick_item(item: ChecklistItem, done: bool, *, actor) -> ChecklistItem:
    """Tick (done) or untick the item; ticking a ticked one records nothing."""
    card = item.card
    if item.done != bool(done):
        item.done = bool(done)
        record(card.board_id, "checklist.checked" if item.done else "checklist.unchecked", actor=actor,
               card=card, item=item.text)
        commit(card.board_id, actor)
    publish.card_face_changed(card)
    return item


def delete_item(item: ChecklistItem, *, actor) -> None:
    card = item.card
    record(card.board_id, "checklist.deleted", actor=actor, card=card, item=item.text)
    db.session.delete(item)
    commit(card.board_id, actor)
    publish.card_face_changed(card)
