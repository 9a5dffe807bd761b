"""The one retry loop of ranged HTTP: which failures to retry, how long to wait, when to give up.

Waits follow :class:`~pixxel_geo.api.retry.RetryPolicy`'s capped, jittered backoff; a
``Retry-After`` (read by :func:`~pixxel_geo.api.retry.parse_retry_after`) is honoured in
full, even beyond the policy's ``backoff_cap`` (retrying sooner only earns another refusal),
up to :data:`MAX_RETRY_AFTER`; a server asking for longer is given up on. The caller says
how to wait (a plain sleep, or one that a cancel interrupts) and phrases the final error.

Example:
    >>> from pixxel_geo.api.retry import RetryPolicy
    >>> waits = []
    >>> attempts = Attempts(RetryPolicy(max_attempts=3), sleep=waits.append)
    >>> attempts.back_off(Failure("HTTP 503", retry_after=2.0)) is None, waits
    (True, [2.0])
    >>> attempts.back_off(Failure("HTTP 503", retry_after=1.0)) is None
    True
    >>> attempts.back_off(Failure("HTTP 503")).describe("bytes 0-9")
    'gave up on bytes 0-9 after 3 failed attempts (last: HTTP 503)'
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple

import httpx

from pixxel_geo.api.retry import RetryPolicy, parse_retry_after

__all__ = ["MAX_RETRY_AFTER", "Attempts", "Failure", "GiveUp"]

MAX_RETRY_AFTER = 300.0
"""The longest ``Retry-After`` (seconds) waited for; a server asking for more is given up on."""


class Failure(NamedTuple):
    """Why an attempt failed in a way worth retrying, and how long the server asked to wait."""

    reason: str
    retry_after: float | None = None

    @classmethod
    def of(cls, exc: httpx.TransportError) -> Failure:
        """A broken or timed-out connection (named by type: the message may hold the URL)."""
        return cls(type(exc).__name__)

    @classmethod
    def of_response(cls, response: httpx.Response) -> Failure:
        """An answer with a retryable status, and its ``Retry-After``."""
        return cls(f"HTTP {response.status_code}", parse_retry_after(response.headers.get("Retry-After")))


@dataclass(frozen=True)
class GiveUp:
    """Why no more attempts are made: too many failures in a row, or a ``Retry-After`` too long."""

    failure: Failure
    failures: int
    max_retry_after: float = MAX_RETRY_AFTER

    @property
    def waits_too_long(self) -> bool:
        """The server asked to wait longer than :data:`MAX_RETRY_AFTER`."""
        return self.failure.retry_after is not None and self.failure.retry_after > self.max_retry_after

    def describe(self, what: str) -> str:
        """A sentence for the error message (no URL: the caller adds the redacted one).

        Args:
            what: what was being fetched, e.g. ``"bytes 0-99 of 1000"``.

        Returns:
            The reason, starting in lower case.
        """
        if self.waits_too_long:
            assert self.failure.retry_after is not None
            return (
                f"the server asked to wait {self.failure.retry_after:.0f} s before retrying {what} "
                f"(Retry-After, after {self.failure.reason}), more than the {self.max_retry_after:.0f} s "
                "waited for"
            )
        return f"gave up on {what} after {self.failures} failed attempts (last: {self.failure.reason})"


def _sleep(seconds: float) -> None:
    time.sleep(seconds)  # looked up at call time


class Attempts:
    """The failed attempts of one request, in a row, and the waits between them.

    Failures count towards ``policy.max_attempts`` only while no progress is
    made (:meth:`progressed` resets them), so a long body that keeps moving
    through flaky connections is not given up.

    Args:
        policy: the backoff and the statuses worth retrying.
        sleep: how to wait (default ``time.sleep``); a caller that can be cancelled
            passes a wait that raises when it is.
        max_retry_after: the longest ``Retry-After`` honoured.

    Example:
        >>> Attempts(RetryPolicy(), sleep=print).retryable(httpx.Response(503))
        True
    """

    def __init__(
        self,
        policy: RetryPolicy,
        *,
        sleep: Callable[[float], object] | None = None,
        max_retry_after: float = MAX_RETRY_AFTER,
    ) -> None:
        self.policy = policy
        self.failures = 0
        self._sleep = sleep if sleep is not None else _sleep
        self._max_retry_after = max_retry_after

    def retryable(self, response: httpx.Response) -> bool:
        """Whether the answer's status is worth another try (429, 5xx as the policy says)."""
        return response.status_code in self.policy.retry_statuses

    def progressed(self) -> None:
        """Bytes arrived: earlier failures no longer count."""
        self.failures = 0

    def delay(self, failure: Failure) -> float:
        """Seconds to wait after ``failure``, counted as the latest failure in a row."""
        if failure.retry_after is not None:
            return failure.retry_after  # honoured in full: the backoff cap is for our own guesses
        return self.policy.delay(max(self.failures - 1, 0))

    def back_off(self, failure: Failure) -> GiveUp | None:
        """Count ``failure``, then wait before the next attempt, or say why not to make one.

        Args:
            failure: what went wrong.

        Returns:
            ``None`` once waited (try again), else why to give up (the caller raises).
        """
        self.failures += 1
        if self.failures >= self.policy.max_attempts:
            return GiveUp(failure, self.failures, self._max_retry_after)
        if failure.retry_after is not None and failure.retry_after > self._max_retry_after:
            return GiveUp(failure, self.failures, self._max_retry_after)
        self._sleep(self.delay(failure))
        return None
