"""Why a board operation refused: each error carries the HTTP status it stands for.

The HTML views and the error pages (webapp/errors.py) answer them as they answer `abort()`: an
error a view does not catch becomes the same page or fragment, with its message. A JSON API maps
them by type: Invalid 422 (with `errors`, field by field), Conflict 409 (with the `fresh` object
when the change was made against an old version), Forbidden 403, NotFound 404.
"""
from werkzeug.exceptions import HTTPException


class OperationError(HTTPException):
    code = 400

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class Invalid(OperationError):
    """Input the operation cannot take; `errors` maps each field to what is wrong with it."""
    code = 422

    def __init__(self, errors: dict[str, str]):
        super().__init__("; ".join(errors.values()))
        self.errors = dict(errors)


class Conflict(OperationError):
    """The board is not in a state that allows it: `fresh` is the object as it now is, when the
    change was asked against an older version of it."""
    code = 409

    def __init__(self, message: str, fresh=None):
        super().__init__(message)
        self.fresh = fresh


class Forbidden(OperationError):
    code = 403


class NotFound(OperationError):
    code = 404


class TooLarge(Invalid):
    """An upload past the size allowed: 413, with the field's message like Invalid's."""
    code = 413
