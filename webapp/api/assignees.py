"""/api/v1/boards/<id>/cards/<id>/assignees: who a card is assigned to (members of its board)."""
from flask_smorest import Blueprint

from ..access import get_card_or_404
from ..operations import assignees as assignee_operations
from ..operations.errors import Invalid
from ..queries import assignable_people
from . import schemas
from .auth import actor, load_actor
from .cards import card_body

blp = Blueprint("api_assignees", __name__, description="Who a card is assigned to")
blp.before_request(load_actor)
ASSIGNEES = "/boards/<int:board_id>/cards/<int:card_id>/assignees"


@blp.get(ASSIGNEES)
@blp.response(200, schemas.PersonListSchema)
def list_assignees(board_id: int, card_id: int):
    _, card = get_card_or_404(board_id, card_id, user=actor())
    return {"items": [{"id": person.id, "name": person.name} for person in card.assignees]}


@blp.put(ASSIGNEES)
@blp.arguments(schemas.CardAssigneesSchema)
@blp.response(200, schemas.CardSchema)
def set_assignees(data, board_id: int, card_id: int):
    """The card's assignees become exactly these people: members of the board (or people still
    assigned who have left it, who can be kept or dropped)."""
    board, card = get_card_or_404(board_id, card_id, "editor", user=actor())
    people = {person.id: person for person in assignable_people(board, card)}
    unknown = sorted(set(data["user_ids"]) - set(people))
    if unknown:
        raise Invalid({"user_ids": f"Not a member of this board: {', '.join(map(str, unknown))}."})
    chosen = [people[user_id] for user_id in dict.fromkeys(data["user_ids"])]
    return card_body(assignee_operations.set_assignees(card, chosen, actor=actor()))
