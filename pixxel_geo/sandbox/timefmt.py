"""RFC 3339 timestamps as the Pixxel API writes them (microseconds, ``Z``)."""

from __future__ import annotations

import time
from datetime import UTC, datetime


def rfc3339(epoch: float | None = None) -> str:
    """Format an epoch time like ``2024-05-27T06:50:20.056549Z``.

    Args:
        epoch: seconds since the epoch; now when omitted.

    Returns:
        The timestamp string.

    Example:
        >>> rfc3339(0)
        '1970-01-01T00:00:00.000000Z'
    """
    value = time.time() if epoch is None else epoch
    return datetime.fromtimestamp(value, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_rfc3339(text: str) -> float:
    """Parse an RFC 3339 date-time (``Z`` or an offset; a bare date means midnight UTC).

    Args:
        text: the timestamp.

    Returns:
        Seconds since the epoch.

    Raises:
        ValueError: the text is not an RFC 3339 date-time.

    Example:
        >>> parse_rfc3339("1970-01-01T00:00:01Z")
        1.0
    """
    value = text.strip()
    if value.endswith(("Z", "z")):
        value = value[:-1] + "+00:00"
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.timestamp()
