"""Comments on a card: add, edit and delete your own; `@name` mentions email board members.

A mention is `@` followed by a member's handle, compared without regard to case. A member's
handles are their name with the spaces removed (Ada Lovelace → @AdaLovelace) and the part of
their email address before the @ (ada.l@example.com → @ada.l). Only members of the board are
emailed, never the comment's author, and each at most once per comment.
"""
import re

from flask import Blueprint, abort, redirect, render_template, url_for
from flask_login import current_user

from .activity import record
from .auth import require_login
from .card_fields import board_members, changed
from .cards import get_card_or_404
from .extensions import db
from .forms import CommentForm
from .hypermedia import invalid, page_or_partial, updated, wants_fragment
from .mail import external_url, send_mail
from .models import Board, Card, Comment, User, utcnow

bp = Blueprint("comments", __name__, url_prefix="/boards/<int:board_id>/cards/<int:card_id>/comments")
bp.before_request(require_login)

# `@` at the start or after a space or punctuation (not inside an email address like a@b.c).
MENTION = re.compile(r"(?<![\w@])@(\w[\w.+-]*)")


def mentioned_handles(text: str) -> set[str]:
    """The handles written after an @, lower-cased; a trailing full stop or dash is not part of one."""
    return {match.rstrip(".+-").lower() for match in MENTION.findall(text or "")}


def handles_of(user: User) -> set[str]:
    return {"".join(user.name.split()).lower(), user.email.split("@", 1)[0].lower()}


def mentioned_members(text: str, members: list[User]) -> list[User]:
    handles = mentioned_handles(text)
    return [member for member in members if handles & handles_of(member)]


def get_comment_or_404(board_id: int, card_id: int, comment_id: int, role: str) -> tuple[Board, Card, Comment]:
    board, card = get_card_or_404(board_id, card_id, role)
    comment = db.session.get(Comment, comment_id)
    if comment is None or comment.card_id != card.id:
        abort(404, "No such comment.")
    return board, card, comment


def get_own_comment_or_404(board_id: int, card_id: int, comment_id: int) -> tuple[Board, Card, Comment]:
    board, card, comment = get_comment_or_404(board_id, card_id, comment_id, "editor")
    if comment.author_id != current_user.id:
        abort(403, "You can only change your own comments.")
    return board, card, comment


def card_url(card: Card) -> str:
    return url_for("cards.show", board_id=card.board_id, card_id=card.id)


def notify_mentions(board: Board, card: Card, comment: Comment, already_told: set[int] = frozenset()) -> None:
    """Email the members the comment mentions (after the commit: a mention of nothing saved tells nobody)."""
    members = [member for member in mentioned_members(comment.body, board_members(board.id))
               if member.id != current_user.id and member.id not in already_told]
    link = external_url("cards.show", board_id=board.id, card_id=card.id)
    subject_title = " ".join(card.title.split())  # one line, whatever the title holds
    for member in members:  # queued: they leave after the response, retried if the server fails
        send_mail(member.email, f"{current_user.name} mentioned you on “{subject_title}”", "mention",
                  member=member, author=current_user, board=board, card=card, comment=comment, link=link)


@bp.post("")
def add(board_id: int, card_id: int):
    board, card = get_card_or_404(board_id, card_id, "editor")
    form = CommentForm()
    if not form.validate():
        return invalid(form, "partials/comments.html", f"Comment on “{card.title}”",
                       board=board, card=card, comment_form=form)
    comment = Comment(card_id=card.id, author_id=current_user.id, body=form.body.data)
    db.session.add(comment)
    record(board.id, "comment.added", card=card)
    db.session.commit()
    notify_mentions(board, card, comment)
    return changed("partials/comments.html", board=board, card=card)


@bp.get("/<int:comment_id>")
def show(board_id: int, card_id: int, comment_id: int):
    """One comment, for HTMX (e.g. cancelling an edit); the card's page otherwise."""
    board, card, comment = get_comment_or_404(board_id, card_id, comment_id, "viewer")
    if not wants_fragment():
        return redirect(card_url(card))
    return render_template("partials/comment.html", board=board, card=card, comment=comment)


@bp.get("/<int:comment_id>/edit")
def edit_form(board_id: int, card_id: int, comment_id: int):
    board, card, comment = get_own_comment_or_404(board_id, card_id, comment_id)
    return page_or_partial("form_page.html", "partials/comment_form.html", board=board, card=card,
                           comment=comment, form=CommentForm(obj=comment),
                           form_partial="partials/comment_form.html", title="Edit your comment")


@bp.route("/<int:comment_id>", methods=["PUT", "PATCH"])
def edit(board_id: int, card_id: int, comment_id: int):
    board, card, comment = get_own_comment_or_404(board_id, card_id, comment_id)
    form = CommentForm()
    if not form.validate():
        return invalid(form, "partials/comment_form.html", "Edit your comment", board=board, card=card,
                       comment=comment)
    # Members the old text already mentioned were told then; only newly mentioned ones hear of it.
    told = {member.id for member in mentioned_members(comment.body, board_members(board.id))}
    comment.body, comment.edited_at = form.body.data, utcnow()
    record(board.id, "comment.edited", card=card)
    db.session.commit()
    notify_mentions(board, card, comment, already_told=told)
    return updated("partials/comment.html", card_url(card), board=board, card=card, comment=comment)


@bp.delete("/<int:comment_id>")
def delete(board_id: int, card_id: int, comment_id: int):
    board, card, comment = get_own_comment_or_404(board_id, card_id, comment_id)
    record(board.id, "comment.deleted", card=card)
    db.session.delete(comment)
    db.session.commit()
    return changed("partials/comments.html", board=board, card=card)
