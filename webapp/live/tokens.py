"""Stream tokens: minted by the board page for one user and one board, checked by the stream."""
import time

from flask import current_app
from itsdangerous import BadSignature, URLSafeTimedSerializer

from ..pagecache import RenderedCache

TOKEN_SECONDS = 15 * 60  # a stream token opens a stream for this long; the stream sends fresh ones
TOKEN_SALT = "corkboard-board-stream"


def serializer(secret_key: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret_key, salt=TOKEN_SALT)


def stream_token(user_id: int, board_id: int, login_id: int) -> str:
    """A token that opens the board's stream for the user, for TOKEN_SECONDS, while their login
    (webapp/auth.py) lasts. Signing is a measurable part of serving a board page, so one token
    serves a login and board for a minute."""
    key = (current_app.secret_key, user_id, board_id, login_id)
    minted = _minted_tokens.get(key)
    if minted is None or time.monotonic() - minted[0] > 60:
        minted = (time.monotonic(), serializer(current_app.secret_key).dumps([user_id, board_id, login_id]))
        _minted_tokens.put(key, minted)
    return minted[1]


_minted_tokens = RenderedCache(4096)


def read_token(secret_key: str, token: str, board_id: int) -> int | None:
    """The user id the token was minted for, if it is genuine, fresh and for this board."""
    read = read_stream_token(secret_key, token, board_id)
    return read[0] if read else None


def read_stream_token(secret_key: str, token: str, board_id: int) -> tuple[int, int | None] | None:
    """(user id, login id) the token was minted for, if it is genuine, fresh and for this board.
    A token without a login id is one minted before logins were kept (valid for its last minutes)."""
    try:
        user_id, token_board, *login = serializer(secret_key).loads(token, max_age=TOKEN_SECONDS)
    except (BadSignature, ValueError, TypeError):
        return None
    return (user_id, login[0] if login else None) if token_board == board_id and len(login) <= 1 else None
