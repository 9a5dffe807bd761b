"""Polling with a deadline and a backing-off interval, shared by every wait."""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from pixxel_geo.api.errors import ConfigurationError, InvalidInputError

__all__ = ["PollSchedule", "check_wait_timeout", "deadline_after"]


def _positive(value: Any) -> bool:
    return not isinstance(value, bool) and isinstance(value, int | float) and math.isfinite(value) and value > 0


@dataclass(frozen=True)
class PollSchedule:
    """Poll intervals: start near ``first`` seconds, grow by ``factor``, never above ``cap``.

    ``first`` and ``cap`` must be > 0 (a zero interval would poll in a tight
    loop), ``cap >= first`` and ``factor >= 1``.

    Example:
        >>> list(PollSchedule(first=1, factor=2, cap=5).intervals(timeout=100))[:5]
        [1.0, 2.0, 4.0, 5.0, 5.0]
    """

    first: float = 1.0
    factor: float = 1.5
    cap: float = 12.0

    def __post_init__(self) -> None:
        for name in ("first", "cap"):
            if not _positive(getattr(self, name)):
                raise ConfigurationError(f"PollSchedule({name}={getattr(self, name)!r}): give a number of seconds > 0.")
        if not (_positive(self.factor) and self.factor >= 1):
            raise ConfigurationError(f"PollSchedule(factor={self.factor!r}): give a number >= 1.")
        if self.cap < self.first:
            raise ConfigurationError(f"PollSchedule(cap={self.cap!r}) is below first={self.first!r}: raise cap.")

    def intervals(self, timeout: float | None = None, *, deadline: float | None = None) -> Iterator[float]:
        """Sleep lengths until ``timeout`` seconds from now (or until ``deadline``, a
        :func:`time.monotonic` value); the last one is clipped to it. The deadline is
        fixed when this is called, not when the first interval is taken. With neither,
        the intervals never end.
        """
        if deadline is None:
            deadline = deadline_after(timeout)
        return self._until(deadline)

    def _until(self, deadline: float | None) -> Iterator[float]:
        interval = self.first
        while True:
            if deadline is None:
                yield float(interval)
            else:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return
                yield float(min(interval, remaining))
            interval = min(self.cap, interval * self.factor)


def check_wait_timeout(timeout: Any) -> float | None:
    """A wait's ``timeout``: seconds >= 0, or ``None`` to wait without a deadline."""
    if timeout is None:
        return None
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or math.isnan(timeout) or timeout < 0:
        raise InvalidInputError(
            f"timeout must be a number of seconds >= 0, or None to wait without a limit; got {timeout!r}."
        )
    return float(timeout)


def deadline_after(timeout: float | None) -> float | None:
    """The :func:`time.monotonic` value ``timeout`` seconds from now (``None``: no deadline)."""
    return None if timeout is None else time.monotonic() + timeout
