"""Waiting, written once: polls on a backing-off schedule under one deadline, reporting changes.

:func:`wait_until_final` is the combinator ``deliveries.wait`` and ``downloads.wait``
are made of; :class:`PollSchedule` says when it polls. Like every operation it never
reads the clock itself: it asks the driver (:data:`~pixxel_geo.api._steps.NOW`).
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from pixxel_geo.api._base import DeadlineReached
from pixxel_geo.api._steps import NOW, WALL, Operation, Sleep
from pixxel_geo.api.clock import SYSTEM_CLOCK, Clock
from pixxel_geo.api.errors import ConfigurationError, InvalidInputError, WaitTimeoutError
from pixxel_geo.api.events import EventCallback, Finished, Started, StateChanged, emit
from pixxel_geo.api.status import Status

__all__ = ["PollSchedule", "check_wait_timeout", "wait_until_final"]


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

    A wait sleeps each gap, clipped to the time left before its deadline.

    Example:
        >>> from itertools import islice
        >>> list(islice(PollSchedule(first=1, factor=2, cap=5, steady=0, jitter=0).gaps(random.Random()), 5))
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

    def gaps(self, rng: random.Random | None = None) -> Iterator[float]:
        """The gaps between polls, forever; ``rng`` draws the jitter (a seeded :class:`random.Random`
        makes the schedule reproducible). A wait clips each to the time left before its deadline."""
        rng = rng or random.Random()
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

    def intervals(
        self,
        timeout: float | None = None,
        *,
        deadline: float | None = None,
        rng: random.Random | None = None,
        clock: Clock | None = None,
    ) -> Iterator[float]:
        """Sleep lengths until ``timeout`` seconds from now (or until ``deadline``, a time on ``clock``,
        default the system's monotonic clock); the last one is clipped to it. The deadline is fixed
        when this is called. With neither, the intervals never end.
        """
        clock = clock or SYSTEM_CLOCK
        if deadline is None and timeout is not None:
            deadline = clock.now() + timeout
        for gap in self.gaps(rng):
            if deadline is None:
                yield gap
                continue
            remaining = deadline - clock.now()
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


class _Polled(Protocol):
    @property
    def status(self) -> Status: ...


S = TypeVar("S", bound=_Polled)


def wait_until_final(
    subjects: Sequence[str],
    poll: Callable[[list[str], float | None], Operation[Mapping[str, S]]],
    *,
    done: Callable[[S], bool],
    schedule: PollSchedule,
    timeout: float | None,
    on_event: EventCallback | None,
    timed_out: Callable[[dict[str, S], str], WaitTimeoutError],
    not_found: Callable[[list[str]], Exception] | None = None,
    finished_detail: Callable[[S], str] = lambda _: "",
    misses: int = 2,
) -> Operation[dict[str, S]]:
    """Poll ``subjects`` until each is ``done``; return their last states by id.

    Each round, ``poll(pending ids, deadline)`` returns the current state of those it
    found. Events, the same for every wait:

    - :class:`Started` for each subject, before the first poll;
    - :class:`StateChanged` when a subject is first seen, and whenever its status
      changes: ``!=`` between :class:`~pixxel_geo.api.status.Status` values, so a new
      canonical value (``CREATED`` → ``IN_PROGRESS``), or for an unknown status a new
      raw text; the same status written differently (``success`` → ``SUCCESS``) is
      no change;
    - :class:`Finished` when a subject is done with a successful status.

    The deadline (``timeout`` seconds from the call, on the driver's clock) is fixed
    before the first poll; a poll whose retries would pass it ends the wait.

    Raises:
        WaitTimeoutError: from ``timed_out(last states, cause)`` once the deadline passes.
        Exception: from ``not_found(ids)`` for ids no poll found ``misses`` times in a row
            (one miss could be a lag); without ``not_found``, polling goes on until the deadline.
    """
    at = yield WALL  # events are dated on the driver's clock too
    for subject in subjects:
        emit(on_event, Started(subject=subject, at=at))
    started = yield NOW
    deadline = None if timeout is None else started + timeout
    gaps = schedule.gaps()
    latest: dict[str, S] = {}
    missed: dict[str, int] = {}  # consecutive polls that did not find a subject
    while True:
        pending = [s for s in subjects if s not in latest or not done(latest[s])]
        try:
            fresh = yield from poll(pending, deadline)
        except DeadlineReached as reached:
            raise timed_out(latest, f" The last poll failed: {reached.error}") from reached.error
        at = yield WALL
        for subject in pending:
            state = fresh.get(subject)
            if state is None:
                missed[subject] = missed.get(subject, 0) + 1
                continue
            missed.pop(subject, None)
            previous = latest.get(subject)
            if previous is None or previous.status != state.status:
                was = str(previous.status) if previous is not None else None
                emit(on_event, StateChanged(subject=subject, status=str(state.status), previous=was, at=at))
            latest[subject] = state
            if done(state) and state.status.is_success:
                emit(on_event, Finished(subject=subject, detail=finished_detail(state), at=at))
        unknown = [s for s in subjects if s not in latest and missed.get(s, 0) >= misses]
        if unknown and not_found is not None:
            raise not_found(unknown)
        if all(s in latest and done(latest[s]) for s in subjects):
            return latest
        now = yield NOW
        if deadline is not None and now >= deadline:
            raise timed_out(latest, "")
        gap = next(gaps)
        yield Sleep(gap if deadline is None else min(gap, deadline - now))
