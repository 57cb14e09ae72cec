"""A card's checklist: add items, tick them off, delete them. Renders partials/checklist.html.

Every change answers with the whole checklist (its progress "3/5" changes too) and, out of
band, the card's face on the board, which shows the same progress.
"""
from flask import Blueprint, abort
from flask_login import current_user

from .access import get_card_or_404, get_item_or_404, require_login
from .forms import ChecklistItemForm, ChecklistTickForm
from .hypermedia import card_changed, invalid
from .models import Board, Card
from .operations import checklists as checklist_operations

bp = Blueprint("checklists", __name__, url_prefix="/boards/<int:board_id>/cards/<int:card_id>/checklist")
bp.before_request(require_login)


def checklist_changed(board: Board, card: Card, **context):
    return card_changed("partials/checklist.html", board=board, card=card, **context)


@bp.post("")
def add(board_id: int, card_id: int):
    board, card = get_card_or_404(board_id, card_id, "editor")
    form = ChecklistItemForm()
    if not form.validate():
        return invalid(form, "partials/checklist.html", f"Checklist of “{card.title}”",
                       board=board, card=card, checklist_form=form)
    checklist_operations.add_item(card, form.text.data, actor=current_user)
    return checklist_changed(board, card, autofocus=True)


@bp.patch("/<int:item_id>")
def tick(board_id: int, card_id: int, item_id: int):
    """Tick or untick: `done` present and true means done (an unticked checkbox sends nothing)."""
    board, card, item = get_item_or_404(board_id, card_id, item_id, "editor")
    form = ChecklistTickForm()
    if not form.validate():
        abort(400, "The checklist could not be updated; reload the page and try again.")
    checklist_operations.tick_item(item, form.done.data, actor=current_user)
    return checklist_changed(board, card)


@bp.delete("/<int:item_id>")
def delete(board_id: int, card_id: int, item_id: int):
    board, card, item = get_item_or_404(board_id, card_id, item_id, "editor")
    checklist_operations.delete_item(item, actor=current_user)
    return checklist_changed(board, card)
