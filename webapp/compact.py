"""Pages without their templates' indentation.

The indentation that keeps a template readable is sent with every page: on a board, one line
per card face, column menu and form. This Jinja extension drops the whitespace that starts each
line of an HTML template's source when the template is compiled, once; what the template
renders (a card's text, a description in a <textarea>) is left as it is. Plain-text templates
(email bodies) keep their layout.
"""
import re

from jinja2.ext import Extension

_INDENT = re.compile(r"\n[ \t]+")


class Dedent(Extension):
    def preprocess(self, source: str, name: str | None, filename: str | None = None) -> str:
        if name and name.endswith(".html"):
            return _INDENT.sub("\n", source)
        return source
