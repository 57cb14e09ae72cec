"""/api/v1/boards/<id>/labels: a board's labels; and the labels on a card."""
from flask_smorest import Blueprint

from ..access import get_board_or_404, get_card_or_404, get_label_or_404
from ..models import Label
from ..operations import labels as label_operations
from ..operations.errors import Invalid
from . import schemas
from .auth import actor, load_actor
from .cards import card_body

blp = Blueprint("api_labels", __name__, description="Labels of a board and of its cards")
blp.before_request(load_actor)
LABEL = "/boards/<int:board_id>/labels/<int:label_id>"


def label_body(label: Label) -> dict:
    return {"id": label.id, "board_id": label.board_id, "name": label.name, "color": label.color}


@blp.get("/boards/<int:board_id>/labels")
@blp.response(200, schemas.LabelListSchema)
def list_labels(board_id: int):
    board = get_board_or_404(board_id, user=actor())
    return {"items": [label_body(label) for label in board.labels]}


@blp.post("/boards/<int:board_id>/labels")
@blp.arguments(schemas.LabelCreateSchema)
@blp.response(201, schemas.LabelSchema)
def create_label(data, board_id: int):
    board = get_board_or_404(board_id, "editor", user=actor())
    return label_body(label_operations.create_label(board, data["name"], data["color"], actor=actor()))


@blp.patch(LABEL)
@blp.arguments(schemas.LabelPatchSchema)
@blp.response(200, schemas.LabelSchema)
def update_label(data, board_id: int, label_id: int):
    _, label = get_label_or_404(board_id, label_id, "editor", user=actor())
    return label_body(label_operations.edit_label(label, data.get("name", label.name), data.get("color", label.color),
                                                  actor=actor()))


@blp.delete(LABEL)
@blp.response(204)
def delete_label(board_id: int, label_id: int):
    """The label, taken off every card that has it."""
    _, label = get_label_or_404(board_id, label_id, "editor", user=actor())
    label_operations.delete_label(label, actor=actor())


@blp.put("/boards/<int:board_id>/cards/<int:card_id>/labels")
@blp.arguments(schemas.CardLabelsSchema)
@blp.response(200, schemas.CardSchema)
def set_card_labels(data, board_id: int, card_id: int):
    """The card's labels become exactly these (labels of its board)."""
    board, card = get_card_or_404(board_id, card_id, "editor", user=actor())
    by_id = {label.id: label for label in board.labels}
    unknown = sorted(set(data["label_ids"]) - set(by_id))
    if unknown:
        raise Invalid({"label_ids": f"No such label on this board: {', '.join(map(str, unknown))}."})
    chosen = [by_id[label_id] for label_id in dict.fromkeys(data["label_ids"])]
    return card_body(label_operations.set_labels(card, chosen, actor=actor()))
