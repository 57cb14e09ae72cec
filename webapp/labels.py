"""A board's labels: name and colour, managed on `/boards/<id>/labels`, put on cards from their detail.

Colours come from a fixed palette (models.LABEL_COLORS) and reach the page only as a class name
(`label-green`), never as user-written CSS. A label's name may be empty, as on Trello: it is then
just its colour, and screen readers call it by its colour ("green label").

A label can also be made from a card's detail (`/boards/<id>/cards/<id>/labels/new`): it is
created and put on that card in one transaction.
"""
from flask import Blueprint, abort, url_for
from sqlalchemy import func, select

from . import live
from .activity import record
from .auth import require_login
from .boards import get_board_or_404
from .card_fields import changed
from .cards import get_card_or_404
from .extensions import db
from .forms import LabelForm
from .hypermedia import invalid, page_or_partial, updated
from .models import LABEL_COLORS, Board, Label

bp = Blueprint("labels", __name__, url_prefix="/boards/<int:board_id>")
bp.before_request(require_login)
bp.add_app_template_global(LABEL_COLORS, "label_palette")


@bp.app_template_filter("label_name")
def label_name(label: Label) -> str:
    """What a label is called, aloud and in the activity log: its name, or its colour when it has none."""
    return label.name or f"{label.color} label"


def get_label_or_404(board_id: int, label_id: int, role: str = "viewer") -> tuple[Board, Label]:
    board = get_board_or_404(board_id, role)
    label = db.session.get(Label, label_id)
    if label is None or label.board_id != board.id:
        abort(404, "No such label.")
    return board, label


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


def name_taken(board: Board, name: str, other_than: Label | None = None) -> bool:
    statement = select(func.count()).where(Label.board_id == board.id, func.lower(Label.name) == name.lower())
    if other_than is not None:
        statement = statement.where(Label.id != other_than.id)
    return db.session.scalar(statement) > 0


def refuse_duplicate(form: LabelForm, board: Board, label: Label | None = None) -> bool:
    """Two labels of a board may not share a name; any number may have none (one of each colour...)."""
    if form.name.data and name_taken(board, form.name.data, other_than=label):
        form.name.errors.append(f"This board already has a label called “{form.name.data}”.")
        return True
    return False


@bp.get("/labels")
def index(board_id: int):
    board = get_board_or_404(board_id)
    return page_or_partial("labels.html", "partials/label_list.html", **list_context(board))


@bp.post("/labels")
def create(board_id: int):
    board = get_board_or_404(board_id, "editor")
    form = LabelForm()
    if not form.validate() or refuse_duplicate(form, board):
        return invalid(form, "partials/label_list.html", "Labels", board=board, labels=board.labels)
    label = Label(board_id=board.id, name=form.name.data, color=form.color.data)
    db.session.add(label)
    record(board.id, "label.created", label=label_name(label))
    db.session.commit()
    return updated("partials/label_list.html", labels_url(board), autofocus=True, **list_context(board))


@bp.post("/cards/<int:card_id>/labels/new")
def create_on_card(board_id: int, card_id: int):
    """A new label of the board, put at once on the card whose detail asked for it."""
    board, card = get_card_or_404(board_id, card_id, "editor")
    form = LabelForm()
    if not form.validate() or refuse_duplicate(form, board):
        return invalid(form, "partials/card_fields.html", f"New label for “{card.title}”",
                       board=board, card=card, new_label_form=form)
    label = Label(board_id=board.id, name=form.name.data, color=form.color.data)
    db.session.add(label)
    card.labels.append(label)
    record(board.id, "label.created", label=label_name(label))
    record(board.id, "card.labeled", card=card, label=label_name(label))
    db.session.commit()
    return changed("partials/card_fields.html", board=board, card=card, created_label_id=label.id)


@bp.route("/labels/<int:label_id>", methods=["PUT", "PATCH"])
def edit(board_id: int, label_id: int):
    board, label = get_label_or_404(board_id, label_id, "editor")
    form = LabelForm()
    if not form.validate() or refuse_duplicate(form, board, label):
        return invalid(form, "partials/label.html", "Edit label", board=board, label=label, edit_form=form)
    label.name, label.color = form.name.data, form.color.data
    record(board.id, "label.edited", label=label_name(label))
    db.session.commit()
    live.refresh_board(board.id)  # its cards show the new name or colour
    return updated("partials/label.html", labels_url(board), board=board, label=label, saved=True)


@bp.delete("/labels/<int:label_id>")
def delete(board_id: int, label_id: int):
    board, label = get_label_or_404(board_id, label_id, "editor")
    record(board.id, "label.deleted", label=label_name(label))
    db.session.delete(label)  # the database takes it off every card (ON DELETE CASCADE)
    db.session.commit()
    live.refresh_board(board.id)
    return updated(None, labels_url(board))
