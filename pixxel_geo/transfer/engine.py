"""The transfer engine: any signed URL to a file, fast, resumable and verified.

How a transfer runs:

1. **Size** the file with ``GET`` + ``Range: bytes=0-0`` (signed URLs may refuse
   ``HEAD``): total size, ETag and the server's digest (RFC 9530
   ``Repr-Digest``; ``Content-Digest`` on a full 200).
2. **Skip** when the destination already is a verified copy of that file.
3. **Fetch** parts (:func:`~pixxel_geo.transfer.plan.plan_parts`: few, large
   first, small last) with parallel ranged GETs (threads sharing one
   ``httpx.Client`` whose pool holds ``connections`` connections), each network
   piece written with ``os.pwrite`` at its offset into the preallocated
   ``<name>.part``. How far each part got goes to ``<name>.part.json`` (once a
   second, after ``fdatasync``, from a background thread), so any interruption
   (``kill -9`` included) resumes without refetching written bytes, even inside
   a part. A server that ignores ``Range`` (200 instead of 206) gets one plain
   stream.
4. **Verify** size and digest. The digest is computed while writing, on its
   own thread (see :class:`~pixxel_geo.transfer.digest.PrefixHasher`); when
   resuming, the bytes already on disk are read back and hashed once.
5. **Place** the file with an atomic ``os.replace`` and remember it in
   ``.pixxel-verified.json``.

Failed requests are retried per part (exponential backoff, full jitter,
``Retry-After`` honoured); a 403 renews the signed URL through ``refresh``.
"""

from __future__ import annotations

import collections
import contextlib
import errno
import hmac
import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx

from pixxel_geo.api._redact import redact_url
from pixxel_geo.api._retry import RetryPolicy, parse_retry_after
from pixxel_geo.api.errors import (
    IntegrityError,
    InvalidInputError,
    PixxelError,
    SignedURLError,
    TransferCancelled,
    TransferError,
)
from pixxel_geo.api.events import EventCallback, Failed, Started, StateChanged, emit
from pixxel_geo.transfer.digest import ExpectedDigest, PrefixHasher, parse_digest_header
from pixxel_geo.transfer.plan import plan_parts
from pixxel_geo.transfer.progress import FileFinished, ProgressMeter
from pixxel_geo.transfer.signed_url import RenewableURL
from pixxel_geo.transfer.state import PartLedger, RemoteIdentity, VerifiedRecords

__all__ = ["fetch"]

logger = logging.getLogger(__name__)

CHUNK_SIZE = 1 << 20
TRANSFER_RETRY = RetryPolicy(
    max_attempts=8, backoff_base=0.25, backoff_cap=20.0, retry_statuses=frozenset({408, 429, 500, 502, 503, 504})
)
"""Retries per part: attempts count failures without progress (progress resets the count)."""
_MAX_CONNECTIONS = 64
_MAX_REFUSALS = 3  # consecutive 403s on freshly renewed URLs before giving up
_BASE_HEADERS = {"Accept-Encoding": "identity"}


class _Stopped(Exception):
    """Internal: the transfer was cancelled or another part failed."""


class _BodyInterrupted(Exception):
    """Internal: the connection broke after the body was written up to ``offset``."""

    def __init__(self, offset: int, cause: httpx.TransportError) -> None:
        super().__init__(str(cause))
        self.offset = offset
        self.cause = cause


@dataclass(frozen=True)
class _Probe:
    size: int | None
    etag: str | None
    digest: ExpectedDigest | None
    ranged: bool


