"""/api/v1/boards/<id>/cards/<id>/checklist: a card's checklist items; add, tick, delete."""
from flask_smorest import Blueprint

from ..access import get_card_or_404, get_item_or_404
from ..models import ChecklistItem
from ..operations import checklists as checklist_operations
from . import schemas
from .auth import actor, load_actor

blp = Blueprint("api_checklists", __name__, description="A card's checklist")
blp.before_request(load_actor)
CHECKLIST = "/boards/<int:board_id>/cards/<int:card_id>/checklist"
ITEM = CHECKLIST + "/<int:item_id>"


def item_body(item: ChecklistItem) -> dict:
    return {"id": item.id, "card_id": item.card_id, "text": item.text, "done": item.done}


@blp.get(CHECKLIST)
@blp.response(200, schemas.ChecklistSchema)
def list_items(board_id: int, card_id: int):
    _, card = get_card_or_404(board_id, card_id, user=actor())
    return {"items": [item_body(item) for item in card.checklist]}


@blp.post(CHECKLIST)
@blp.arguments(schemas.ChecklistItemCreateSchema)
@blp.response(201, schemas.ChecklistItemSchema)
def add_item(data, board_id: int, card_id: int):
    """A new item at the end of the checklist."""
    _, card = get_card_or_404(board_id, card_id, "editor", user=actor())
    return item_body(checklist_operations.add_item(card, data["text"], actor=actor()))


@blp.patch(ITEM)
@blp.arguments(schemas.ChecklistItemPatchSchema)
@blp.response(200, schemas.ChecklistItemSchema)
def tick_item(data, board_id: int, card_id: int, item_id: int):
    _, _, item = get_item_or_404(board_id, card_id, item_id, "editor", user=actor())
    return item_body(checklist_operations.tick_item(item, data["done"], actor=actor()))


@blp.delete(ITEM)
@blp.response(204)
def delete_item(board_id: int, card_id: int, item_id: int):
    _, _, item = get_item_or_404(board_id, card_id, item_id, "editor", user=actor())
    checklist_operations.delete_item(item, actor=actor())
