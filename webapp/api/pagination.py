"""Cursor pagination: a page of rows after the last one seen, by id, and the link to the next."""
import base64
from urllib.parse import urlencode

from flask import request
from sqlalchemy import Select

from ..extensions import db
from ..operations.errors import Invalid


def encode_cursor(last_id: int) -> str:
    return base64.urlsafe_b64encode(f"after:{last_id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        prefix, _, number = text.partition(":")
        if prefix == "after" and number.isascii() and number.isdigit() and len(number) < 12:
            return int(number)
    except (ValueError, UnicodeDecodeError):
        pass
    raise Invalid({"cursor": "Use the next_cursor of a page this list gave."})


def page(statement: Select, id_column, args: dict, *, newest_first: bool = False) -> tuple[list, str | None]:
    """Rows of `statement` in id order after `args["cursor"]`, at most `args["limit"]`, and the next cursor."""
    limit = args["limit"]
    if args.get("cursor"):
        after = decode_cursor(args["cursor"])
        statement = statement.where(id_column < after if newest_first else id_column > after)
    order = id_column.desc() if newest_first else id_column
    rows = db.session.execute(statement.order_by(order).limit(limit + 1)).unique().all()
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, encode_cursor(_id(rows[-1])) if more else None


def _id(row) -> int:
    first = row[0]
    return first if isinstance(first, int) else first.id


def link_headers(next_cursor: str | None) -> dict:
    """`Link: <…>; rel="next"`, with the same query (filters, page size), when there is a next page."""
    if next_cursor is None:
        return {}
    args = request.args.to_dict(flat=False)
    args["cursor"] = [next_cursor]
    return {"Link": f'<{request.base_url}?{urlencode(args, doseq=True)}>; rel="next"'}
