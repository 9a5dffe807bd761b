"""The transfer engine: any signed URL to a file, fast, resumable and verified.

How a transfer runs (:func:`fetch`, top-down):

1. **Size** the file with ``GET`` + ``Range: bytes=0-0`` (signed URLs may refuse
   ``HEAD``): total size, ETag and the server's digest (RFC 9530
   ``Repr-Digest``; ``Content-Digest`` on a full 200; else Cloud Storage's
   ``x-goog-hash`` crc32c/md5 or a single-part S3 MD5 ``ETag``). See
   :mod:`~pixxel_geo.transfer.probe` and :mod:`~pixxel_geo.transfer.digest`.
2. **Skip** when the destination already is a verified copy of that file.
3. **Fetch** parts (:func:`~pixxel_geo.transfer.plan.plan_parts`: few, large
   first, small last) with parallel ranged GETs (threads sharing one
   ``httpx.Client`` whose pool holds ``connections`` connections; a near, fast
   server gets only two of them; sockets are read in large pieces, see
   :mod:`~pixxel_geo.transfer.transport`), each network
   piece written with ``os.pwrite`` at its offset into the preallocated
   ``<name>.part``. How far each part got goes to ``<name>.part.json`` (once a
   second, after ``fdatasync``, from a background thread that also keeps the
   written pages moving to disk), so any interruption (``kill -9`` included)
   resumes without refetching written bytes, even inside a part. See
   :mod:`~pixxel_geo.transfer.parts`. A server that ignores
   ``Range`` (200 instead of 206) gets one plain stream
   (:mod:`~pixxel_geo.transfer.stream`).
4. **Verify** size and digest. The digest is computed while writing, on its
   own thread (see :class:`~pixxel_geo.transfer.digest.PrefixHasher`); when
   resuming, the bytes already on disk are read back and hashed once. A 206
   carrying its own ``Content-Digest`` is checked as it ends, and only its
   range is fetched again on a mismatch. With no digest at all, only the size
   is checked (``verified="size"``).
5. **Place** the file with an atomic ``os.replace`` and remember it in
   ``.pixxel-verified.json``.

Failed requests are retried per part (exponential backoff, full jitter;
``Retry-After`` honoured in full up to 5 minutes, beyond the backoff cap, and
given up on clearly past that); a 403 renews the signed URL through
``refresh``, once per expiry for all parts (see :mod:`pixxel_geo.ranged`). A rerun after any
interruption (``kill -9`` included) first removes what the killed run left
that no run can use (a sidecar whose ``.part`` was already placed,
half-written sidecar copies).
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx

from pixxel_geo.api.errors import InvalidInputError, TransferError
from pixxel_geo.api.events import EventCallback, Failed, Started, StateChanged, emit
from pixxel_geo.api.retry import RetryPolicy
from pixxel_geo.api.validate import MAX_CONNECTIONS
from pixxel_geo.ranged import RenewableURL
from pixxel_geo.transfer.files import LockHeld, exclusive_lock, fsync_directory
from pixxel_geo.transfer.parts import fetch_parts
from pixxel_geo.transfer.probe import probe
from pixxel_geo.transfer.progress import FileFinished
from pixxel_geo.transfer.session import TransferSession
from pixxel_geo.transfer.state import RemoteIdentity, VerifiedRecords
from pixxel_geo.transfer.stream import fetch_stream
from pixxel_geo.transfer.transport import engine_transport

__all__ = ["fetch"]

logger = logging.getLogger(__name__)

TRANSFER_RETRY = RetryPolicy(
    max_attempts=8, backoff_base=0.25, backoff_cap=20.0, retry_statuses=frozenset({408, 429, 500, 502, 503, 504})
)
"""Retries per part: attempts count failures without progress (progress resets the count)."""


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
        connections: parallel connections (1 to 64), at most: a near server
            (probe under 10 ms) that sends over 300 MB/s on the first two
            gets no more (more only compete for the CPU there).
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
        transport: an httpx transport (tests, custom networking); default:
            :func:`~pixxel_geo.transfer.transport.engine_transport`'s choice.
        timeout: seconds to wait for a connection or for data before retrying.

    Returns:
        ``path``, complete and verified.

    Raises:
        InvalidInputError: bad arguments.
        TransferError: the path exists and is not a verified copy (pass
            ``overwrite``), a disk or permission problem, too many failures, or
            a server asking (``Retry-After``) to wait more than 5 minutes.
        IntegrityError: size or checksum mismatch; the partial file is dropped.
        SignedURLError: the URL was refused and could not be renewed.
        TransferCancelled: ``cancel`` was set or Ctrl-C was pressed.

    Example:
        >>> fetch(signed_url, "scene.zip", connections=8)  # doctest: +SKIP
        PosixPath('scene.zip')
    """
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        raise InvalidInputError("url must be an http(s) URL string.")
    if isinstance(connections, bool) or not isinstance(connections, int) or not 1 <= connections <= MAX_CONNECTIONS:
        raise InvalidInputError(
            f"connections must be a whole number between 1 and {MAX_CONNECTIONS}, not {connections!r}."
        )
    if part_size is not None and (isinstance(part_size, bool) or not isinstance(part_size, int) or part_size < 1):
        raise InvalidInputError(f"part_size must be a positive whole number of bytes, not {part_size!r}.")
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or not 0 < timeout < float("inf"):
        raise InvalidInputError(f"timeout must be a positive number of seconds, not {timeout!r}.")
    if not isinstance(path, str | os.PathLike) or not str(path):
        raise InvalidInputError(f"path must be a file path, not {path!r}.")
    session = TransferSession(
        RenewableURL(url, refresh),
        Path(path),
        on_event=on_event,
        cancel=cancel or threading.Event(),
        retry=retry or TRANSFER_RETRY,
    )
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    http = httpx.Client(
        transport=transport or engine_transport(limits),
        timeout=httpx.Timeout(timeout, connect=min(timeout, 15.0)),
        limits=limits,
        follow_redirects=True,
    )
    try:
        with http:
            return _transfer(session, http, connections=connections, part_size=part_size, overwrite=overwrite)
    except BaseException as exc:
        error = session.translate(exc)
        emit(on_event, Failed(subject=session.name, error=str(error)))
        if error is exc:
            raise
        raise error from exc


