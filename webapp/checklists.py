"""A card's checklist: add items, tick them off, delete them. Renders partials/checklist.html.

Every change answers with the whole checklist (its progress "3/5" changes too) and, out of
band, the card's face on the board, which shows the same progress.
"""
from flask import Blueprint, abort

from .activity import record
from .auth import require_login
from .card_fields import changed
from .cards import get_card_or_404
from .extensions import db
from .forms import ChecklistItemForm, ChecklistTickForm
from .hypermedia import invalid
from .models import Board, Card, ChecklistItem
from .ordering import place

bp = Blueprint("checklists", __name__, url_prefix="/boards/<int:board_id>/cards/<int:card_id>/checklist")
bp.before_request(require_login)


def get_item_or_404(board_id: int, card_id: int, item_id: int, role: str) -> tuple[Board, Card, ChecklistItem]:
    board, card = get_card_or_404(board_id, card_id, role)
    item = db.session.get(ChecklistItem, item_id)
    if item is None or item.card_id != card.id:
        abort(404, "No such checklist item.")
    return board, card, item


def checklist_changed(board: Board, card: Card, **context):
    return changed("partials/checklist.html", board=board, card=card, **context)


@bp.post("")
def add(board_id: int, card_id: int):
    board, card = get_card_or_404(board_id, card_id, "editor")
    form = ChecklistItemForm()
    if not form.validate():
        return invalid(form, "partials/checklist.html", f"Checklist of “{card.title}”",
                       board=board, card=card, checklist_form=form)
    position = place(db.session, ChecklistItem, ChecklistItem.card_id == card.id, None, parent=(Card, card.id))
    item = ChecklistItem(card_id=card.id, text=form.text.data, position=position)
    db.session.add(item)
    record(board.id, "checklist.added", card=card, item=item.text)
    db.session.commit()
    return checklist_changed(board, card, autofocus=True)


@bp.patch("/<int:item_id>")
def tick(board_id: int, card_id: int, item_id: int):
    """Tick or untick: `done` present and true means done (an unticked checkbox sends nothing)."""
    board, card, item = get_item_or_404(board_id, card_id, item_id, "editor")
    form = ChecklistTickForm()
    if not form.validate():
        abort(400, "The checklist could not be updated; reload the page and try again.")
    if item.done != form.done.data:
        item.done = form.done.data
        record(board.id, "checklist.checked" if item.done else "checklist.unchecked", card=card, item=item.text)
        db.session.commit()
    return checklist_changed(board, card)


@bp.delete("/<int:item_id>")
def delete(board_id: int, card_id: int, item_id: int):
    board, card, item = get_item_or_404(board_id, card_id, item_id, "editor")
    record(board.id, "checklist.deleted", card=card, item=item.text)
    db.session.delete(item)
    db.session.commit()
    return checklist_changed(board, card)
