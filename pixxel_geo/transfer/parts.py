"""The ranged fetch: parts fetched by parallel workers, each piece written at its offset as it arrives."""

from __future__ import annotations

import collections
import contextlib
import hmac
import logging
import os
import socket
import threading
import time

import httpx

from pixxel_geo.api.errors import TransferError
from pixxel_geo.api.events import StateChanged, emit
from pixxel_geo.ranged import ExpectedDigest, parse_content_range, part_digest
from pixxel_geo.transfer.digest import PrefixHasher
from pixxel_geo.transfer.files import preallocate, pwrite_all
from pixxel_geo.transfer.plan import plan_parts, uniform_parts
from pixxel_geo.transfer.probe import Probe
from pixxel_geo.transfer.progress import ProgressMeter
from pixxel_geo.transfer.retrying import Attempts, Failure
from pixxel_geo.transfer.session import BASE_HEADERS, Stopped, TransferSession
from pixxel_geo.transfer.state import PartLedger, RemoteIdentity

__all__ = ["fetch_parts"]

logger = logging.getLogger(__name__)

NEAR_ROUND_TRIP = 0.01
"""A probe answered faster than this (seconds) means a near server, where the link may be fast."""
FAST_START_CONNECTIONS = 2
"""Connections opened first; the rest only if the link turns out not to be fast."""
FAST_LINK_WINDOW = 0.02
"""Seconds after which the first connections' rate decides whether to open the rest."""
FAST_LINK_RATE = 300e6
"""Bytes per second the first connections must reach in the window to count as a fast link."""


class _PartCorrupt(Exception):
    """Internal: a 206 body did not match its ``Content-Digest``; none of it was recorded."""


class _BodyInterrupted(Exception):
    """Internal: the connection broke after the body was written up to ``offset``."""

    def __init__(self, offset: int, cause: httpx.TransportError) -> None:
        super().__init__(str(cause))
        self.offset = offset
        self.cause = cause


