"""Retry policy for transfers: exponential backoff with full jitter."""

from __future__ import annotations

import email.utils
import random
import time
from dataclasses import dataclass

__all__ = ["RetryPolicy", "is_retryable_status", "parse_retry_after"]


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long to wait before retrying one ranged request.

    ``max_attempts`` counts consecutive failures *without progress*: an attempt
    that received bytes before the connection broke resets the count, so a long
    transfer over a flaky link keeps going as long as it moves forward.

    Example:
        >>> policy = RetryPolicy(max_attempts=3, base_delay=0.1, max_delay=1.0)
        >>> 0.0 <= policy.delay(2) <= 0.4
        True
    """

    max_attempts: int = 8
    base_delay: float = 0.25
    max_delay: float = 20.0

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        """Seconds to sleep before retry number ``attempt`` (1-based).

        Full jitter (uniform between 0 and the exponential ceiling) spreads
        retries from parallel connections; a server's ``Retry-After`` wins.
        """
        if retry_after is not None:
            return min(max(retry_after, 0.0), max(self.max_delay, 60.0))
        ceiling = min(self.max_delay, self.base_delay * (2 ** max(attempt - 1, 0)))
        return random.uniform(0.0, ceiling)


def is_retryable_status(status_code: int) -> bool:
    """True for answers worth retrying: 408, 429 and 5xx."""
    return status_code in (408, 429) or 500 <= status_code <= 599


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a ``Retry-After`` header (delta-seconds or HTTP date), else ``None``."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(when.timestamp() - time.time(), 0.0)
