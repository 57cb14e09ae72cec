"""Comments on a card: add, edit and delete your own; `@name` mentions email board members.

A mention is `@` followed by a member's handle, compared without regard to case. A member's
handles are their name with the spaces removed (Ada Lovelace → @AdaLovelace) and the part of
their email address before the @ (ada.l@example.com → @ada.l). Only members of the board are
emailed, never the comment's author, and each at most once per comment.

Typing `@` and a few letters in a comment box offers the members whose name or email starts so
(`mention_suggestions`, a server-rendered list that static/comments.js drives as a combobox); picking
one writes their handle. Posted comments highlight the mentions of members (webapp/markdown.py).
"""
import re

from flask import Blueprint, g, make_response, redirect, render_template, request, url_for
from flask_login import current_user

from .access import get_card_or_404, get_comment_or_404, get_own_comment_or_404, require_login
from .forms import CommentForm
from .hypermedia import card_changed, invalid, page_or_partial, wants_fragment
from .models import Card, User
from .operations import comments as comment_operations
from .operations.comments import MENTION, handles_of, is_handle, mentioned_handles  # noqa: F401
from .queries import board_members

bp = Blueprint("comments", __name__, url_prefix="/boards/<int:board_id>/cards/<int:card_id>/comments")
bp.before_request(require_login)


@bp.app_template_global()
def mention_handle(user: User) -> str:
    """What picking the member in the suggestions writes after the @: their name without spaces,
    or, when the name would not read back as one handle (O'Neil, Zoë-), the start of their email."""
    name = "".join(user.name.split())
    return name if is_handle(name) else user.email.split("@", 1)[0]


@bp.app_template_global()
def mention_handles(board_id: int) -> frozenset[str]:
    """The handles of the board's members, lower-cased: the mentions a comment highlights.
    Loaded once per response, however many comments it shows."""
    cache = g.setdefault("mention_handles", {})
    if board_id not in cache:
        cache[board_id] = frozenset(handle for member in board_members(board_id) for handle in handles_of(member))
    return cache[board_id]


SUGGESTIONS = 8
LISTBOX_ID = re.compile(r"[a-z][a-z0-9-]{0,40}")


def listbox_id(asked: str) -> str:
    """The id of the list the suggestions go into (its options' ids start with it)."""
    return asked if LISTBOX_ID.fullmatch(asked) else "mention-list"


def matching_members(members: list[User], query: str) -> list[User]:
    """Members whose name (any word of it) or email address starts with `query`: those whose name
    starts so first, then a later word of the name, then the address; by name within each."""
    query = query.lower()

    def starts(member: User) -> int | None:
        if member.name.lower().startswith(query) or "".join(member.name.split()).lower().startswith(query):
            return 0
        if any(word.lower().startswith(query) for word in member.name.split()[1:]):
            return 1
        if member.email.lower().startswith(query):
            return 2
        return None
    ranked = [(rank, member) for member in members if (rank := starts(member)) is not None]
    return [member for _, member in sorted(ranked, key=lambda pair: pair[0])][:SUGGESTIONS]


def card_url(card: Card) -> str:
    return url_for("cards.show", board_id=card.board_id, card_id=card.id)


@bp.get("/mentions")
def mention_suggestions(board_id: int, card_id: int):
    """The members matching what follows the @ being typed (`q`), as options of the comment box's
    list; any member may ask (it shows no more than the board's member list does)."""
    board, card = get_card_or_404(board_id, card_id, "viewer")
    query = request.args.get("q", "").strip().lstrip("@")[:100]
    members = matching_members(board_members(board.id), query) if is_handle(query) or not query else []
    response = make_response(render_template("partials/mention_suggestions.html", members=members,
                                             listbox=listbox_id(request.args.get("list", ""))))
    response.vary.add("HX-Request")
    return response


@bp.post("")
def add(board_id: int, card_id: int):
    board, card = get_card_or_404(board_id, card_id, "editor")
    form = CommentForm()
    if not form.validate():
        return invalid(form, "partials/comments.html", f"Comment on “{card.title}”",
                       board=board, card=card, comment_form=form)
    comment_operations.add_comment(card, form.body.data, actor=current_user)
    return card_changed("partials/comments.html", board=board, card=card)


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
    comment_operations.edit_comment(comment, form.body.data, actor=current_user)
    return card_changed("partials/comment.html", board=board, card=card, comment=comment)


@bp.delete("/<int:comment_id>")
def delete(board_id: int, card_id: int, comment_id: int):
    board, card, comment = get_own_comment_or_404(board_id, card_id, comment_id)
    comment_operations.delete_comment(comment, actor=current_user)
    return card_changed("partials/comments.html", board=board, card=card)
