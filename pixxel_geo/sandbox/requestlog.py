"""An in-memory log of served requests (never the query string, so never a token or signature)."""

from __future__ import annotations

import time
from collections import deque
from typing import Any


class RequestLog:
    """Bounded record of requests: method, path, status, Range header and body bytes sent.

    ``bytes`` counts what was handed to the connection while the client was still there: a
    client that drops a response after its headers (GDAL's size probe) is counted for what the
    socket buffers took before the close, not for the whole file (see :mod:`.files`).

    Example:
        >>> log = RequestLog()
        >>> log.add(method="GET", path="/ping", status=200, range=None, bytes=6)
        >>> log.entries(path_prefix="/ping")[0]["status"]
        200
    """

    def __init__(self, maxlen: int = 100_000) -> None:
        self._entries: deque[dict[str, Any]] = deque(maxlen=maxlen)

    def add(self, *, method: str, path: str, status: int, range: str | None, bytes: int) -> None:
        """Record one served request."""
        self._entries.append(
            {
                "method": method,
                "path": path,
                "status": status,
                "range": range,
                "bytes": bytes,
                "time": time.time(),
            }
        )

    def entries(self, path_prefix: str = "") -> list[dict[str, Any]]:
        """Return the recorded requests whose path starts with ``path_prefix``, oldest first."""
        return [dict(e) for e in self._entries if e["path"].startswith(path_prefix)]

    def clear(self) -> None:
        """Forget every recorded request."""
        self._entries.clear()
