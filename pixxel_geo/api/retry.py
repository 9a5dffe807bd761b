"""When and how long to wait before trying a request again."""

from __future__ import annotations

import email.utils
import math
import random
import time
from dataclasses import dataclass

from pixxel_geo.api.errors import ConfigurationError

__all__ = ["RetryPolicy", "parse_retry_after"]


@dataclass(frozen=True)
class RetryPolicy:
    """Retry settings: exponential backoff with full jitter, capped.

    Attributes:
        max_attempts: attempts in all, the first included (1 disables retries); at least 1.
        backoff_base: seconds (>= 0); attempt ``n`` waits up to ``base * 2**n``.
        backoff_cap: no single backoff is longer than this many seconds (>= 0). The API
            client never retries sooner than a ``Retry-After`` asks: when the server asks
            for longer than the cap, it raises instead of waiting (see ``BaseClient.request``).
        retry_statuses: statuses worth another try.

    Raises:
        ConfigurationError: a value out of range.

    Example:
        >>> RetryPolicy(max_attempts=3).delay(0, retry_after=2.0)
        2.0
    """

    max_attempts: int = 5
    backoff_base: float = 0.5
    backoff_cap: float = 30.0
    retry_statuses: frozenset[int] = frozenset({429, 500, 502, 503, 504})

    def __post_init__(self) -> None:
        if isinstance(self.max_attempts, bool) or not isinstance(self.max_attempts, int) or self.max_attempts < 1:
            raise ConfigurationError(
                f"RetryPolicy(max_attempts={self.max_attempts!r}): give a whole number >= 1 (1 means no retries)."
            )
        for name in ("backoff_base", "backoff_cap"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value < 0:
                raise ConfigurationError(f"RetryPolicy({name}={value!r}): give a finite number of seconds >= 0.")

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (0-based).

        A ``retry_after`` is clamped to ``backoff_cap`` here; the API client
        checks it against the cap first and raises rather than retry too soon.
        """
        if retry_after is not None:
            return min(max(retry_after, 0.0), self.backoff_cap)
        return random.uniform(0, min(self.backoff_cap, self.backoff_base * 2**attempt))


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds from a ``Retry-After`` header: delta-seconds or an HTTP-date.

    Example:
        >>> parse_retry_after("3")
        3.0
        >>> parse_retry_after("nonsense") is None
        True
    """
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when is None:
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))