def _transfer(
    session: TransferSession, http: httpx.Client, *, connections: int, part_size: int | None, overwrite: bool
) -> Path:
    started = time.monotonic()
    emit(session.on_event, StateChanged(subject=session.name, status="sizing"))
    remote = probe(session, http)
    identity = remote.identity
    records = VerifiedRecords(session.path.parent)
    session.path.parent.mkdir(parents=True, exist_ok=True)
    with _only_transfer_to(session):
        session.remove_orphans()
        if session.path.exists() and not overwrite:
            _keep_verified_copy(session, identity, records)
            return session.path
        emit(session.on_event, Started(subject=session.name, total=remote.size))
        if remote.ranged and remote.size:
            fetched, verified = fetch_parts(session, http, remote, connections=connections, part_size=part_size)
        else:
            fetched, verified, identity = fetch_stream(session, http, remote)
        _place(session, identity, records, verified)
    seconds = time.monotonic() - started
    size = session.path.stat().st_size
    rate = f", {fetched / seconds / 1e6:.1f} MB/s" if seconds > 0 and fetched else ""
    emit(
        session.on_event,
        FileFinished(
            subject=session.name,
            detail=f"{size / 1e6:.1f} MB in {seconds:.1f} s{rate}, {verified} verified",
            path=str(session.path),
            size=size,
            fetched=fetched,
            seconds=seconds,
            verified=verified,
        ),
    )
    return session.path


def _keep_verified_copy(session: TransferSession, identity: RemoteIdentity, records: VerifiedRecords) -> None:
    """Keep an existing file that is a verified copy of the remote one; refuse to touch any other."""
    path = session.path
    if not records.matches(path, identity):
        raise TransferError(
            f"{path} already exists and is not a verified copy of this file: "
            "pass overwrite=True (CLI: --overwrite) to replace it, or choose another "
            "destination.",
            path=str(path),
        )
    logger.debug("%s is already complete and verified", path)
    record = records.get(path) or {}
    emit(
        session.on_event,
        FileFinished(
            subject=session.name,
            detail="already complete and verified; kept",
            path=str(path),
            size=path.stat().st_size,
            verified=record.get("verified"),
            skipped=True,
        ),
    )


@contextlib.contextmanager
def _only_transfer_to(session: TransferSession) -> Iterator[None]:
    """Be the only transfer to ``session.path`` (threads and processes) while in the block.

    Two transfers to one path would share ``.part``: one could discard it
    (another version of the file) while the other still writes, and place a
    file the other had not finished.
    """
    try:
        with exclusive_lock(session.lock_path):
            yield
    except LockHeld:
        raise TransferError(
            f"Another download is writing {session.path} right now: wait for it to finish (it is "
            "kept once complete), or choose another destination.",
            path=str(session.path),
        ) from None


def _place(session: TransferSession, identity: RemoteIdentity, records: VerifiedRecords, verified: str) -> None:
    """Record ``.part`` as verified, then move it onto the destination atomically and durably.

    The record comes first (a rename keeps the size and mtime it holds): if
    recording fails, the complete ``.part`` and its sidecar stay for the next
    run to verify and place; once placed, the file is known to be verified.
    """
    records.add(session.path, identity, verified=verified, contents=session.part_path)
    os.replace(session.part_path, session.path)
    fsync_directory(session.path.parent)
    with contextlib.suppress(FileNotFoundError):
        session.sidecar_path.unlink()
