"""What a card carries besides its text: labels and assignees, set from the card's detail.

`/boards/<id>/cards/<id>/labels` and `/assignees` live here; both render partials/card_fields.html.
The start and due dates are the card's own fields: they are saved with its title (cards.edit).
"""
from flask import Blueprint, url_for
from sqlalchemy import or_, select
from wtforms import SelectChoice

from . import live
from .activity import record
from .auth import require_login
from .cards import get_card_or_404
from .extensions import db
from .forms import CardAssigneesForm, CardLabelsForm
from .hypermedia import invalid, updated, wants_fragment
from .models import Board, BoardMember, Card, User, card_assignees
from .queries import card_face

bp = Blueprint("card_fields", __name__, url_prefix="/boards/<int:board_id>/cards/<int:card_id>")
bp.before_request(require_login)


def board_members(board_id: int) -> list[User]:
    """The board's members, by name: who can be assigned to its cards and mentioned in comments."""
    return db.session.scalars(
        select(User).join(BoardMember, BoardMember.user_id == User.id)
        .where(BoardMember.board_id == board_id).order_by(User.name, User.id)
    ).all()


@bp.app_template_global()
def assignable_people(board: Board, card: Card) -> list[User]:
    """Who the card's assignee checkboxes offer: the board's members, and anyone still assigned
    who has since left the board (so they can be unassigned, not silently dropped)."""
    assigned = select(card_assignees.c.user_id).where(card_assignees.c.card_id == card.id)
    members = select(BoardMember.user_id).where(BoardMember.board_id == board.id)
    return db.session.scalars(
        select(User).where(or_(User.id.in_(members), User.id.in_(assigned))).order_by(User.name, User.id)
    ).all()


def changed(partial: str, **context):
    """After a committed change to what a card carries: the context's `card` shows its fresh
    face on every open board, and the author gets the fresh partial plus, out of band, that
    same face; without JavaScript, back to the card's page."""
    card = context["card"]
    face = live.publish_board(card.board_id, "partials/card.html", card=card_face(card), oob=True)
    response = updated(partial, url_for("cards.show", board_id=card.board_id, card_id=card.id), **context)
    if wants_fragment():
        response += face
    return response


def fields_context(board: Board, card: Card, **forms) -> dict:
    return {"board": board, "card": card, **forms}


def differences(before: list, after: list) -> tuple[list, list]:
    """(added, removed), each in the order given."""
    return [item for item in after if item not in before], [item for item in before if item not in after]


@bp.put("/labels")
def set_labels(board_id: int, card_id: int):
    board, card = get_card_or_404(board_id, card_id, "editor")
    form = CardLabelsForm()
    form.labels.choices = [SelectChoice(label.id, label.name) for label in board.labels]
    if not form.validate():
        return invalid(form, "partials/card_fields.html", f"Labels of “{card.title}”",
                       **fields_context(board, card, labels_form=form))
    chosen = [label for label in board.labels if label.id in form.labels.data]
    added, removed = differences(card.labels, chosen)
    for label in added:
        record(board.id, "card.labeled", card=card, label=label.name or f"{label.color} label")
    for label in removed:
        record(board.id, "card.unlabeled", card=card, label=label.name or f"{label.color} label")
    card.labels = chosen
    db.session.commit()
    return changed("partials/card_fields.html", **fields_context(board, card))


@bp.put("/assignees")
def set_assignees(board_id: int, card_id: int):
    board, card = get_card_or_404(board_id, card_id, "editor")
    form = CardAssigneesForm()
    people = assignable_people(board, card)
    form.assignees.choices = [SelectChoice(person.id, person.name) for person in people]
    if not form.validate():
        return invalid(form, "partials/card_fields.html", f"Assignees of “{card.title}”",
                       **fields_context(board, card, assignees_form=form))
    chosen = [person for person in people if person.id in form.assignees.data]
    added, removed = differences(card.assignees, chosen)
    for person in added:
        record(board.id, "card.assigned", card=card, member=person.name)
    for person in removed:
        record(board.id, "card.unassigned", card=card, member=person.name)
    card.assignees = chosen
    db.session.commit()
    return changed("partials/card_fields.html", **fields_context(board, card))
