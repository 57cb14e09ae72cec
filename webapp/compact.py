"""Pages without their templates' indentation.

The indentation that keeps a template readable is sent with every page: on a board, one line
per card face, column menu and form. This Jinja extension drops the whitespace that starts each
line of an HTML template's source when the template is compiled, once; what the template
renders (a card's text, a description in a <textarea>) is left as it is. Plain-text templates
(email bodies) keep their layout.
"""
import re

from jinja2.ext import Extension

# A line's indentation, and whether the line before ends with a block tag: trim_blocks drops the
# newline after one, so there a single space stays to keep attributes or words apart.
_INDENT = re.compile(r"(%\})?\n[ \t]+")


def _dedent(match: re.Match) -> str:
    return "%}\n " if match.group(1) else "\n"


class Dedent(Extension):
    def preprocess(self, source: str, name: str | None, filename: str | None = None) -> str:
        if name and name.endswith(".html"):
            return _INDENT.sub(_dedent, source)
        return source
