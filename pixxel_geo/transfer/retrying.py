"""The retry loop shared by every request of a transfer: backoff, ``Retry-After`` (honoured up to
:data:`MAX_RETRY_AFTER`, beyond the backoff cap), 403 renewal."""

from __future__ import annotations

import logging
import time
from typing import NamedTuple

import httpx

from pixxel_geo.api.errors import SignedURLError, TransferError
from pixxel_geo.api.retry import parse_retry_after
from pixxel_geo.transfer.session import Stopped, TransferSession

__all__ = ["MAX_RETRY_AFTER", "Attempts", "Failure"]

logger = logging.getLogger(__name__)

_STOP_POLL = 0.1
"""Seconds between looks at ``cancel`` while backing off."""
_MAX_REFUSALS = 3  # consecutive 403s on freshly renewed URLs before giving up
MAX_RETRY_AFTER = 300.0
"""The longest ``Retry-After`` (seconds) a transfer waits for; a server asking for more is given up on.

Up to this, a ``Retry-After`` is honoured in full, even beyond the policy's
``backoff_cap`` (retrying sooner only earns another refusal).
"""


class Failure(NamedTuple):
    """Why a request failed in a way worth retrying, and how long the server asked to wait."""

    reason: str
    retry_after: float | None = None

    @classmethod
    def of(cls, exc: httpx.TransportError) -> Failure:
        """A broken or timed-out connection (named by type: the message may hold the URL)."""
        return cls(type(exc).__name__)


class Attempts:
    """The failed attempts of one request loop, in a row.

    Failures count towards ``retry.max_attempts`` only while no progress is
    made (:meth:`progressed` resets them), so a long part that keeps moving
    through flaky connections is not given up. 403s are counted apart: each
    renews the signed URL (once per expiry, shared by all threads) and is
    retried at once; :meth:`accepted` resets them.
    """

    def __init__(self, session: TransferSession) -> None:
        self._session = session
        self.failures = 0
        self.refusals = 0

    def progressed(self) -> None:
        """Bytes arrived: earlier failures no longer count."""
        self.failures = 0

    def accepted(self) -> None:
        """The URL was accepted: a later 403 is a new expiry."""
        self.refusals = 0

    def unexpected(self, response: httpx.Response, generation: int) -> Failure | None:
        """Judge a status the caller does not handle itself.

        Returns:
            ``None`` after a 403 (the URL was renewed: retry at once), else the
            failure to :meth:`back_off` from.

        Raises:
            SignedURLError: too many refusals, or the URL cannot be renewed.
            TransferError: a status that no retry will change.
        """
        status = response.status_code
        if status == 403:
            self._refused(generation)
            return None
        if status not in self._session.retry.retry_statuses:
            raise TransferError(
                f"{self._session.url.safe} answered HTTP {status}: the file cannot be downloaded from this URL.",
                path=str(self._session.path),
            )
        return Failure(f"HTTP {status}", parse_retry_after(response.headers.get("Retry-After")))

    def back_off(self, failure: Failure, what: str) -> None:
        """Count ``failure`` and wait before the next attempt (woken early by a stop).

        Raises:
            TransferError: too many failures in a row.
            Stopped: the transfer was cancelled or another part failed while waiting.
        """
        session = self._session
        self.failures += 1
        if self.failures >= session.retry.max_attempts:
            raise TransferError(
                f"Giving up on {what} of {session.url.safe} after {self.failures} failed attempts "
                f"(last: {failure.reason}). Run again later: finished parts are kept and resumed.",
                path=str(session.path),
            )
        if failure.retry_after is not None and failure.retry_after > MAX_RETRY_AFTER:
            raise TransferError(
                f"{session.url.safe} asked to wait {failure.retry_after:.0f} s before retrying {what} "
                f"(Retry-After, after {failure.reason}), more than the {MAX_RETRY_AFTER:.0f} s a transfer waits. "
                "Run again later: finished parts are kept and resumed.",
                path=str(session.path),
            )
        # A Retry-After is honoured in full: the backoff cap is for our own guesses.
        delay = failure.retry_after if failure.retry_after is not None else session.retry.delay(self.failures - 1)
        logger.debug("%s: %s on %s; retry %d in %.2f s", session.name, failure.reason, what, self.failures, delay)
        deadline = time.monotonic() + delay
        while (left := deadline - time.monotonic()) > 0:  # short waits: ``cancel`` is noticed too
            if session.stop.wait(min(left, _STOP_POLL)) or session.cancel.is_set():
                raise Stopped
        if session.cancel.is_set():
            raise Stopped

    def _refused(self, generation: int) -> None:
        self.refusals += 1
        if self.refusals > _MAX_REFUSALS:
            raise SignedURLError(
                f"{self._session.url.safe} kept refusing access (403) even with renewed URLs: "
                "check that the download still exists and your token may read it."
            )
        logger.debug("%s: 403, renewing the signed URL", self._session.url.safe)
        self._session.url.renew(generation)
