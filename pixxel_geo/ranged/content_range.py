"""Parse an HTTP ``Content-Range`` header (RFC 9110, section 14.4), the one parser of the project.

Example:
    >>> parse_content_range("bytes 0-99/1234")
    ContentRange(start=0, end=99, total=1234)
    >>> parse_content_range("bytes */1234")
    ContentRange(start=None, end=None, total=1234)
"""

from __future__ import annotations

import re
from typing import NamedTuple

__all__ = ["ContentRange", "parse_content_range"]

_SATISFIED = re.compile(r"bytes\s+(\d+)\s*-\s*(\d+)\s*/\s*(\d+|\*)", re.IGNORECASE)
_UNSATISFIED = re.compile(r"bytes\s+\*\s*/\s*(\d+)", re.IGNORECASE)


class ContentRange(NamedTuple):
    """What a ``Content-Range`` says: the bytes sent (inclusive; ``None`` on a 416) and the file's size.

    Attributes:
        start: the first byte sent (``None`` in the ``bytes */<size>`` form of a 416).
        end: the last byte sent, inclusive (``None`` likewise).
        total: the file's size (``None``: the server does not know it, ``/*``).
    """

    start: int | None
    end: int | None
    total: int | None


def parse_content_range(value: str | None) -> ContentRange | None:
    """Parse ``bytes <first>-<last>/<size or *>`` or ``bytes */<size>``.

    Args:
        value: the header's value (``None`` or ``""``: no header).

    Returns:
        The parsed range, or ``None`` when the value is missing or malformed, or
        names an impossible range (last before first, or past the size).

    Example:
        >>> parse_content_range("bytes 10-19/*").total is None
        True
        >>> parse_content_range("bytes 20-10/100") is None
        True
    """
    if not value:
        return None
    text = value.strip()
    match = _SATISFIED.fullmatch(text)
    if match:
        start, end = int(match.group(1)), int(match.group(2))
        total = None if match.group(3) == "*" else int(match.group(3))
        if end < start or (total is not None and end >= total):
            return None
        return ContentRange(start, end, total)
    match = _UNSATISFIED.fullmatch(text)
    if match:
        return ContentRange(None, None, int(match.group(1)))
    return None
