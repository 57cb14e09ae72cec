"""Comments on a card: add, edit and delete your own; `@name` mentions email board members.

A mention is `@` followed by a member's handle, compared without regard to case. A member's
handles are their name with the spaces removed (Ada Lovelace → @AdaLovelace) and the part of
their email address before the @ (ada.l@example.com → @ada.l). Only members of the board are
emailed, never the comment's author, and each at most once per comment.
"""
import re

from ..extensions import db
from ..mail import external_url, send_mail
from ..models import Card, Comment, User, utcnow
from ..queries import board_members
from . import inputs, publish
from .activity import commit, record
from .errors import Forbidden

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


def mentioned_members(text: str, members: list[User]) -> list[User]:
    handles = mentioned_handles(text)
    return [member for member in members if handles & handles_of(member)]


def add_comment(card: Card, body: str, *, actor) -> Comment:
    """A comment by `actor`; the members it mentions are emailed once it is saved."""
    body = inputs.comment_body(body)
    comment = Comment(card_id=card.id, author_id=actor.id, body=body)
    db.session.add(comment)
    record(card.board_id, "comment.added", actor=actor, card=card)
    commit(card.board_id, actor)
    notify_mentions(card, comment, actor=actor)
    publish.card_face_changed(card)
    return comment


def edit_comment(comment: Comment, body: str, *, actor) -> Comment:
    """Only its author changes a comment. Members the old text already mentioned were told then;
    only newly mentioned ones hear of it."""
    refuse_unless_author(comment, actor)
    body = inputs.comment_body(body)
    card = comment.card
    told = {member.id for member in mentioned_members(comment.body, board_members(card.board_id))}
    comment.body, comment.edited_at = body, utcnow()
    record(card.board_id, "comment.edited", actor=actor, card=card)
    commit(card.board_id, actor)
    notify_mentions(card, comment, actor=actor, already_told=told)
    # The card's face goes out too: an open card dialog elsewhere sees that the card changed.
    publish.card_face_changed(card)
    return comment


def delete_comment(comment: Comment, *, actor) -> None:
    refuse_unless_author(comment, actor)
    card = comment.card
    record(card.board_id, "comment.deleted", actor=actor, card=card)
    db.session.delete(comment)
    commit(card.board_id, actor)
    publish.card_face_changed(card)


def refuse_unless_author(comment: Comment, actor) -> None:
    if comment.author_id != actor.id:
        raise Forbidden("You can only change your own comments.")


def notify_mentions(card: Card, comment: Comment, *, actor, already_told: set[int] = frozenset()) -> None:
    """Email the members the comment mentions (after the commit: a mention of nothing saved tells nobody)."""
    board = card.board
    members = [member for member in mentioned_members(comment.body, board_members(board.id))
               if member.id != actor.id and member.id not in already_told]
    link = external_url("cards.show", board_id=board.id, card_id=card.id)
    subject_title = " ".join(card.title.split())  # one line, whatever the title holds
    for member in members:  # queued: they leave after the response, retried if the server fails
        send_mail(member.email, f"{actor.name} mentioned you on “{subject_title}”", "mention",
                  member=member, author=actor, board=board, card=card, comment=comment, link=link)
