"""A board's labels: name and colour, managed on `/boards/<id>/labels`, put on cards from their detail.

Colours come from a fixed palette (models.LABEL_COLORS) and reach the page only as a class name
(`label-green`), never as user-written CSS. A label's name may be empty, as on Trello: it is then
just its colour, and screen readers call it by its colour ("green label").

A label can also be made from a card's detail (`/boards/<id>/cards/<id>/labels/new`): it is
created and put on that card in one transaction.
"""
from flask import Blueprint, url_for
from flask_login import current_user

from .access import get_board_or_404, get_card_or_404, get_label_or_404, require_login
from .forms import LabelForm
from .hypermedia import card_changed, invalid, page_or_partial, updated
from .models import LABEL_COLORS, Board
from .operations import labels as label_operations
from .operations.errors import Invalid
from .operations.labels import label_name

bp = Blueprint("labels", __name__, url_prefix="/boards/<int:board_id>")
bp.before_request(require_login)
bp.add_app_template_global(LABEL_COLORS, "label_palette")
bp.add_app_template_filter(label_name, "label_name")


def labels_url(board: Board) -> str:
    return url_for("labels.index", board_id=board.id)


@bp.app_template_global("unused_label_color")
def unused_color(board: Board) -> str:
    """The first palette colour no label uses yet, so new labels tell apart at a glance."""
    used = {label.color for label in board.labels}
    return next((color for color in LABEL_COLORS if color not in used), LABEL_COLORS[0])


def list_context(board: Board, form: LabelForm | None = None) -> dict:
    return {"board": board, "labels": board.labels,
            "form": form or LabelForm(formdata=None, color=unused_color(board))}


def refused(form: LabelForm, problem: Invalid) -> None:
    """The operation's objection (a name the board already has), shown on the form's field."""
    for field, message in problem.errors.items():
        getattr(form, field, form.name).errors.append(message)


@bp.get("/labels")
def index(board_id: int):
    board = get_board_or_404(board_id)
    return page_or_partial("labels.html", "partials/label_list.html", **list_context(board))


@bp.post("/labels")
def create(board_id: int):
    board = get_board_or_404(board_id, "editor")
    form = LabelForm()
    try:
        if form.validate():
            label_operations.create_label(board, form.name.data, form.color.data, actor=current_user)
    except Invalid as problem:
        refused(form, problem)
    if form.errors:
        return invalid(form, "partials/label_list.html", "Labels", board=board, labels=board.labels)
    return updated("partials/label_list.html", labels_url(board), autofocus=True, **list_context(board))


@bp.post("/cards/<int:card_id>/labels/new")
def create_on_card(board_id: int, card_id: int):
    """A new label of the board, put at once on the card whose detail asked for it."""
    board, card = get_card_or_404(board_id, card_id, "editor")
    form = LabelForm()
    label = None
    try:
        if form.validate():
            label = label_operations.create_label(board, form.name.data, form.color.data, actor=current_user,
                                                  card=card)
    except Invalid as problem:
        refused(form, problem)
    if label is None:
        return invalid(form, "partials/card_fields.html", f"New label for “{card.title}”",
                       board=board, card=card, new_label_form=form)
    return card_changed("partials/card_fields.html", board=board, card=card, created_label_id=label.id)


@bp.route("/labels/<int:label_id>", methods=["PUT", "PATCH"])
def edit(board_id: int, label_id: int):
    board, label = get_label_or_404(board_id, label_id, "editor")
    form = LabelForm()
    try:
        if form.validate():
            label_operations.edit_label(label, form.name.data, form.color.data, actor=current_user)
    except Invalid as problem:
        refused(form, problem)
    if form.errors:
        return invalid(form, "partials/label.html", "Edit label", board=board, label=label, edit_form=form)
    return updated("partials/label.html", labels_url(board), board=board, label=label, saved=True)


@bp.delete("/labels/<int:label_id>")
def delete(board_id: int, label_id: int):
    board, label = get_label_or_404(board_id, label_id, "editor")
    label_operations.delete_label(label, actor=current_user)
    return updated(None, labels_url(board))
