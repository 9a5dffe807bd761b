"""On-disk state of a transfer: the resume sidecar and the record of verified files.

``<name>.part.json`` sits beside ``<name>.part`` while a transfer is incomplete.
It records what the remote file *is* (size, ETag, digest — never the URL, which
expires and is a credential), the parts the file is cut into and how many bytes
of each are already written, so that a later run, after any interruption
(``kill -9`` included), fetches only the rest — also inside a part.

``.pixxel-verified.json`` in the destination folder remembers the files that
were downloaded completely and verified, so that a later run can skip them.
"""

from __future__ import annotations

import contextlib
import glob
import json
import logging
import os
import re
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from pixxel_geo.transfer.files import datasync, start_writeback
from pixxel_geo.transfer.plan import uniform_parts

if sys.platform != "win32":
    import fcntl

__all__ = ["PartLedger", "RemoteIdentity", "VerifiedRecords", "atomic_write_leftovers", "write_json_atomically"]

logger = logging.getLogger(__name__)

SIDECAR_VERSION = 2
VERIFIED_RECORDS_NAME = ".pixxel-verified.json"
VERIFIED_RECORDS_LOCK_NAME = ".pixxel-verified.lock"

_RECORDS_PROCESS_LOCK = threading.Lock()
"""Serialises record updates between threads; ``flock`` on the lock file does it between processes."""


@dataclass(frozen=True)
class RemoteIdentity:
    """What the remote file is, independent of the URL it was fetched from."""

    size: int | None
    etag: str | None
    digest: str | None
    """The server's digest in RFC 9530 form (``sha-256=:<b64>:``), if any."""

    def same_file(self, other: RemoteIdentity) -> bool:
        """True when nothing known about the two differs (unknown fields match anything)."""
        for mine, theirs in ((self.etag, other.etag), (self.digest, other.digest)):
            if mine and theirs and mine != theirs:
                return False
        return self.size == other.size


def write_json_atomically(path: Path, data: Any) -> None:
    """Write ``data`` as JSON to ``path`` via a fsync'ed temporary file and ``os.replace``."""
    tmp = path.with_name(f"{path.name}.tmp{os.getpid()}-{threading.get_ident()}")
    with open(tmp, "w", encoding="utf-8") as handle:
        json.dump(data, handle, separators=(",", ":"))
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


_TMP_SUFFIX = re.compile(r"\.tmp\d+-\d+")


def atomic_write_leftovers(path: Path) -> list[Path]:
    """Temporary copies of ``path`` that :func:`write_json_atomically` began and never renamed."""
    head = path.name
    return [
        leftover
        for leftover in path.parent.glob(glob.escape(head) + ".tmp*")
        if _TMP_SUFFIX.fullmatch(leftover.name[len(head) :])
    ]


def _read_json(path: Path) -> Any:
    try:
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        logger.warning("ignoring unreadable state file %s: %s", path, exc)
        return None


