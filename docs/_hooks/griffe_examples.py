"""A griffe extension for the API reference: ``Example:`` sections read as ``Examples:``.

The project's docstrings head their doctests ``Example:`` (STYLE.md); griffe's Google parser
knows only the plural as the section whose ``>>>`` lines are code, and would render the singular
as an admonition of Markdown text. Only the heading changes; the docstrings stay as written.
"""

from __future__ import annotations

import re
from typing import Any

import griffe

_HEADING = re.compile(r"^(\s*)Example:\s*$", re.MULTILINE)


class ExampleSections(griffe.Extension):
    """Rename ``Example:`` section headings to ``Examples:`` before parsing."""

    def on_instance(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        docstring = obj.docstring
        if docstring is not None and "Example:" in docstring.value:
            docstring.value = _HEADING.sub(r"\1Examples:", docstring.value)
