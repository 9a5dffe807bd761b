"""The toolkit's retry loop (:class:`pixxel_geo.ranged.Attempts`) as a transfer uses it.

Waits are woken early by a stop (cancel, or another part failed), and giving up says what
the user can do: run again, the finished parts are kept and resumed. Refused URLs are
renewed by the session's :class:`~pixxel_geo.ranged.ResignOn403` flow before an answer
gets here: a 403 here was refused even with renewed URLs.
"""

from __future__ import annotations

import logging
import time

import httpx

from pixxel_geo.api.errors import SignedURLError, TransferError
from pixxel_geo.ranged import Attempts as _Attempts
from pixxel_geo.ranged import Failure
from pixxel_geo.transfer.session import Stopped, TransferSession

__all__ = ["Attempts", "Failure"]

logger = logging.getLogger(__name__)

_STOP_POLL = 0.1
"""Seconds between looks at ``cancel`` while backing off."""


class Attempts:
    """The failed attempts of one request loop of a transfer, in a row.

    Failures count towards ``retry.max_attempts`` only while no progress is
    made (:meth:`progressed` resets them), so a long part that keeps moving
    through flaky connections is not given up.
    """

    def __init__(self, session: TransferSession) -> None:
        self._session = session
        self._loop = _Attempts(session.retry, sleep=self._wait)

    @property
    def failures(self) -> int:
        """Failures in a row so far."""
        return self._loop.failures

    def progressed(self) -> None:
        """Bytes arrived: earlier failures no longer count."""
        self._loop.progressed()

    def unexpected(self, response: httpx.Response) -> Failure:
        """Judge a status the caller does not handle itself.

        Returns:
            The failure to :meth:`back_off` from.

        Raises:
            SignedURLError: still refused (403) with renewed URLs.
            TransferError: a status that no retry will change.
        """
        status = response.status_code
        if status == 403:
            raise SignedURLError(
                f"{self._session.url.safe} kept refusing access (403) even with renewed URLs: "
                "check that the download still exists and your token may read it."
            )
        if not self._loop.retryable(response):
            raise TransferError(
                f"{self._session.url.safe} answered HTTP {status}: the file cannot be downloaded from this URL.",
                path=str(self._session.path),
            )
        return Failure.of_response(response)

    def back_off(self, failure: Failure, what: str) -> None:
        """Count ``failure`` and wait before the next attempt (woken early by a stop).

        Raises:
            TransferError: too many failures in a row, or a ``Retry-After`` too long.
            Stopped: the transfer was cancelled or another part failed while waiting.
        """
        session = self._session
        give_up = self._loop.back_off(failure)
        if give_up is None:
            return
        if give_up.waits_too_long:
            why = f"{session.url.safe}: {give_up.describe(what)}."
        else:
            why = (
                f"Giving up on {what} of {session.url.safe} after {give_up.failures} failed attempts "
                f"(last: {failure.reason})."
            )
        raise TransferError(f"{why} Run again later: finished parts are kept and resumed.", path=str(session.path))

    def _wait(self, delay: float) -> None:
        session = self._session
        logger.debug("%s: retry %d in %.2f s", session.name, self._loop.failures, delay)
        deadline = time.monotonic() + delay
        while (left := deadline - time.monotonic()) > 0:  # short waits: ``cancel`` is noticed too
            if session.stop.wait(min(left, _STOP_POLL)) or session.cancel.is_set():
                raise Stopped
        if session.cancel.is_set():
            raise Stopped