class PartLedger:
    """The parts of one ranged transfer and how far each is written, persisted in ``.part.json``.

    Parts are contiguous byte ranges covering the file. For each part the ledger
    knows how many bytes from its start are written (``written[i]``), so a large
    part interrupted half way resumes from where it stopped. Progress is
    recorded in memory at once (:meth:`record`) and persisted by :meth:`flush`
    (or a :meth:`syncing` thread, at most every ``flush_interval`` seconds):
    the progress is snapshot first, then the part file's data is
    ``fdatasync``'ed, then the sidecar is replaced atomically, so the sidecar
    never claims bytes that could be lost. After a crash at most the bytes of
    the last interval are fetched again.

    Example:
        >>> import tempfile
        >>> d = Path(tempfile.mkdtemp())
        >>> led = PartLedger.uniform(d / "a.zip.part.json", RemoteIdentity(10, '"e"', None), part_size=4)
        >>> led.n_parts, led.remaining(), led.part_range(2)
        (3, [0, 1, 2], (8, 9))
        >>> led.record(1, 2); led.resume_offset(1), led.done_bytes()
        (6, 2)
    """

    def __init__(
        self,
        path: Path,
        identity: RemoteIdentity,
        *,
        parts: list[tuple[int, int]],
        written: list[int] | None = None,
        flush_interval: float = 1.0,
    ) -> None:
        if identity.size is None:
            raise ValueError("a part ledger needs the file size")
        _check_parts(parts, identity.size)
        self.path = path
        self.identity = identity
        self.parts = list(parts)
        self.written = list(written) if written is not None else [0] * len(parts)
        if len(self.written) != len(self.parts):
            raise ValueError("one written count per part is needed")
        self._flush_interval = flush_interval
        self._lock = threading.Lock()
        self._fd: int | None = None
        self._flushed: list[int] | None = None
        self._abandoned = False

    @classmethod
    def uniform(
        cls, path: Path, identity: RemoteIdentity, *, part_size: int, flush_interval: float = 1.0
    ) -> PartLedger:
        """A ledger of equal parts of ``part_size`` bytes (the last one shorter)."""
        assert identity.size is not None
        return cls(path, identity, parts=uniform_parts(identity.size, part_size), flush_interval=flush_interval)

    @classmethod
    def load(cls, path: Path, identity: RemoteIdentity) -> PartLedger | None:
        """The ledger saved at ``path`` if it describes the same remote file, else ``None``.

        Only the current sidecar version is read (no released version wrote another);
        any other gives ``None``, and the download starts over.
        """
        data = _read_json(path)
        if not isinstance(data, dict) or data.get("version") != SIDECAR_VERSION:
            return None
        try:
            saved = RemoteIdentity(size=data["size"], etag=data.get("etag"), digest=data.get("digest"))
            if not saved.same_file(identity) or identity.size is None:
                return None
            parts = [(int(s), int(e)) for s, e in data["parts"]]
            written = [int(w) for w in data["written"]]
            ledger = cls(path, identity, parts=parts, written=written)
        except (KeyError, TypeError, ValueError):
            return None
        for index, count in enumerate(ledger.written):
            if not 0 <= count <= ledger.part_length(index):
                return None
        return ledger

    @property
    def n_parts(self) -> int:
        """How many parts the file is cut into."""
        return len(self.parts)

    def attach(self, fd: int) -> None:
        """Give the ledger the part file's descriptor, to sync data before the sidecar."""
        self._fd = fd

    def part_range(self, index: int) -> tuple[int, int]:
        """``(start, end)`` byte offsets of part ``index``, ``end`` inclusive."""
        return self.parts[index]

    def part_length(self, index: int) -> int:
        """Bytes in part ``index``."""
        start, end = self.parts[index]
        return end - start + 1

    def resume_offset(self, index: int) -> int:
        """The first byte of part ``index`` not written yet."""
        return self.parts[index][0] + self.written[index]

    def remaining(self) -> list[int]:
        """Indices of the parts not complete yet, in order."""
        return [i for i in range(self.n_parts) if self.written[i] < self.part_length(i)]

    def done_bytes(self) -> int:
        """Bytes already written, in all parts."""
        return sum(self.written)

    def record(self, index: int, written_in_part: int) -> None:
        """Part ``index`` now holds ``written_in_part`` bytes from its start (in memory only).

        Call it only after the bytes were handed to the OS (``pwrite``): a
        :meth:`flush` may persist it at any moment.
        """
        self.written[index] = written_in_part

    def mark_done(self, index: int) -> None:
        """Record part ``index`` as completely written (in memory)."""
        self.written[index] = self.part_length(index)

    def abandon(self) -> None:
        """Never write the sidecar again: the partial file is being discarded.

        Takes the flush lock, so a flush in progress finishes first (and its
        sidecar is then deleted with the partial file); every later
        :meth:`flush`, from a worker's error path or the :meth:`syncing`
        thread, does nothing. Without this a late flush would leave a
        ``.part.json`` with no ``.part`` beside it.
        """
        with self._lock:
            self._abandoned = True

    def flush(self) -> None:
        """Persist the progress now (data first, then the sidecar); nothing once :meth:`abandon`'ed."""
        with self._lock:
            if self._abandoned:
                return
            snapshot = list(self.written)  # before the sync: only bytes already written
            if snapshot == self._flushed:
                return
            if self._fd is not None:
                datasync(self._fd)
            data = {"version": SIDECAR_VERSION, **asdict(self.identity)}
            data.update(
                parts=[list(p) for p in self.parts],
                written=snapshot,
                done=sorted(i for i, w in enumerate(snapshot) if w == self.part_length(i)),
            )
            write_json_atomically(self.path, data)
            self._flushed = snapshot

    @contextlib.contextmanager
    def syncing(self, writeback_interval: float = 0.05) -> Iterator[None]:
        """While in the block, keep the data moving to disk and the sidecar at most ``flush_interval`` old.

        Every ``writeback_interval`` seconds a background thread starts the
        write-out of the part file's dirty pages (:func:`~pixxel_geo.transfer.files.start_writeback`,
        which does not wait), so they reach the disk during the transfer rather
        than all at the final fsync; every ``flush_interval`` seconds it
        writes the progress with :meth:`flush`. Workers never wait for either.
        """
        stop = threading.Event()

        def loop() -> None:
            last_flush = time.monotonic()
            while not stop.wait(writeback_interval):
                try:
                    if time.monotonic() - last_flush >= self._flush_interval:
                        self.flush()
                        last_flush = time.monotonic()
                    elif self._fd is not None:
                        start_writeback(self._fd)
                except OSError as exc:  # the final flush or fsync reports it
                    logger.debug("background sync of %s failed: %s", self.path, exc)

        thread = threading.Thread(target=loop, name="pixxel-ledger-sync", daemon=True)
        thread.start()
        try:
            yield
        finally:
            stop.set()
            thread.join()


