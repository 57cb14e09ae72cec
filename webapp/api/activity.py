"""/api/v1/boards/<id>/activity: what happened on a board, newest first, a page at a time."""
from flask_smorest import Blueprint
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from ..access import as_utc, get_board_or_404
from ..models import Activity
from . import schemas
from .auth import actor, load_actor
from .pagination import link_headers, page

blp = Blueprint("api_activity", __name__, description="A board's activity log")
blp.before_request(load_actor)


def activity_body(activity: Activity) -> dict:
    who = activity.actor
    return {"id": activity.id, "verb": activity.verb, "card_id": activity.card_id,
            "actor": {"id": who.id, "name": who.name} if who is not None else None,
            "details": activity.details or {}, "created_at": as_utc(activity.created_at)}


@blp.get("/boards/<int:board_id>/activity")
@blp.arguments(schemas.PageQuery, location="query", as_kwargs=True)
@blp.response(200, schemas.ActivityPageSchema)
def list_activity(board_id: int, **args):
    board = get_board_or_404(board_id, user=actor())
    statement = select(Activity).where(Activity.board_id == board.id).options(selectinload(Activity.actor))
    rows, next_cursor = page(statement, Activity.id, args, newest_first=True)
    return {"items": [activity_body(activity) for (activity,) in rows], "next_cursor": next_cursor}, \
        link_headers(next_cursor)
