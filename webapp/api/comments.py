"""/api/v1/boards/<id>/cards/<id>/comments: a card's comments, oldest first; write, edit, delete.
Only a comment's author edits or deletes it."""
from flask_smorest import Blueprint
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from ..access import as_utc, get_card_or_404, get_own_comment_or_404
from ..models import Comment
from ..operations import comments as comment_operations
from . import schemas
from .auth import actor, load_actor
from .pagination import link_headers, page

blp = Blueprint("api_comments", __name__, description="Comments on a card")
blp.before_request(load_actor)
COMMENTS = "/boards/<int:board_id>/cards/<int:card_id>/comments"
COMMENT = COMMENTS + "/<int:comment_id>"


def person(user) -> dict | None:
    return {"id": user.id, "name": user.name} if user is not None else None


def comment_body(comment: Comment) -> dict:
    return {"id": comment.id, "card_id": comment.card_id, "author": person(comment.author), "body": comment.body,
            "created_at": as_utc(comment.created_at),
            "edited_at": as_utc(comment.edited_at) if comment.edited_at else None}


@blp.get(COMMENTS)
@blp.arguments(schemas.PageQuery, location="query", as_kwargs=True)
@blp.response(200, schemas.CommentPageSchema)
def list_comments(board_id: int, card_id: int, **args):
    _, card = get_card_or_404(board_id, card_id, user=actor())
    statement = select(Comment).where(Comment.card_id == card.id).options(selectinload(Comment.author))
    rows, next_cursor = page(statement, Comment.id, args)
    return {"items": [comment_body(comment) for (comment,) in rows], "next_cursor": next_cursor}, \
        link_headers(next_cursor)


@blp.post(COMMENTS)
@blp.arguments(schemas.CommentWriteSchema)
@blp.response(201, schemas.CommentSchema)
def add_comment(data, board_id: int, card_id: int):
    """A comment by you; @mentions of members notify them, as on the card."""
    _, card = get_card_or_404(board_id, card_id, "editor", user=actor())
    return comment_body(comment_operations.add_comment(card, data["body"], actor=actor()))


@blp.patch(COMMENT)
@blp.arguments(schemas.CommentWriteSchema)
@blp.response(200, schemas.CommentSchema)
def edit_comment(data, board_id: int, card_id: int, comment_id: int):
    _, _, comment = get_own_comment_or_404(board_id, card_id, comment_id, user=actor())
    return comment_body(comment_operations.edit_comment(comment, data["body"], actor=actor()))


@blp.delete(COMMENT)
@blp.response(204)
def delete_comment(board_id: int, card_id: int, comment_id: int):
    _, _, comment = get_own_comment_or_404(board_id, card_id, comment_id, user=actor())
    comment_operations.delete_comment(comment, actor=actor())