def _check_parts(parts: list[tuple[int, int]], size: int) -> None:
    """Parts must be contiguous, in order, and cover ``size`` bytes exactly."""
    position = 0
    for start, end in parts:
        if start != position or end < start:
            raise ValueError(f"parts must be contiguous and non-empty; got ({start}, {end}) at {position}")
        position = end + 1
    if position != size:
        raise ValueError(f"parts cover {position} bytes, not {size}")


class VerifiedRecords:
    """``.pixxel-verified.json``: files in a folder that were fetched and verified.

    A file counts as already complete when its record matches the remote
    identity *and* the file on disk still has the recorded size and mtime.

    Example:
        >>> import tempfile
        >>> d = Path(tempfile.mkdtemp()); f = d / "a.zip"; _ = f.write_bytes(b"xy")
        >>> ident = RemoteIdentity(2, '"e1"', None)
        >>> VerifiedRecords(d).add(f, ident, verified="size")
        >>> VerifiedRecords(d).matches(f, ident)
        True
    """

    def __init__(self, folder: Path) -> None:
        self.path = folder / VERIFIED_RECORDS_NAME

    def _load(self) -> dict[str, Any]:
        data = _read_json(self.path)
        return data if isinstance(data, dict) else {}

    def get(self, file: Path) -> dict[str, Any] | None:
        """The record for ``file`` if there is one."""
        record = self._load().get(file.name)
        return record if isinstance(record, dict) else None

    def matches(self, file: Path, identity: RemoteIdentity) -> bool:
        """True when ``file`` is a complete, verified copy of the remote ``identity``."""
        record = self.get(file)
        if record is None:
            return False
        try:
            stat = file.stat()
        except FileNotFoundError:
            return False
        saved = RemoteIdentity(record.get("size"), record.get("etag"), record.get("digest"))
        return (
            saved.same_file(identity)
            and stat.st_size == record.get("size")
            and stat.st_mtime_ns == record.get("mtime_ns")
        )

    def add(self, file: Path, identity: RemoteIdentity, *, verified: str, contents: Path | None = None) -> None:
        """Record ``file`` as a verified copy of ``identity``.

        ``contents`` is the file whose size and mtime are recorded when it is
        not yet at ``file`` but about to be renamed there (a rename keeps both);
        by default ``file`` itself.

        The read-modify-write of the records file is serialised between
        threads and processes (see :meth:`_locked`), so downloads finishing at
        once in the same folder all keep their record; the new file replaces
        the old one atomically, so readers never see a half-written one.

        Raises:
            OSError: the folder is not writable.
        """
        stat = (contents or file).stat()
        record = {
            **asdict(identity),
            "size": stat.st_size,
            "mtime_ns": stat.st_mtime_ns,
            "verified": verified,
            "at": time.time(),
        }
        with self._locked():
            # Copies half-written by a writer killed inside write_json_atomically: only
            # a lock holder writes one, so any seen now is an orphan.
            for leftover in atomic_write_leftovers(self.path):
                with contextlib.suppress(FileNotFoundError):
                    leftover.unlink()
            records = self._load()
            records[file.name] = record
            write_json_atomically(self.path, records)

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        """Hold the process lock and an exclusive ``flock`` on the folder's lock file.

        The lock file is separate from the records file because the records
        file is replaced (a new inode) on every write. Where ``fcntl`` is
        missing (Windows) only threads of one process are serialised.
        """
        with _RECORDS_PROCESS_LOCK:
            if sys.platform == "win32":
                yield
                return
            fd = os.open(self.path.with_name(VERIFIED_RECORDS_LOCK_NAME), os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
                yield
            finally:
                os.close(fd)  # closing the descriptor releases the flock
