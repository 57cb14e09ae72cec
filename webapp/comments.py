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

from flask import Blueprint, abort, g, make_response, redirect, render_template, request, url_for
from flask_login import current_user

from .activity import record
from .auth import require_login
from .card_fields import board_members, changed
from .cards import get_card_or_404
from .extensions import db
from .forms import CommentForm
from .hypermedia import invalid, page_or_partial, wants_fragment
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


def is_handle(text: str) -> bool:
    """Whether `@text` reads back as exactly this handle (MENTION stops at a quote, a trailing dot...)."""
    return bool(text) and MENTION.fullmatch("@" + text) is not None and not text.endswith((".", "+", "-"))


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
    # The card's face goes out too: an open card dialog elsewhere sees that the card changed.
    return changed("partials/comment.html", board=board, card=card, comment=comment)


@bp.delete("/<int:comment_id>")
def delete(board_id: int, card_id: int, comment_id: int):
    board, card, comment = get_own_comment_or_404(board_id, card_id, comment_id)
    record(board.id, "comment.deleted", card=card)
    db.session.delete(comment)
    db.session.commit()
    return changed("partials/comments.html", board=board, card=card)
