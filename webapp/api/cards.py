"""/api/v1/boards/<id>/cards: a board's cards, filtered as on the board; add, edit, move, archive.

A card's `ETag` is its version. A change sent with `If-Match` is made only to that version:
another one gets 412 and the card as it now is. Without `If-Match` the change goes through, as a
drag on the board does.
"""
import json

from flask import Response, request
from flask_smorest import Blueprint
from sqlalchemy import bindparam, select
from werkzeug.exceptions import PreconditionFailed

from ..access import as_utc, get_board_or_404, get_card_or_404, get_column_or_404, move_columns
from ..extensions import db
from ..models import Card, Label, User, card_assignees, card_labels
from ..operations import cards as card_operations
from ..operations.cards import KEEP
from ..queries import CardFilters
from . import schemas
from .auth import actor, load_actor
from .pagination import link_headers, page

blp = Blueprint("api_cards", __name__, description="A board's cards")
blp.before_request(load_actor)
CARD = "/boards/<int:board_id>/cards/<int:card_id>"


def card_body(card: Card) -> dict:
    return {"id": card.id, "board_id": card.board_id, "column_id": card.column_id, "title": card.title,
            "description": card.description, "start_date": card.start_date, "due_date": card.due_date,
            "archived": card.archived_at is not None, "version": card.version,
            "label_ids": [label.id for label in card.labels], "assignee_ids": [user.id for user in card.assignees],
            "created_at": as_utc(card.created_at), "updated_at": as_utc(card.updated_at)}


def etag(card: Card) -> dict:
    return {"ETag": f'"{card.version}"'}


def with_etag(card: Card):
    return card_body(card), etag(card)


def fresh_body(card: Card) -> dict:
    """The card as a 409 or 412 shows it."""
    return schemas.CardSchema().dump(card_body(card))


class StaleCard(PreconditionFailed):
    def __init__(self, card: Card):
        super().__init__(f"The card changed since version {request.headers['If-Match']}: "
                         f"it is now at version {card.version}.")
        self.fresh_body = fresh_body(card)


def check_if_match(card: Card) -> int | None:
    """The version `If-Match` names (None: no header, or `*`); 412 when it is not the card's."""
    header = request.headers.get("If-Match")
    if header is None or header.strip() == "*":
        return None
    versions = {tag.strip().removeprefix("W/").strip('"') for tag in header.split(",")}
    if str(card.version) not in versions:
        raise StaleCard(card)
    return card.version


IF_MATCH = {"parameters": [{"in": "header", "name": "If-Match", "required": False, "schema": {"type": "string"},
                            "description": "The card's ETag: the change is made only to that version"}]}
ETAG_HEADER = {"ETag": {"schema": {"type": "string"}, "description": "The card's version"}}


# A page of the list is read as plain rows, three queries whatever its size: building ORM
# objects and dumping them through marshmallow took most of its time.
LISTED = select(Card.id, Card.board_id, Card.column_id, Card.title, Card.description, Card.start_date, Card.due_date,
                Card.archived_at, Card.version, Card.created_at, Card.updated_at)
LABELS_OF = (select(card_labels.c.card_id, Label.id).join(Label)
             .where(card_labels.c.card_id.in_(bindparam("card_ids", expanding=True))).order_by(Label.name))
PEOPLE_OF = (select(card_assignees.c.card_id, User.id).join(User)
             .where(card_assignees.c.card_id.in_(bindparam("card_ids", expanding=True))).order_by(User.name))


def ids_by_card(statement, card_ids: list[int]) -> dict[int, list[int]]:
    found: dict[int, list[int]] = {}
    for card_id, other_id in db.session.execute(statement, {"card_ids": card_ids}):
        found.setdefault(card_id, []).append(other_id)
    return found


def listed_body(row, label_ids: list[int], assignee_ids: list[int]) -> dict:
    """What card_body says, from a row of LISTED, ready for JSON."""
    return {"id": row.id, "board_id": row.board_id, "column_id": row.column_id, "title": row.title,
            "description": row.description, "start_date": row.start_date and row.start_date.isoformat(),
            "due_date": row.due_date and row.due_date.isoformat(), "archived": row.archived_at is not None,
            "version": row.version, "label_ids": label_ids, "assignee_ids": assignee_ids,
            "created_at": as_utc(row.created_at).isoformat(), "updated_at": as_utc(row.updated_at).isoformat()}


