"""Polling with a deadline and a backing-off interval, shared by every wait."""

from __future__ import annotations

import math
import random
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
    """When waits poll: about every ``first`` seconds for ``steady`` seconds, then backing off.

    Each gap is drawn at random from ``[base, base * (1 + jitter)]`` (never above
    ``cap``), so many clients started together do not poll in lockstep. ``base``
    stays at ``first`` for the first ``steady`` seconds of a wait, then grows by
    ``factor`` per poll up to ``cap``. With the defaults a wait of up to a minute
    polls at most once a second (gaps of 1–1.5 s) and notices a change about
    0.6 s after it happens (the median); longer waits back off to a poll every
    8–12 s.

    ``first`` and ``cap`` must be > 0 (a zero interval would poll in a tight
    loop), ``cap >= first``, ``factor >= 1``, ``steady >= 0`` and ``jitter >= 0``.

    Example:
        >>> from itertools import islice
        >>> list(islice(PollSchedule(first=1, factor=2, cap=5, steady=0, jitter=0).intervals(timeout=100), 5))
        [1.0, 2.0, 4.0, 5.0, 5.0]
    """

    first: float = 1.0
    factor: float = 1.5
    cap: float = 12.0
    steady: float = 60.0
    jitter: float = 0.5

    def __post_init__(self) -> None:
        for name in ("first", "cap"):
            if not _positive(getattr(self, name)):
                raise ConfigurationError(f"PollSchedule({name}={getattr(self, name)!r}): give a number of seconds > 0.")
        if not (_positive(self.factor) and self.factor >= 1):
            raise ConfigurationError(f"PollSchedule(factor={self.factor!r}): give a number >= 1.")
        if self.cap < self.first:
            raise ConfigurationError(f"PollSchedule(cap={self.cap!r}) is below first={self.first!r}: raise cap.")
        for name in ("steady", "jitter"):
            value = getattr(self, name)
            if not (_positive(value) or value == 0) or isinstance(value, bool):
                raise ConfigurationError(f"PollSchedule({name}={value!r}): give a finite number >= 0.")

    def intervals(
        self, timeout: float | None = None, *, deadline: float | None = None, rng: random.Random | None = None
    ) -> Iterator[float]:
        """Sleep lengths until ``timeout`` seconds from now (or until ``deadline``, a
        :func:`time.monotonic` value); the last one is clipped to it. The deadline is
        fixed when this is called, not when the first interval is taken. With neither,
        the intervals never end. ``rng`` draws the jitter (a seeded
        :class:`random.Random` makes the schedule reproducible).
        """
        if deadline is None:
            deadline = deadline_after(timeout)
        return self._until(deadline, rng or random.Random())

    def gaps(self, rng: random.Random) -> Iterator[float]:
        """The unclipped gaps between polls, forever (what :meth:`intervals` clips to a deadline)."""
        base = self.first
        elapsed = 0.0
        while True:
            low, high = base, base * (1 + self.jitter)
            if high > self.cap:  # keep the spread at the cap, so long waits stay out of step too
                low, high = max(self.first, self.cap / (1 + self.jitter)), self.cap
            gap = low + (high - low) * rng.random()
            elapsed += gap
            yield float(gap)
            if elapsed >= self.steady:
                base = min(self.cap, base * self.factor)

    def _until(self, deadline: float | None, rng: random.Random) -> Iterator[float]:
        for gap in self.gaps(rng):
            if deadline is None:
                yield gap
                continue
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            yield float(min(gap, remaining))


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