def fetch(
    url: str,
    path: str | os.PathLike[str],
    *,
    connections: int = 8,
    part_size: int | None = None,
    refresh: Callable[[], str] | None = None,
    on_event: EventCallback | None = None,
    cancel: threading.Event | None = None,
    overwrite: bool = False,
    retry: RetryPolicy | None = None,
    transport: httpx.BaseTransport | None = None,
    timeout: float = 60.0,
) -> Path:
    """Download ``url`` to ``path``: parallel, resumable, verified, placed atomically.

    Args:
        url: the file's (signed) URL. Never appears in errors or logs beyond
            scheme, host and path.
        path: where the file goes. ``<path>.part`` and ``<path>.part.json``
            hold an unfinished transfer; the next call resumes from them.
        connections: parallel connections (1 to 64).
        part_size: bytes per ranged request; default: a tapering plan of
            three parts per connection (see :func:`~pixxel_geo.transfer.plan.plan_parts`).
            A resumed transfer keeps the parts it started with.
        refresh: returns a fresh URL when the current one is refused (403),
            e.g. ``lambda: client.downloads.get(download_id).signed_url``.
        on_event: receives :mod:`pixxel_geo.api.events` events: ``StateChanged``
            ("sizing", "downloading", "verifying"), ``Started``, throttled
            ``Progress``, a :class:`~pixxel_geo.transfer.progress.FileFinished`
            or ``Failed``. Called from worker threads; keep it quick.
        cancel: set it (from any thread) to stop; finished parts are kept.
        overwrite: replace an existing ``path`` even if it is a verified copy.
        retry: the per-part retry policy.
        transport: an httpx transport (tests, custom networking).
        timeout: seconds to wait for a connection or for data before retrying.

    Returns:
        ``path``, complete and verified.

    Raises:
        InvalidInputError: bad arguments.
        TransferError: the path exists and is not a verified copy (pass
            ``overwrite``), a disk or permission problem, or too many failures.
        IntegrityError: size or checksum mismatch; the partial file is dropped.
        SignedURLError: the URL was refused and could not be renewed.
        TransferCancelled: ``cancel`` was set or Ctrl-C was pressed.

    Example:
        >>> fetch(signed_url, "scene.zip", connections=8)  # doctest: +SKIP
        PosixPath('scene.zip')
    """
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        raise InvalidInputError("url must be an http(s) URL string.")
    if not 1 <= connections <= _MAX_CONNECTIONS:
        raise InvalidInputError(f"connections must be between 1 and {_MAX_CONNECTIONS}.")
    if part_size is not None and part_size < 1:
        raise InvalidInputError("part_size must be a positive number of bytes.")
    transfer = _Transfer(
        RenewableURL(url, refresh),
        Path(path),
        connections=connections,
        part_size=part_size,
        on_event=on_event,
        cancel=cancel or threading.Event(),
        overwrite=overwrite,
        retry=retry or TRANSFER_RETRY,
    )
    http = httpx.Client(
        transport=transport,
        timeout=httpx.Timeout(timeout, connect=min(timeout, 15.0)),
        limits=httpx.Limits(max_connections=connections, max_keepalive_connections=connections),
        follow_redirects=True,
    )
    try:
        with http:
            return transfer.run(http)
    except BaseException as exc:
        error = transfer.translate(exc)
        emit(on_event, Failed(subject=transfer.name, error=str(error)))
        if error is exc:
            raise
        raise error from exc


