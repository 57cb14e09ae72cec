"""Checks every operation makes of what it is given, whoever gives it (a form, JSON, an import).

The HTML forms check the same first, so a page shows its errors inline; these keep any other
caller from saving what a form would refuse.
"""
from ..forms import COMMENT_MAX, DESCRIPTION_MAX, LABEL_NAME_MAX
from ..models import BOARD_COLORS, LABEL_COLORS, ROLES, TITLE_MAX
from .errors import Invalid


def text(value, field: str, *, maximum: int, required: str | None = None) -> str:
    """`value` trimmed; Invalid when it is missing (and `required` says what to write) or too long."""
    if value is not None and not isinstance(value, str):
        raise Invalid({field: "Send text."})
    value = (value or "").strip()
    if required and not value:
        raise Invalid({field: required})
    if len(value) > maximum:
        raise Invalid({field: f"Keep it under {maximum} characters."})
    return value


def title(value, field: str = "title") -> str:
    return text(value, field, maximum=TITLE_MAX, required="Give it a title.")


def description(value) -> str:
    if value is not None and not isinstance(value, str):
        raise Invalid({"description": "Send text."})
    if len(value or "") > DESCRIPTION_MAX:
        raise Invalid({"description": f"Keep it under {DESCRIPTION_MAX} characters."})
    return value or ""


def checklist_text(value) -> str:
    return text(value, "text", maximum=TITLE_MAX, required="Write the item first.")


def comment_body(value) -> str:
    return text(value, "body", maximum=COMMENT_MAX, required="Write something first.")


def label_name(value) -> str:
    return text(value, "name", maximum=LABEL_NAME_MAX)


def one_of(value, choices, field: str, message: str):
    if value not in choices:
        raise Invalid({field: message})
    return value


def board_color(value) -> str:
    return one_of(value, BOARD_COLORS, "color", "Choose one of the colours offered.")


def label_color(value) -> str:
    return one_of(value, LABEL_COLORS, "color", "Choose one of the colours offered.")


def role(value) -> str:
    return one_of(value, ROLES, "role", "Choose viewer, editor or owner.")


def index(value, field: str = "position") -> int:
    """A place in a list, from 0."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise Invalid({field: "Positions start at 1."})
    return value


def wip_limit(value) -> int | None:
    if value in (None, 0):
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 999:
        raise Invalid({"wip_limit": "Use a number from 1 to 999, or leave it empty."})
    return value
