"""Icons: a sprite of the Lucide icons Corkboard uses, built at set-up, and the `icon()` helper.

`make setup` runs `python -m webapp.icons SOURCE_DIR OUT` to gather the icons named below from
the pinned npm package (lucide-static) into one SVG sprite, static/vendor/icons.svg. A page
then draws each icon with `<use href="…/icons.svg#name">`: one cached file, icons in the text's
colour (`currentColor`), nothing inline for the Content-Security-Policy to refuse. The few
icons of card faces (FACE_ICONS) are also written as files of their own, which the stylesheet
draws as masks: a board of a thousand cards then carries no icon markup at all.
"""
import re
import sys
from functools import lru_cache
from pathlib import Path

from flask import current_app
from markupsafe import Markup, escape

ICONS = (
    "archive", "arrow-left", "arrow-right", "calendar", "clock", "columns-3", "copy", "download", "ellipsis",
    "file", "grip-vertical", "history", "keyboard", "log-out", "menu", "message-circle", "monitor",
    "moon", "pencil", "plus", "search", "settings", "square-kanban", "square-check-big", "sun",
    "tag", "text", "trash-2", "upload", "user", "user-plus", "users", "webhook", "x",
)

_SVG = re.compile(r"<svg[^>]*>(.*)</svg>", re.S)


# Drawn by the stylesheet (a CSS mask) where a page repeats them hundreds of times: card faces.
FACE_ICONS = ("clock", "message-circle", "square-check-big", "text")

_ATTRIBUTES = ('fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" stroke-linejoin="round"')


def build(source: Path, out: Path) -> None:
    symbols = []
    (out.parent / "icons").mkdir(exist_ok=True)
    for name in ICONS:
        body = " ".join(_SVG.search((source / f"{name}.svg").read_text()).group(1).split())
        body = body.replace(" />", "/>").replace("> <", "><")  # a board loads the sprite: no spare bytes
        symbols.append(f'<symbol id="{name}" viewBox="0 0 24 24">{body}</symbol>')
        if name in FACE_ICONS:
            (out.parent / "icons" / f"{name}.svg").write_text(
                f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 24 24" {_ATTRIBUTES}>{body}</svg>\n')
    out.write_text(
        f'<svg xmlns="http://www.w3.org/2000/svg" {_ATTRIBUTES}>\n<!-- Lucide icons (ISC licence) -->\n'
        + "\n".join(symbols) + "\n</svg>\n"
    )


def icon(name: str, label: str | None = None, class_: str = "") -> Markup:
    """An icon in the text's colour; decorative (hidden from screen readers) unless given a label."""
    extensions = current_app.extensions
    static = extensions.get("icons_static_url")  # Flask works the property out afresh on every call
    if static is None:
        static = extensions["icons_static_url"] = current_app.static_url_path
    return _icon(static, name, label, class_)


@lru_cache(maxsize=1024)  # a page asks for the same few dozen, and the board for hundreds of them
def _icon(static_url_path: str, name: str, label: str | None, class_: str) -> Markup:
    if name not in ICONS:
        raise ValueError(f"unknown icon {name!r}: add it to webapp.icons.ICONS")
    sprite = f"{static_url_path}/vendor/icons.svg"
    a11y = f'role="img" aria-label="{escape(label)}"' if label else 'aria-hidden="true"'
    classes = f"icon {class_}".strip()
    return Markup(f'<svg class="{classes}" {a11y}><use href="{sprite}#{name}"/></svg>')


if __name__ == "__main__":
    build(Path(sys.argv[1]), Path(sys.argv[2]))
