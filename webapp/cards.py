"""Cards: add, open, edit, move, delete. `/boards/<id>/cards/<id>` lives here."""
from flask import Blueprint, abort, make_response, redirect, render_template, request, url_for
from markupsafe import Markup
from sqlalchemy import and_, bindparam, func, or_, select

from . import live
from .activity import record
from .auth import is_safe_next, require_login
from .columns import board_url, column_counts, column_of, get_column_or_404
from .boards import get_board_or_404
from .extensions import db
from .forms import CardDetailsForm, CardForm, MoveCardForm
from .hypermedia import invalid, page_or_partial, updated, wants_fragment
from .models import Activity, Board, BoardColumn, Card, User, utcnow
from .ordering import fresh, key_at, lock_parent, place, rebalance
from .pagecache import board_version
from .queries import card_face, card_faces

bp = Blueprint("cards", __name__, url_prefix="/boards/<int:board_id>")
bp.before_request(require_login)


def get_card_or_404(board_id: int, card_id: int, role: str = "viewer") -> tuple[Board, Card]:
    board = get_board_or_404(board_id, role)
    card = db.session.get(Card, card_id)
    if card is None or card.board_id != board.id:
        abort(404, "No such card.")
    return board, card


ACTIVE = Card.archived_at.is_(None)
OTHER_KEYS = (  # built once: every move runs it. Archived cards count for the keys, not the index.
    select(Card.position, ACTIVE)
    .where(Card.column_id == bindparam("column_id"), Card.id != bindparam("card_id"))
    .order_by(Card.position, Card.id)
)


def position_key(column_id: int, index: int, moving: Card) -> str:
    """The order key that puts `moving` at `index` among the column's other active cards; the
    column's cards are rebalanced in this transaction when no short key fits there."""
    lock_parent(db.session, BoardColumn, column_id)
    rows = db.session.execute(fresh(db.session, OTHER_KEYS), {"column_id": column_id, "card_id": moving.id}).all()
    return (key_at([key for key, _ in rows], index, [active for _, active in rows])
            or rebalance(db.session, Card, Card.column_id == column_id, index, moving_id=moving.id, shown=ACTIVE))


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
    position = place(db.session, Card, Card.column_id == column.id, None, parent=(BoardColumn, column.id))
    card = Card(board_id=board.id, column_id=column.id, title=form.title.data, position=position)
    db.session.add(card)
    db.session.flush()
    record(board.id, "card.created", card=card, column=column.title)
    db.session.commit()
    placed_html = publish_placed(board.id, card.id, [column.id])
    return updated("partials/card_created.html", board_url(board), board=board, column=column,
                   placed_html=Markup(placed_html), form=CardForm(formdata=None))


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
    if form.version.data and form.version.data != str(card.version):
        form.version.data = str(card.version)
        form.form_errors.append(f"{last_editor(card)} changed this card while you were editing it; its title "
                                f"is now “{card.title}”. Your version is below: save again to keep it.")
        context = detail_context(board, card, form)
        return page_or_partial("card.html", "partials/card_detail.html", 409, **context)
    # A form without the date inputs (an older client) leaves the dates as they are.
    dates = tuple(field.data if field.raw_data else current for field, current in
                  ((form.start_date, card.start_date), (form.due_date, card.due_date)))
    dates_changed = dates != (card.start_date, card.due_date)
    text_changed = (form.title.data, form.description.data or "") != (card.title, card.description)
    card.title = form.title.data
    card.description = form.description.data or ""
    card.start_date, card.due_date = dates
    card.version += 1
    if text_changed or not dates_changed:
        record(board.id, "card.edited", card=card)
    if dates_changed:
        record(board.id, "card.dates_changed", card=card)
    db.session.commit()
    publish_face(card)
    return updated("partials/card_saved.html", url_for("cards.show", board_id=board.id, card_id=card.id),
                   face=card_face(card), **detail_context(board, card))


