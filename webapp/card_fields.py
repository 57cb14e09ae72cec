"""What a card carries besides its text: labels and assignees, set from the card's detail.

`/boards/<id>/cards/<id>/labels` and `/assignees` live here; both render partials/card_fields.html.
The start and due dates are the card's own fields: they are saved with its title (cards.edit).
"""
from flask import Blueprint
from flask_login import current_user
from wtforms import SelectChoice

from .access import get_card_or_404, require_login
from .forms import CardAssigneesForm, CardLabelsForm
from .hypermedia import card_changed, invalid
from .models import Board, Card
from .operations import assignees as assignee_operations
from .operations import labels as label_operations
from .queries import assignable_people

bp = Blueprint("card_fields", __name__, url_prefix="/boards/<int:board_id>/cards/<int:card_id>")
bp.before_request(require_login)
bp.add_app_template_global(assignable_people)


def fields_context(board: Board, card: Card, **forms) -> dict:
    return {"board": board, "card": card, **forms}


@bp.put("/labels")
def set_labels(board_id: int, card_id: int):
    board, card = get_card_or_404(board_id, card_id, "editor")
    form = CardLabelsForm()
    form.labels.choices = [SelectChoice(label.id, label.name) for label in board.labels]
    if not form.validate():
        return invalid(form, "partials/card_fields.html", f"Labels of “{card.title}”",
                       **fields_context(board, card, labels_form=form))
    chosen = [label for label in board.labels if label.id in form.labels.data]
    label_operations.set_labels(card, chosen, actor=current_user)
    return card_changed("partials/card_fields.html", **fields_context(board, card))


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
    assignee_operations.set_assignees(card, chosen, actor=current_user)
    return card_changed("partials/card_fields.html", **fields_context(board, card))
