"""What every step of one transfer shares: the URL, the files, the stop flag, the policy and the errors."""

from __future__ import annotations

import contextlib
import errno
import hmac
import logging
import threading
from pathlib import Path
from typing import NoReturn

import httpx

from pixxel_geo.api.errors import IntegrityError, PixxelError, TransferCancelled, TransferError
from pixxel_geo.api.events import EventCallback, StateChanged, emit
from pixxel_geo.api.retry import RetryPolicy
from pixxel_geo.ranged import ExpectedDigest, RenewableURL, ResignOn403
from pixxel_geo.transfer.progress import ProgressMeter
from pixxel_geo.transfer.state import PartLedger, atomic_write_leftovers

__all__ = ["BASE_HEADERS", "MAX_RENEWALS", "Stopped", "TransferSession"]

BASE_HEADERS = {"Accept-Encoding": "identity"}
MAX_RENEWALS = 3
"""Renewals of the signed URL one request may use when it keeps being refused (403) before giving up."""

logger = logging.getLogger(__name__)


class Stopped(Exception):
    """Internal: the transfer was cancelled or another part failed."""


class TransferSession:
    """One transfer of ``url`` to ``path``: the state its steps share and the errors they raise.

    ``<path>.part`` receives the bytes and ``<path>.part.json`` records the
    progress (see :class:`~pixxel_geo.transfer.state.PartLedger`). ``cancel``
    is the caller's; ``stop`` is set by a failing worker so the others end.
    Failures that make the partial file useless discard it; all others keep it
    for the next run to resume.
    """

    def __init__(
        self,
        url: RenewableURL,
        path: Path,
        *,
        on_event: EventCallback | None,
        cancel: threading.Event,
        retry: RetryPolicy,
    ) -> None:
        self.url = url
        self.auth = ResignOn403(url, renewals=MAX_RENEWALS)
        """Signs every request of the transfer, renewing the URL on 403 (once per expiry for all parts)."""
        self.path = path
        self.name = path.name
        self.part_path = path.with_name(path.name + ".part")
        self.sidecar_path = path.with_name(path.name + ".part.json")
        self.lock_path = path.with_name(path.name + ".part.lock")
        self.on_event = on_event
        self.cancel = cancel
        self.retry = retry
        self.stop = threading.Event()
        self.ledger: PartLedger | None = None
        """The ranged transfer's ledger, once there is one: discarding the partial file silences it."""

    def check_stop(self) -> None:
        """Raise :class:`Stopped` if the transfer was cancelled or a part failed."""
        if self.stop.is_set() or self.cancel.is_set():
            raise Stopped

    def verifying(self, meter: ProgressMeter) -> None:
        """The bytes are all in: report the final progress and the switch to verifying."""
        meter.close()
        emit(self.on_event, StateChanged(subject=self.name, status="verifying", previous="downloading"))

    def check_digest(self, expected: ExpectedDigest, actual: bytes) -> str:
        """Compare the computed digest with the server's; return the algorithm, or fail."""
        if not hmac.compare_digest(expected.value, actual):
            self.fail_integrity(f"its {expected.algorithm} checksum differs from the server's")
        return expected.algorithm

    def fail_integrity(self, why: str) -> NoReturn:
        """The bytes are wrong: discard them and raise :class:`IntegrityError`."""
        self.discard_partial()
        raise IntegrityError(
            f"{self.name} failed verification: {why}. The corrupt partial file was "
            "discarded and nothing was placed: run again to download it afresh.",
            path=str(self.path),
        )

    def fail_remote_changed(self, why: str) -> NoReturn:
        """The server's file is not the one the partial file holds: discard it and raise."""
        self.discard_partial()
        raise IntegrityError(
            f"The remote file {self.url.safe} changed during the transfer ({why}). "
            "The partial file was discarded: run again to download the current version.",
            path=str(self.path),
        )

    def discard_partial(self) -> None:
        """Delete ``.part`` and ``.part.json``: the next run starts afresh.

        The ledger is abandoned first, so that no later flush (a worker's
        error path, the background sync) writes a sidecar for a partial file
        that no longer exists.
        """
        if self.ledger is not None:
            self.ledger.abandon()
        for leftover in (self.part_path, self.sidecar_path):
            with contextlib.suppress(FileNotFoundError):
                leftover.unlink()

    def remove_orphans(self) -> None:
        """Remove what a killed transfer to this path left that no run can use (call with the lock held).

        A sidecar without its ``.part`` (killed just after the final rename,
        before the sidecar was deleted) and half-written sidecar copies
        (killed inside :func:`~pixxel_geo.transfer.state.write_json_atomically`).
        """
        if self.sidecar_path.exists() and not self.part_path.exists():
            logger.info("removing %s, left by an interrupted transfer", self.sidecar_path)
            with contextlib.suppress(FileNotFoundError):
                self.sidecar_path.unlink()
        for leftover in atomic_write_leftovers(self.sidecar_path):
            with contextlib.suppress(FileNotFoundError):
                leftover.unlink()

    @property
    def resumable(self) -> bool:
        """Whether a partial file and its progress record are on disk for the next run to resume.

        Only a ranged transfer keeps a ledger; the single-stream fallback
        (no Range support) always starts over.
        """
        return self.ledger is not None and self.part_path.exists() and self.sidecar_path.exists()

    def translate(self, exc: BaseException) -> BaseException:
        """Turn low-level failures into the toolkit's clear errors."""
        if isinstance(exc, PixxelError):
            return exc
        if isinstance(exc, (Stopped, KeyboardInterrupt)):
            kept = (
                f"; the finished parts are kept in {self.part_path} and the next run resumes" if self.resumable else ""
            )
            return TransferCancelled(f"The transfer of {self.name} was cancelled{kept}.", path=str(self.path))
        if isinstance(exc, OSError):
            kept = ""
            if self.resumable:
                kept = f" The bytes already written are kept in {self.part_path}; the next run resumes from them."
            if exc.errno == errno.ENOSPC:
                return TransferError(
                    f"No space left on the device holding {self.path.parent}: free some space and run again.{kept}",
                    path=str(self.path),
                )
            if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
                return TransferError(
                    f"Permission denied writing to {self.path.parent}: choose a destination you can write to.{kept}",
                    path=str(self.path),
                )
            return TransferError(f"Could not write {self.path}: {exc.strerror or exc}.{kept}", path=str(self.path))
        if isinstance(exc, httpx.HTTPError):
            return TransferError(
                f"The transfer from {self.url.safe} failed: {type(exc).__name__}.",
                path=str(self.path),
            )
        return exc