def last_editor(card: Card) -> str:
    name = db.session.scalar(
        select(User.name).join(Activity, Activity.actor_id == User.id)
        .where(Activity.card_id == card.id).order_by(Activity.id.desc()).limit(1))
    return name or "Someone"


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
    target = column_of(board, form.column_id.data)
    source = card.column
    position = position_key(target.id, form.position.data, moving=card)
    if source.id != target.id:
        record(board.id, "card.moved", card=card, source=source.title, target=target.title)
    else:
        record(board.id, "card.reordered", card=card, column=target.title)
    card.position, card.column_id, card.version = position, target.id, card.version + 1  # one UPDATE
    board_id, column_ids = board.id, [source.id, target.id]  # read before the commit expires them
    db.session.commit()
    html = publish_placed(board_id, card_id, column_ids)
    if not wants_fragment():
        return redirect(board_url(board), 303)
    return html, 200, {"HX-Trigger": "closeDialog"}


MOVED = select(Card.column_id, Card.position).where(Card.id == bindparam("card_id")).subquery()
NEXT_CARD = (  # the active card that follows a card in its column, in board order (queries.FACES)
    select(Card.id)
    .join(MOVED, Card.column_id == MOVED.c.column_id)
    .where(ACTIVE, or_(Card.position > MOVED.c.position,
                       and_(Card.position == MOVED.c.position, Card.id > bindparam("card_id"))))
    .order_by(Card.position, Card.id).limit(1)
)


class Placement:
    """Where a card is now: its face, the card that follows it, the counts of the columns it touched.
    Read by partials/card_moved.html when it renders, that is after publish_board has read the board's
    version: so the fragment shows a state at least as new as its stamp. `version` is read first here,
    for the author's own response (at least the live update's, never newer than what follows)."""

    def __init__(self, board_id: int, card_id: int, column_ids: list[int]):
        self.board_id, self.card_id, self.column_ids = board_id, card_id, list(dict.fromkeys(column_ids))
        self.version = None

    def load(self) -> "Placement":
        if self.version is None:
            self.version = board_version(self.board_id)
            faces = card_faces(self.board_id, card_ids=[self.card_id])
            self.card = faces[0] if faces else None  # gone (deleted or archived) since: its own event says so
            self.next_id = db.session.scalar(NEXT_CARD, {"card_id": self.card_id}) if self.card else None
            self.counts = column_counts(self.column_ids)
        return self


def publish_placed(board_id: int, card_id: int, column_ids: list[int]) -> str:
    """Send one card's face, put where it now is, and the columns' counts to every open board; return
    the fragment stamped with its version, followed by <!--/v--> (static/app.js reads both)."""
    placement = Placement(board_id, card_id, column_ids)
    html = live.publish_board(board_id, "partials/card_moved.html", placement=placement)
    return f"<!--v:{placement.version}-->\n{html}<!--/v-->\n"


def publish_face(card: Card) -> None:
    """Send the card's fresh face to every open board."""
    live.publish_board(card.board_id, "partials/card.html", card=card_face(card), oob=True)


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
    record(board.id, "card.deleted", card=card)
    db.session.delete(card)
    db.session.commit()
    return removed(board, card)


def removed(board: Board, card: Card):
    """The card leaves the board (deleted or archived): drop its face, update its column's count."""
    html = live.publish_board(board.id, "partials/card_removed.html", card=card,
                              counts=column_counts([card.column_id]), oob=True)
    response = make_response(updated(None, board_url(board)))
    if wants_fragment():
        response.set_data(html)
    if wants_fragment():
        response.headers["HX-Trigger"] = "closeDialog"
    return response


@bp.patch("/cards/<int:card_id>/archive")
def archive(board_id: int, card_id: int):
    board, card = get_card_or_404(board_id, card_id, "editor")
    if card.archived_at is None:
        card.archived_at = utcnow()
        card.version += 1
        record(board.id, "card.archived", card=card)
        db.session.commit()
    return removed(board, card)


@bp.patch("/cards/<int:card_id>/restore")
def restore(board_id: int, card_id: int):
    board, card = get_card_or_404(board_id, card_id, "editor")
    if card.column.archived_at is not None:
        abort(409, f"Its column “{card.column.title}” is archived: restore the column first.")
    if card.archived_at is not None:
        card.archived_at = None
        card.version += 1
        record(board.id, "card.restored", card=card)
        db.session.commit()
        publish_placed(board.id, card.id, [card.column_id])
    return updated(None, url_for("boards.archive", board_id=board.id))