class _Transfer:
    def __init__(
        self,
        url: RenewableURL,
        path: Path,
        *,
        connections: int,
        part_size: int | None,
        on_event: EventCallback | None,
        cancel: threading.Event,
        overwrite: bool,
        retry: RetryPolicy,
    ) -> None:
        self.url = url
        self.path = path
        self.name = path.name
        self.part_path = path.with_name(path.name + ".part")
        self.sidecar_path = path.with_name(path.name + ".part.json")
        self.connections = connections
        self.part_size = part_size
        self.on_event = on_event
        self.cancel = cancel
        self.overwrite = overwrite
        self.retry = retry
        self._stop = threading.Event()
        self._meter: ProgressMeter | None = None

    # -- the steps ---------------------------------------------------------------

    def run(self, http: httpx.Client) -> Path:
        started = time.monotonic()
        emit(self.on_event, StateChanged(subject=self.name, status="sizing"))
        probe = self._probe(http)
        identity = RemoteIdentity(probe.size, probe.etag, probe.digest.header_value if probe.digest else None)
        records = VerifiedRecords(self.path.parent)
        if self.path.exists() and not self.overwrite:
            if records.matches(self.path, identity):
                logger.debug("%s is already complete and verified", self.path)
                record = records.get(self.path) or {}
                emit(
                    self.on_event,
                    FileFinished(
                        subject=self.name,
                        detail="already complete and verified; kept",
                        path=str(self.path),
                        size=self.path.stat().st_size,
                        verified=record.get("verified"),
                        skipped=True,
                    ),
                )
                return self.path
            raise TransferError(
                f"{self.path} already exists and is not a verified copy of this file: "
                "pass overwrite=True (CLI: --overwrite) to replace it, or choose another "
                "destination.",
                path=str(self.path),
            )
        self.path.parent.mkdir(parents=True, exist_ok=True)
        emit(self.on_event, Started(subject=self.name, total=probe.size))
        if probe.ranged and probe.size:
            fetched, verified = self._fetch_ranged(http, identity, probe)
        else:
            fetched, verified, identity = self._fetch_stream(http, identity, probe)
        self._place(identity, records, verified)
        seconds = time.monotonic() - started
        size = self.path.stat().st_size
        rate = f", {fetched / seconds / 1e6:.1f} MB/s" if seconds > 0 and fetched else ""
        emit(
            self.on_event,
            FileFinished(
                subject=self.name,
                detail=f"{size / 1e6:.1f} MB in {seconds:.1f} s{rate}, {verified} verified",
                path=str(self.path),
                size=size,
                fetched=fetched,
                seconds=seconds,
                verified=verified,
            ),
        )
        return self.path

    def _probe(self, http: httpx.Client) -> _Probe:
        """Size the file with a one-byte ranged GET (never HEAD)."""
        failures = 0
        refusals = 0
        while True:
            self._check_stop()
            url, generation = self.url.get()
            retry_after = None
            try:
                with http.stream("GET", url, headers={**_BASE_HEADERS, "Range": "bytes=0-0"}) as response:
                    status = response.status_code
                    headers = response.headers
                    if status in (206, 416):
                        total = _content_range_total(headers.get("Content-Range"))
                        if total is None:
                            raise TransferError(
                                f"{self.url.safe} answered {status} without a usable "
                                "Content-Range header: the server is not behaving like a "
                                "file server."
                            )
                        return _Probe(
                            size=total,
                            etag=headers.get("ETag"),
                            digest=parse_digest_header(headers.get("Repr-Digest")),
                            ranged=status == 206,
                        )
                    if status == 200:
                        length = headers.get("Content-Length")
                        return _Probe(
                            size=int(length) if length and length.isdigit() else None,
                            etag=headers.get("ETag"),
                            digest=parse_digest_header(headers.get("Repr-Digest"))
                            or parse_digest_header(headers.get("Content-Digest")),
                            ranged=False,
                        )
                    if status == 403:
                        refusals = self._refused(generation, refusals)
                        continue
                    if status not in self.retry.retry_statuses:
                        raise self._status_error(status)
                    retry_after = parse_retry_after(headers.get("Retry-After"))
                    reason = f"HTTP {status}"
            except httpx.TransportError as exc:
                reason = type(exc).__name__
            failures += 1
            self._backoff(failures, retry_after, reason, "sizing")

    def _fetch_ranged(self, http: httpx.Client, identity: RemoteIdentity, probe: _Probe) -> tuple[int, str]:
        assert probe.size is not None
        ledger = None
        if self.part_path.exists():
            ledger = PartLedger.load(self.sidecar_path, identity)
        if ledger is None:
            if self.part_path.exists() or self.sidecar_path.exists():
                logger.info("%s: remote file changed or no resume data; restarting", self.name)
            self._discard_partial()
            ledger = PartLedger(self.sidecar_path, identity, parts=self._plan_parts(probe.size))
        resumed = ledger.done_bytes()
        if resumed:
            logger.info(
                "%s: resuming, %d of %d bytes already on disk (read back once to compute the checksum)",
                self.name,
                resumed,
                probe.size,
            )
        fd = os.open(self.part_path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            _preallocate(fd, probe.size)
            ledger.attach(fd)
            ledger.flush()
            hasher = None
            if probe.digest is not None:
                hasher = PrefixHasher(probe.digest.new_hash(), fd, parts=ledger.parts, written=ledger.written)
            self._meter = ProgressMeter(self.name, total=probe.size, done=resumed, on_event=self.on_event)
            emit(self.on_event, StateChanged(subject=self.name, status="downloading"))
            try:
                with ledger.syncing():
                    self._run_parts(http, fd, ledger, hasher)
            except BaseException:
                if hasher is not None:
                    hasher.close()
                with contextlib.suppress(OSError):
                    ledger.flush()
                raise
            self._meter.close()
            emit(
                self.on_event,
                StateChanged(subject=self.name, status="verifying", previous="downloading"),
            )
            if os.fstat(fd).st_size != probe.size:
                self._fail_integrity(f"the file has {os.fstat(fd).st_size} bytes, not {probe.size}")
            verified = "size"
            if hasher is not None and probe.digest is not None:
                self._check_digest(probe.digest, hasher.finish())
                verified = probe.digest.algorithm
            os.fsync(fd)
        finally:
            os.close(fd)
        return probe.size - resumed, verified

    def _run_parts(self, http: httpx.Client, fd: int, ledger: PartLedger, hasher: PrefixHasher | None) -> None:
        queue = collections.deque(ledger.remaining())
        errors: list[BaseException] = []

        def work() -> None:
            try:
                while not self._stop.is_set():
                    try:
                        index = queue.popleft()
                    except IndexError:
                        return
                    self._fetch_part(http, fd, ledger, hasher, index)
            except _Stopped:
                pass
            except BaseException as exc:
                errors.append(exc)
                self._stop.set()

        threads = [
            threading.Thread(target=work, name=f"pixxel-fetch-{i}", daemon=True)
            for i in range(min(self.connections, len(queue)))
        ]
        for thread in threads:
            thread.start()
        try:
            for thread in threads:
                while thread.is_alive():
                    thread.join(0.1)
                    if self.cancel.is_set():
                        self._stop.set()
        except KeyboardInterrupt:
            self.cancel.set()
            self._stop.set()
            for thread in threads:
                thread.join()
        if errors:
            raise errors[0]
        self._check_stop()

    def _fetch_part(
        self,
        http: httpx.Client,
        fd: int,
        ledger: PartLedger,
        hasher: PrefixHasher | None,
        index: int,
    ) -> None:
        assert self._meter is not None
        size = ledger.identity.size
        end = ledger.part_range(index)[1]
        offset = ledger.resume_offset(index)
        failures = 0
        refusals = 0
        while True:
            self._check_stop()
            url, generation = self.url.get()
            retry_after = None
            try:
                with http.stream("GET", url, headers={**_BASE_HEADERS, "Range": f"bytes={offset}-{end}"}) as response:
                    status = response.status_code
                    if status == 206:
                        refusals = 0
                        self._check_part_response(response, offset, end, ledger.identity)
                        before = offset
                        try:
                            offset = self._write_body(response, fd, ledger, hasher, index, offset)
                        except _BodyInterrupted as interrupted:
                            if interrupted.offset > offset:
                                failures = 0  # progress was made: only count failures in a row
                            offset = interrupted.offset
                            raise interrupted.cause from None
                        if offset > end:
                            ledger.mark_done(index)
                            return
                        if offset > before:
                            failures = 0
                            continue  # the server sent less than asked: ask for the rest
                        reason = "an empty response"
                    elif status == 403:
                        refusals = self._refused(generation, refusals)
                        continue
                    elif status == 200:
                        raise TransferError(
                            f"{self.url.safe} stopped honouring Range requests in the middle "
                            "of the transfer: run again."
                        )
                    elif status == 416:
                        self._fail_remote_changed(f"bytes {offset}-{end} are out of range")
                    elif status in self.retry.retry_statuses:
                        retry_after = parse_retry_after(response.headers.get("Retry-After"))
                        reason = f"HTTP {status}"
                    else:
                        raise self._status_error(status)
            except httpx.TransportError as exc:
                reason = type(exc).__name__
            failures += 1
            self._backoff(failures, retry_after, reason, f"bytes {offset}-{end} of {size}")

    def _write_body(
        self,
        response: httpx.Response,
        fd: int,
        ledger: PartLedger,
        hasher: PrefixHasher | None,
        index: int,
        offset: int,
    ) -> int:
        """Write a 206 body at ``offset`` as it arrives; return the offset reached.

        Each network piece is written where it belongs and recorded in the
        ledger at once (no gathering copy: on loopback the copies are what the
        CPU spends). If the connection breaks, :class:`_BodyInterrupted`
        carries the offset reached, so the retry asks only for the rest.
        """
        meter = self._meter
        assert meter is not None
        start, end = ledger.part_range(index)
        try:
            for piece in response.iter_bytes():
                self._check_stop()
                if offset + len(piece) > end + 1:
                    raise TransferError(f"{self.url.safe} sent more bytes than requested.")
                _pwrite_all(fd, piece, offset)
                offset += len(piece)
                ledger.record(index, offset - start)
                if hasher is not None:
                    hasher.nudge()
                meter.add(len(piece))
        except httpx.TransportError as exc:
            raise _BodyInterrupted(offset, exc) from exc
        return offset

    def _fetch_stream(
        self, http: httpx.Client, identity: RemoteIdentity, probe: _Probe
    ) -> tuple[int, str, RemoteIdentity]:
        """One plain GET for servers without Range (or empty files); restarts on failure."""
        self._discard_partial()
        failures = 0
        refusals = 0
        emit(self.on_event, StateChanged(subject=self.name, status="downloading"))
        meter = ProgressMeter(self.name, total=probe.size, on_event=self.on_event)
        fd = os.open(self.part_path, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o644)
        try:
            while True:
                self._check_stop()
                url, generation = self.url.get()
                retry_after = None
                try:
                    with http.stream("GET", url, headers=_BASE_HEADERS) as response:
                        status = response.status_code
                        if status == 200:
                            refusals = 0
                            digest = (
                                probe.digest
                                or parse_digest_header(response.headers.get("Repr-Digest"))
                                or parse_digest_header(response.headers.get("Content-Digest"))
                            )
                            hash_object = digest.new_hash() if digest else None
                            os.ftruncate(fd, 0)
                            meter.reset(0)
                            offset = 0
                            for chunk in response.iter_bytes(CHUNK_SIZE):
                                self._check_stop()
                                _pwrite_all(fd, chunk, offset)
                                offset += len(chunk)
                                if hash_object is not None:
                                    hash_object.update(chunk)
                                meter.add(len(chunk))
                            break
                        if status == 403:
                            refusals = self._refused(generation, refusals)
                            continue
                        if status not in self.retry.retry_statuses:
                            raise self._status_error(status)
                        retry_after = parse_retry_after(response.headers.get("Retry-After"))
                        reason = f"HTTP {status}"
                except httpx.TransportError as exc:
                    reason = type(exc).__name__
                failures += 1
                self._backoff(failures, retry_after, reason, "the whole file (no Range support)")
            meter.close()
            emit(
                self.on_event,
                StateChanged(subject=self.name, status="verifying", previous="downloading"),
            )
            if probe.size is not None and offset != probe.size:
                self._fail_integrity(f"received {offset} bytes, expected {probe.size}")
            verified = "size" if probe.size is not None else "none"
            if digest is not None and hash_object is not None:
                self._check_digest(digest, hash_object.digest())
                verified = digest.algorithm
            os.fsync(fd)
        finally:
            os.close(fd)
        identity = RemoteIdentity(offset, identity.etag, digest.header_value if digest else None)
        return offset, verified, identity

    def _place(self, identity: RemoteIdentity, records: VerifiedRecords, verified: str) -> None:
        os.replace(self.part_path, self.path)
        _fsync_directory(self.path.parent)
        with contextlib.suppress(FileNotFoundError):
            self.sidecar_path.unlink()
        records.add(self.path, identity, verified=verified)

    # -- helpers ----------------------------------------------------------------

    def _plan_parts(self, size: int) -> list[tuple[int, int]]:
        """Cut the file into parts: equal ones of ``part_size``, else a tapering plan.

        See :func:`plan_parts`.
        """
        if self.part_size is not None:
            return [(s, min(size, s + self.part_size) - 1) for s in range(0, size, self.part_size)]
        return plan_parts(size, self.connections)

    def _check_stop(self) -> None:
        if self._stop.is_set() or self.cancel.is_set():
            raise _Stopped

    def _refused(self, generation: int, refusals: int) -> int:
        """A 403: renew the URL (once per expiry, shared by all threads)."""
        refusals += 1
        if refusals > _MAX_REFUSALS:
            raise SignedURLError(
                f"{self.url.safe} kept refusing access (403) even with renewed URLs: "
                "check that the download still exists and your token may read it."
            )
        logger.debug("%s: 403, renewing the signed URL", self.url.safe)
        self.url.renew(generation)
        return refusals

    def _backoff(self, failures: int, retry_after: float | None, reason: str, what: str) -> None:
        if failures >= self.retry.max_attempts:
            raise TransferError(
                f"Giving up on {what} of {self.url.safe} after {failures} failed attempts "
                f"(last: {reason}). Run again later: finished parts are kept and resumed.",
                path=str(self.path),
            )
        delay = self.retry.delay(failures - 1, retry_after)
        logger.debug("%s: %s on %s; retry %d in %.2f s", self.name, reason, what, failures, delay)
        if self._stop.wait(delay) or self.cancel.is_set():
            raise _Stopped

    def _status_error(self, status: int) -> TransferError:
        return TransferError(
            f"{self.url.safe} answered HTTP {status}: the file cannot be downloaded from this URL.",
            path=str(self.path),
        )

    def _check_part_response(self, response: httpx.Response, start: int, end: int, identity: RemoteIdentity) -> None:
        content_range = response.headers.get("Content-Range", "")
        expected = f"bytes {start}-"
        total = _content_range_total(content_range)
        if not content_range.startswith(expected) or total != identity.size:
            self._fail_remote_changed(f"asked for bytes {start}-{end} of {identity.size}, got {content_range!r}")
        etag = response.headers.get("ETag")
        if etag and identity.etag and etag != identity.etag:
            self._fail_remote_changed("its ETag changed")

    def _fail_remote_changed(self, why: str) -> None:
        self._discard_partial()
        raise IntegrityError(
            f"The remote file {self.url.safe} changed during the transfer ({why}). "
            "The partial file was discarded: run again to download the current version.",
            path=str(self.path),
        )

    def _check_digest(self, expected: ExpectedDigest, actual: bytes) -> None:
        if not hmac.compare_digest(expected.value, actual):
            self._fail_integrity(f"its {expected.algorithm} checksum differs from the server's")

    def _fail_integrity(self, why: str) -> None:
        self._discard_partial()
        raise IntegrityError(
            f"{self.name} failed verification: {why}. The corrupt partial file was "
            "discarded and nothing was placed: run again to download it afresh.",
            path=str(self.path),
        )

    def _discard_partial(self) -> None:
        for leftover in (self.part_path, self.sidecar_path):
            with contextlib.suppress(FileNotFoundError):
                leftover.unlink()

    def translate(self, exc: BaseException) -> BaseException:
        """Turn low-level failures into the toolkit's clear errors."""
        if isinstance(exc, PixxelError):
            return exc
        if isinstance(exc, (_Stopped, KeyboardInterrupt)):
            kept = f"; the finished parts are kept in {self.part_path} and the next run resumes"
            if not self.part_path.exists():
                kept = ""
            return TransferCancelled(f"The transfer of {self.name} was cancelled{kept}.", path=str(self.path))
        if isinstance(exc, OSError):
            kept = ""
            if self.part_path.exists():
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
                f"The transfer from {redact_url(self.url.get()[0])} failed: {type(exc).__name__}.",
                path=str(self.path),
            )
        return exc


def _content_range_total(value: str | None) -> int | None:
    """The total size from ``bytes 0-0/1234`` or ``bytes */1234``."""
    if not value or "/" not in value:
        return None
    total = value.rsplit("/", 1)[1].strip()
    return int(total) if total.isdigit() else None


def _pwrite_all(fd: int, data: bytes | bytearray, offset: int) -> None:
    view = memoryview(data)
    while view:
        written = os.pwrite(fd, view, offset)
        if written <= 0:
            raise OSError(errno.EIO, "write made no progress")
        view = view[written:]
        offset += written


def _preallocate(fd: int, size: int) -> None:
    """Reserve the whole file now, so a full disk shows up before any byte moves."""
    current = os.fstat(fd).st_size
    if current > size:
        os.ftruncate(fd, size)
    if current >= size:
        return
    try:
        os.posix_fallocate(fd, 0, size)
    except OSError as exc:
        if exc.errno not in (errno.EOPNOTSUPP, errno.ENOTSUP, errno.EINVAL, errno.ENOSYS):
            raise
        os.ftruncate(fd, size)
    except AttributeError:  # platforms without posix_fallocate
        os.ftruncate(fd, size)


def _fsync_directory(folder: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