def fetch_parts(
    session: TransferSession,
    http: httpx.Client,
    remote: Probe,
    *,
    connections: int,
    part_size: int | None,
) -> tuple[int, str]:
    """Fetch the file in parts over ``connections`` connections into ``.part``, then verify it.

    Resumes from the sidecar when it describes the same remote file (its parts
    are kept, whatever ``part_size`` says now); otherwise starts afresh. When
    the server announced a digest, the file is hashed while it is written.

    Returns:
        The bytes fetched in this run and how the file was verified.
    """
    size = remote.size
    assert size is not None
    ledger = _open_ledger(session, remote.identity, connections=connections, part_size=part_size)
    session.ledger = ledger
    resumed = ledger.done_bytes()
    if resumed:
        logger.info(
            "%s: resuming, %d of %d bytes already on disk (read back once to compute the checksum)",
            session.name,
            resumed,
            size,
        )
    fd = os.open(session.part_path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        preallocate(fd, size)
        ledger.attach(fd)
        ledger.flush()
        hasher = None
        if remote.digest is not None:
            hasher = PrefixHasher(remote.digest.new_hash(), fd, parts=ledger.parts, written=ledger.written)
        meter = ProgressMeter(session.name, total=size, done=resumed, on_event=session.on_event)
        emit(session.on_event, StateChanged(subject=session.name, status="downloading"))
        try:
            with ledger.syncing():
                near = remote.round_trip is not None and remote.round_trip < NEAR_ROUND_TRIP
                _Workers(session, http, fd, ledger, hasher, meter).run(connections, near=near)
            session.verifying(meter)
            digest = hasher.finish() if hasher is not None else None
        except BaseException:
            if hasher is not None:
                hasher.close()  # before the descriptor it reads is closed
            with contextlib.suppress(OSError):
                ledger.flush()
            raise
        on_disk = os.fstat(fd).st_size
        if on_disk != size:
            session.fail_integrity(f"the file has {on_disk} bytes, not {size}")
        verified = "size"
        if digest is not None and remote.digest is not None:
            verified = session.check_digest(remote.digest, digest)
        os.fsync(fd)
        ledger.flush()  # all parts done: if placing fails, the next run verifies this file, fetching nothing
    finally:
        os.close(fd)
    return size - resumed, verified


def _open_ledger(
    session: TransferSession, identity: RemoteIdentity, *, connections: int, part_size: int | None
) -> PartLedger:
    """The saved ledger if it still applies, else a new plan (dropping any stale partial file)."""
    ledger = None
    if session.part_path.exists():
        ledger = PartLedger.load(session.sidecar_path, identity)
    if ledger is None:
        if session.part_path.exists() or session.sidecar_path.exists():
            logger.info("%s: remote file changed or no resume data; restarting", session.name)
        session.discard_partial()
        assert identity.size is not None
        if part_size is not None:
            parts = uniform_parts(identity.size, part_size)
        else:
            parts = plan_parts(identity.size, connections)
        ledger = PartLedger(session.sidecar_path, identity, parts=parts)
    return ledger


class _Workers:
    """Threads taking the remaining parts from one queue; the first failure stops them all."""

    def __init__(
        self,
        session: TransferSession,
        http: httpx.Client,
        fd: int,
        ledger: PartLedger,
        hasher: PrefixHasher | None,
        meter: ProgressMeter,
    ) -> None:
        self.session = session
        self.http = http
        self.fd = fd
        self.ledger = ledger
        self.hasher = hasher
        self.meter = meter
        self.queue = collections.deque(ledger.remaining())
        self.errors: list[BaseException] = []
        self.receiving: set[httpx.Response] = set()
        """Responses whose bodies workers are reading: :meth:`_interrupt` cuts them on a stop."""
        self.receiving_lock = threading.Lock()
        self.started = 0
        """Worker threads started: the connections actually used."""

    def run(self, connections: int, *, near: bool = False) -> None:
        """Fetch every remaining part with up to ``connections`` threads.

        A distant server (``near`` false: the probe took a while) gets all
        connections at once. A near one gets :data:`FAST_START_CONNECTIONS`
        first, and the rest only if those stay below :data:`FAST_LINK_RATE`
        for :data:`FAST_LINK_WINDOW`: on a fast link more connections only
        compete with the hasher and the server for the CPU (loopback, 568 MB:
        0.73 s instead of 0.94 s).

        The calling thread only waits, in short joins, so that ``cancel`` and
        Ctrl-C are noticed while the workers block on their sockets.
        """
        session = self.session
        wanted = min(connections, len(self.queue))
        threads = [threading.Thread(target=self._work, name=f"pixxel-fetch-{i}", daemon=True) for i in range(wanted)]
        first = min(wanted, FAST_START_CONNECTIONS) if near else wanted
        for thread in threads[:first]:
            thread.start()
        self.started = first
        try:
            if first < wanted and not self._fast_link() and not session.stop.is_set():
                for thread in threads[first:]:
                    thread.start()
                self.started = wanted
            for thread in threads[: self.started]:
                while thread.is_alive():
                    thread.join(0.1)
                    if session.cancel.is_set():
                        session.stop.set()
                    if session.stop.is_set():
                        self._interrupt()
        except KeyboardInterrupt:
            session.cancel.set()
            session.stop.set()
            self._interrupt()
            self._join_all(threads[: self.started])
        if self.errors:
            raise self.errors[0]
        session.check_stop()

    def _interrupt(self) -> None:
        """Cut the connections workers are reading from, so that a stop does not wait for a stalled server.

        ``shutdown`` (unlike ``close``) wakes a thread blocked in ``recv`` on
        that socket: its read fails at once and the worker sees the stop.
        """
        with self.receiving_lock:
            responses = list(self.receiving)
        for response in responses:
            network_stream = response.extensions.get("network_stream")
            sock = network_stream.get_extra_info("socket") if network_stream is not None else None
            if sock is not None:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)

    @staticmethod
    def _join_all(threads: list[threading.Thread]) -> None:
        """Wait for every worker, even through another Ctrl-C: they write into a descriptor about to be closed."""
        for thread in threads:
            while thread.is_alive():
                try:
                    thread.join(0.1)
                except KeyboardInterrupt:
                    continue

    def _fast_link(self) -> bool:
        """True when the first connections alone fetch faster than :data:`FAST_LINK_RATE`.

        On such a link (loopback, a LAN) more connections only compete with the
        hasher and the server for the CPU; on a slow or distant one the window
        passes before much arrives and the rest open at once.
        """
        before = self.ledger.done_bytes()
        started = time.monotonic()
        time.sleep(FAST_LINK_WINDOW)
        rate = (self.ledger.done_bytes() - before) / (time.monotonic() - started)
        fast = rate >= FAST_LINK_RATE and not self.errors
        logger.debug(
            "%s: %.0f MB/s on the first connections: %s",
            self.session.name,
            rate / 1e6,
            "staying with them" if fast else "opening the rest",
        )
        return fast

    def _work(self) -> None:
        try:
            while not self.session.stop.is_set():
                try:
                    index = self.queue.popleft()
                except IndexError:
                    return
                self._fetch_part(index)
        except Stopped:
            pass
        except BaseException as exc:
            self.errors.append(exc)
            self.session.stop.set()

    def _fetch_part(self, index: int) -> None:
        session = self.session
        ledger = self.ledger
        size = ledger.identity.size
        end = ledger.part_range(index)[1]
        offset = ledger.resume_offset(index)
        attempts = Attempts(session)
        while True:
            session.check_stop()
            failure: Failure
            try:
                with self.http.stream(
                    "GET",
                    session.url.get().url,
                    headers={**BASE_HEADERS, "Range": f"bytes={offset}-{end}"},
                    auth=session.auth,
                ) as response:
                    status = response.status_code
                    if status == 206:
                        self._check_part_response(response, offset, end)
                        before = offset
                        try:
                            offset = self._write_body(response, index, offset, part_digest(response.headers))
                        except _PartCorrupt:
                            # Only this answer's bytes are refetched: the rest of the file stays.
                            logger.info(
                                "%s: bytes %d-%d failed their checksum; fetching them again", session.name, offset, end
                            )
                            attempts.back_off(
                                Failure("a part whose checksum did not match"), f"bytes {offset}-{end} of {size}"
                            )
                            continue
                        except _BodyInterrupted as interrupted:
                            if interrupted.offset > offset:
                                attempts.progressed()
                            offset = interrupted.offset
                            session.check_stop()  # cut by _interrupt: stop, not retry
                            raise interrupted.cause from None
                        if offset > end:
                            ledger.mark_done(index)
                            return
                        if offset > before:
                            attempts.progressed()
                            continue  # the server sent less than asked: ask for the rest
                        failure = Failure("an empty response")
                    elif status == 200:
                        raise TransferError(
                            f"{session.url.safe} stopped honouring Range requests in the middle "
                            "of the transfer: run again."
                        )
                    elif status == 416:
                        session.fail_remote_changed(f"bytes {offset}-{end} are out of range")
                    else:
                        failure = attempts.unexpected(response)
            except httpx.TransportError as exc:
                failure = Failure.of(exc)
            attempts.back_off(failure, f"bytes {offset}-{end} of {size}")

    def _write_body(
        self, response: httpx.Response, index: int, offset: int, expected: ExpectedDigest | None = None
    ) -> int:
        """Write a 206 body at ``offset`` as it arrives; return the offset reached.

        Each network piece is written where it belongs and recorded in the
        ledger at once (no gathering copy: on loopback the copies are what the
        CPU spends). If the connection breaks, :class:`_BodyInterrupted`
        carries the offset reached, so the retry asks only for the rest.

        When the answer carries its own digest (``expected``: RFC 9530
        ``Content-Digest`` on a 206), its bytes are recorded only once the
        whole body matched it: neither the ledger nor the whole-file hasher
        ever counts unverified bytes, a mismatch raises :class:`_PartCorrupt`
        (only this range is fetched again) and a cut body is fetched again
        from where the answer started.
        """
        start, end = self.ledger.part_range(index)
        first = offset
        part_hash = expected.new_hash() if expected is not None else None
        with self.receiving_lock:
            self.receiving.add(response)
        try:
            for piece in response.iter_bytes():
                self.session.check_stop()
                if offset + len(piece) > end + 1:
                    raise TransferError(f"{self.session.url.safe} sent more bytes than requested.")
                pwrite_all(self.fd, piece, offset)
                offset += len(piece)
                self.meter.add(len(piece))
                if part_hash is not None:
                    part_hash.update(piece)
                    continue
                self.ledger.record(index, offset - start)
                if self.hasher is not None:
                    self.hasher.nudge()
        except httpx.TransportError as exc:
            if part_hash is not None:
                self.meter.add(first - offset)
                raise _BodyInterrupted(first, exc) from exc
            raise _BodyInterrupted(offset, exc) from exc
        finally:
            with self.receiving_lock:
                self.receiving.discard(response)
        if part_hash is not None and expected is not None:
            if not hmac.compare_digest(part_hash.digest(), expected.value):
                self.meter.add(first - offset)
                raise _PartCorrupt
            self.ledger.record(index, offset - start)
            if self.hasher is not None:
                self.hasher.nudge()
        return offset

    def _check_part_response(self, response: httpx.Response, start: int, end: int) -> None:
        """Refuse a 206 for other bytes or another version of the file."""
        identity = self.ledger.identity
        header = response.headers.get("Content-Range", "")
        content_range = parse_content_range(header)
        if content_range is None or content_range.start != start or content_range.total != identity.size:
            self.session.fail_remote_changed(f"asked for bytes {start}-{end} of {identity.size}, got {header!r}")
        etag = response.headers.get("ETag")
        if etag and identity.etag and etag != identity.etag:
            self.session.fail_remote_changed("its ETag changed")
