"""Cards: add, open, edit, move, delete. `/boards/<id>/cards/<id>` lives here."""
from flask import Blueprint, abort, make_response, redirect, render_template, request, url_for
from flask_login import current_user
from markupsafe import Markup
from sqlalchemy import func, select

from .access import get_card_or_404, get_column_or_404, is_safe_next, move_columns, require_login
from .extensions import db
from .forms import CardDetailsForm, CardForm, MoveCardForm
from .hypermedia import invalid, page_or_partial, updated, wants_fragment
from .models import Board, BoardColumn, Card
from .operations import cards as card_operations
from .operations.cards import ACTIVE, KEEP
from .operations.errors import Conflict
from .operations.publish import broadcast
from .queries import ACTIVITY_PAGE, latest_activity

bp = Blueprint("cards", __name__, url_prefix="/boards/<int:board_id>")
bp.before_request(require_login)


def board_url(board: Board) -> str:
    return url_for("boards.show", board_id=board.id)


def detail_context(board: Board, card: Card, form: CardDetailsForm | None = None) -> dict:
    columns = db.session.scalars(
        select(BoardColumn).where(BoardColumn.board_id == board.id).order_by(BoardColumn.position)
    ).all()
    form = form or CardDetailsForm(obj=card, formdata=None)
    return {"board": board, "card": card, "columns": columns, "form": form,
            "move_form": MoveCardForm(formdata=None), "column_sizes": column_sizes(board)}


def column_sizes(board: Board) -> dict[int, int]:
    rows = db.session.execute(
        select(Card.column_id, func.count()).where(Card.board_id == board.id, ACTIVE).group_by(Card.column_id)
    )
    return dict(rows.all())


@bp.post("/columns/<int:column_id>/cards")
def create(board_id: int, column_id: int):
    board, column = get_column_or_404(board_id, column_id, "editor")
    form = CardForm()
    if not form.validate():
        response = invalid(form, "partials/card_add_form.html", "Add a card", board=board, column=column, bare=True)
        response.headers["HX-Retarget"] = f"#add-card-{column.id}"
        response.headers["HX-Reswap"] = "outerHTML"
        return response
    card_operations.create_card(column, form.title.data, actor=current_user)
    return updated("partials/card_created.html", url_for("boards.show", board_id=board_id), board=board, column=column,
                   placed_html=Markup(broadcast()), form=CardForm(formdata=None))


@bp.get("/cards/<int:card_id>")
def show(board_id: int, card_id: int):
    board, card = get_card_or_404(board_id, card_id)
    return page_or_partial("card.html", "partials/card_detail.html", **detail_context(board, card))


@bp.route("/cards/<int:card_id>", methods=["PUT", "PATCH"])
def edit(board_id: int, card_id: int):
    board, card = get_card_or_404(board_id, card_id, "editor")
    form = CardDetailsForm()
    if not form.validate():
        context = detail_context(board, card, form)
        del context["form"]  # invalid() passes it on itself
        return invalid(form, "partials/card_detail.html", card.title, **context)
    # A form without the date inputs (an older client) leaves the dates as they are.
    try:
        card_operations.edit_card(
            card, title=form.title.data, description=form.description.data, actor=current_user,
            start_date=form.start_date.data if form.start_date.raw_data else KEEP,
            due_date=form.due_date.data if form.due_date.raw_data else KEEP,
            expected_version=form.version.data or None)
    except Conflict as conflict:
        form.version.data = str(card.version)
        form.form_errors.append(f"{conflict.message} Your version is below: save again to keep it.")
        context = detail_context(board, card, form)
        return page_or_partial("card.html", "partials/card_detail.html", 409, **context)
    if not wants_fragment():
        return redirect(url_for("cards.show", board_id=board_id, card_id=card_id), 303)
    activities = latest_activity(board_id, card_id=card_id)
    response = make_response(render_template("partials/card_saved.html", card=card, face_html=Markup(broadcast()),
                                             form=CardDetailsForm(obj=card, formdata=None), activities=activities,
                                             more=len(activities) == ACTIVITY_PAGE))
    response.headers["HX-Retarget"] = "#card-description"  # the rest of the detail is as it was
    response.headers["HX-Reswap"] = "outerHTML"
    return response


@bp.get("/cards/<int:card_id>/move")
def move_form(board_id: int, card_id: int):
    board, card = get_card_or_404(board_id, card_id, "editor")
    form = MoveCardForm(formdata=None, column_id=card.column_id, position=current_index(card))
    context = detail_context(board, card)
    return page_or_partial("form_page.html", "partials/card_move_dialog.html", move_form=form,
                           form_partial="partials/card_move_form.html",
                           title=f"Move “{card.title}”", **{k: v for k, v in context.items() if k != "move_form"})


def current_index(card: Card) -> int:
    return db.session.scalar(
        select(func.count()).where(Card.column_id == card.column_id, Card.position < card.position,
                                   Card.archived_at.is_(None)))


@bp.patch("/cards/<int:card_id>/move")
def move(board_id: int, card_id: int):
    board, card = get_card_or_404(board_id, card_id, "editor")
    form = MoveCardForm()
    if not form.validate():
        abort(422, "; ".join(error for errors in form.errors.values() for error in errors))
    column, _source = move_columns(board, card, form.column_id.data)  # both loaded, neither asked again
    card_operations.move_card(card, column, form.position.data, actor=current_user)
    if not wants_fragment():
        return redirect(board_url(board), 303)
    return broadcast(), 200, {"HX-Trigger": "closeDialog"}


@bp.get("/cards/<int:card_id>/delete")
def delete_form(board_id: int, card_id: int):
    board, card = get_card_or_404(board_id, card_id, "editor")
    card_url = url_for("cards.show", board_id=board.id, card_id=card.id)
    back = request.args.get("next")  # the archive page asks from its list
    return render_template("confirm_delete.html", question=f"Delete the card “{card.title}”?",
                           detail="Its comments, checklist and attachments go with it. This cannot be undone; "
                                  "archiving keeps a card out of sight instead.",
                           action=card_url, button="Delete card", cancel_url=back if is_safe_next(back) else card_url)


@bp.delete("/cards/<int:card_id>")
def delete(board_id: int, card_id: int):
    board, card = get_card_or_404(board_id, card_id, "editor")
    card_operations.delete_card(card, actor=current_user)
    return removed(board)


def removed(board: Board):
    """The card left the board (deleted or archived): the author gets what every open board got."""
    response = make_response(updated(None, board_url(board)))
    if wants_fragment():
        response.set_data(broadcast())
    if wants_fragment():
        response.headers["HX-Trigger"] = "closeDialog"
    return response


@bp.patch("/cards/<int:card_id>/archive")
def archive(board_id: int, card_id: int):
    board, card = get_card_or_404(board_id, card_id, "editor")
    card_operations.archive_card(card, actor=current_user)
    return removed(board)


@bp.patch("/cards/<int:card_id>/restore")
def restore(board_id: int, card_id: int):
    board, card = get_card_or_404(board_id, card_id, "editor")
    card_operations.restore_card(card, actor=current_user)  # Conflict (409) while its column is archived
    return updated(None, url_for("boards.archive", board_id=board.id))