@blp.get("/boards/<int:board_id>/cards")
@blp.arguments(schemas.CardQuery, location="query", as_kwargs=True)
@blp.response(200, schemas.CardPageSchema)
def list_cards(board_id: int, **args):
    """The board's cards by id, filtered as the board's filter form does, a page at a time."""
    board = get_board_or_404(board_id, user=actor())
    filters = CardFilters(text=args.get("q", "").strip(), label_ids=args.get("label", [])[:50],
                          assignee_ids=args.get("assignee", [])[:50], due=args.get("due", ""))
    archived = Card.archived_at.is_not(None) if args["archived"] else Card.archived_at.is_(None)
    rows, next_cursor = page(LISTED.where(Card.board_id == board.id, archived, *filters.where()), Card.id, args)
    card_ids = [row.id for row in rows]
    labels = ids_by_card(LABELS_OF, card_ids) if card_ids else {}
    people = ids_by_card(PEOPLE_OF, card_ids) if card_ids else {}
    body = {"items": [listed_body(row, labels.get(row.id, []), people.get(row.id, [])) for row in rows],
            "next_cursor": next_cursor}
    return Response(json.dumps(body), mimetype="application/json", headers=link_headers(next_cursor))


@blp.post("/boards/<int:board_id>/cards")
@blp.arguments(schemas.CardCreateSchema)
@blp.response(201, schemas.CardSchema, headers=ETAG_HEADER)
def create_card(data, board_id: int):
    """A new card at the bottom of the column."""
    _, column = get_column_or_404(board_id, data["column_id"], "editor", user=actor())
    return with_etag(card_operations.create_card(column, data["title"], actor=actor()))


@blp.get(CARD)
@blp.response(200, schemas.CardSchema, headers=ETAG_HEADER)
def get_card(board_id: int, card_id: int):
    _, card = get_card_or_404(board_id, card_id, user=actor())
    return with_etag(card)


@blp.patch(CARD)
@blp.arguments(schemas.CardPatchSchema)
@blp.response(200, schemas.CardSchema, headers=ETAG_HEADER)
@blp.alt_response(412, description="The card is not at the version If-Match names")
@blp.doc(**IF_MATCH)
def update_card(data, board_id: int, card_id: int):
    """Change the card's title, description or dates; what is left out stays as it is."""
    _, card = get_card_or_404(board_id, card_id, "editor", user=actor())
    version = check_if_match(card)
    card = card_operations.edit_card(
        card, title=data.get("title", card.title), description=data.get("description", card.description),
        start_date=data.get("start_date", KEEP), due_date=data.get("due_date", KEEP), actor=actor(),
        expected_version=version)
    return with_etag(card)


@blp.post(CARD + "/move")
@blp.arguments(schemas.CardMoveSchema)
@blp.response(200, schemas.CardSchema, headers=ETAG_HEADER)
@blp.alt_response(412, description="The card is not at the version If-Match names")
@blp.doc(**IF_MATCH)
def move_card(data, board_id: int, card_id: int):
    """Put the card at `position` (from 0, among the column's active cards) of column `column_id`."""
    board, card = get_card_or_404(board_id, card_id, "editor", user=actor())
    version = check_if_match(card)
    column, _source = move_columns(board, card, data["column_id"])  # both loaded, neither asked again
    card = card_operations.move_card(card, column, data["position"], actor=actor(), expected_version=version)
    return with_etag(card)


@blp.post(CARD + "/archive")
@blp.response(200, schemas.CardSchema, headers=ETAG_HEADER)
@blp.alt_response(412, description="The card is not at the version If-Match names")
@blp.doc(**IF_MATCH)
def archive_card(board_id: int, card_id: int):
    _, card = get_card_or_404(board_id, card_id, "editor", user=actor())
    check_if_match(card)
    return with_etag(card_operations.archive_card(card, actor=actor()))


@blp.post(CARD + "/restore")
@blp.response(200, schemas.CardSchema, headers=ETAG_HEADER)
@blp.alt_response(412, description="The card is not at the version If-Match names")
@blp.doc(**IF_MATCH)
def restore_card(board_id: int, card_id: int):
    _, card = get_card_or_404(board_id, card_id, "editor", user=actor())
    check_if_match(card)
    return with_etag(card_operations.restore_card(card, actor=actor()))


@blp.delete(CARD)
@blp.response(204)
@blp.alt_response(412, description="The card is not at the version If-Match names")
@blp.doc(**IF_MATCH)
def delete_card(board_id: int, card_id: int):
    """The card and everything on it, for good."""
    _, card = get_card_or_404(board_id, card_id, "editor", user=actor())
    check_if_match(card)
    card_operations.delete_card(card, actor=actor())
