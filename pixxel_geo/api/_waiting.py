"""Polling with a deadline and a backing-off interval, shared by every wait."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass

__all__ = ["PollSchedule"]


@dataclass(frozen=True)
class PollSchedule:
    """Poll intervals: start near ``first`` seconds, grow by ``factor``, never above ``cap``.

    Example:
        >>> list(PollSchedule(first=1, factor=2, cap=5).intervals(timeout=100))[:5]
        [1.0, 2.0, 4.0, 5.0, 5.0]
    """

    first: float = 1.0
    factor: float = 1.5
    cap: float = 12.0

    def intervals(self, timeout: float) -> Iterator[float]:
        """Sleep lengths until ``timeout`` seconds from now; the last one is clipped to it."""
        deadline = time.monotonic() + timeout
        interval = self.first
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            yield float(min(interval, remaining))
            interval = min(self.cap, interval * self.factor)
