"""On-disk state of a transfer: the resume sidecar and the record of verified files.

``<name>.part.json`` sits beside ``<name>.part`` while a transfer is incomplete.
It records what the remote file *is* (size, ETag, digest — never the URL, which
expires and is a credential) and which parts are already written, so that a
later run, after any interruption (``kill -9`` included), fetches only the rest.

``.pixxel-verified.json`` in the destination folder remembers the files that
were downloaded completely and verified, so that a later run can skip them.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

__all__ = ["PartLedger", "RemoteIdentity", "VerifiedRecords", "write_json_atomically"]

logger = logging.getLogger(__name__)

SIDECAR_VERSION = 1
VERIFIED_RECORDS_NAME = ".pixxel-verified.json"


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
    """The finished parts of one ranged transfer, persisted in the ``.part.json`` sidecar.

    Parts are recorded in memory at once and written to disk at most every
    ``flush_interval`` seconds (and on :meth:`flush`): first the part file's data
    is ``fdatasync``'ed, then the sidecar is replaced atomically, so the sidecar
    never lists a part whose bytes could be lost. After a crash at most the parts
    of the last interval are fetched again.

    Example:
        >>> import tempfile
        >>> d = Path(tempfile.mkdtemp())
        >>> led = PartLedger(d / "a.zip.part.json", RemoteIdentity(10, '"e"', None), part_size=4)
        >>> led.n_parts, led.remaining()
        (3, [0, 1, 2])
    """

    def __init__(
        self,
        path: Path,
        identity: RemoteIdentity,
        *,
        part_size: int,
        done: set[int] | None = None,
        flush_interval: float = 1.0,
    ) -> None:
        if identity.size is None:
            raise ValueError("a part ledger needs the file size")
        self.path = path
        self.identity = identity
        self.part_size = part_size
        self.n_parts = -(-identity.size // part_size) if identity.size else 0
        self.done: set[int] = set(done or ())
        self._flush_interval = flush_interval
        self._last_flush = time.monotonic()
        self._lock = threading.Lock()
        self._fd: int | None = None

    @classmethod
    def load(cls, path: Path, identity: RemoteIdentity) -> PartLedger | None:
        """The ledger saved at ``path`` if it describes the same remote file, else ``None``."""
        data = _read_json(path)
        if not isinstance(data, dict) or data.get("version") != SIDECAR_VERSION:
            return None
        try:
            saved = RemoteIdentity(size=data["size"], etag=data.get("etag"), digest=data.get("digest"))
            part_size = int(data["part_size"])
            done = {int(i) for i in data["done"]}
        except (KeyError, TypeError, ValueError):
            return None
        if not saved.same_file(identity) or part_size <= 0:
            return None
        ledger = cls(path, identity, part_size=part_size)
        ledger.done = {i for i in done if 0 <= i < ledger.n_parts}
        return ledger

    def attach(self, fd: int) -> None:
        """Give the ledger the part file's descriptor, to sync data before the sidecar."""
        self._fd = fd

    def part_range(self, index: int) -> tuple[int, int]:
        """``(start, end)`` byte offsets of part ``index``, ``end`` inclusive."""
        assert self.identity.size is not None
        start = index * self.part_size
        return start, min(self.identity.size, start + self.part_size) - 1

    def remaining(self) -> list[int]:
        """Indices of the parts still to fetch, in order."""
        return [i for i in range(self.n_parts) if i not in self.done]

    def done_bytes(self) -> int:
        """Bytes already in finished parts."""
        return sum(end - start + 1 for start, end in map(self.part_range, self.done))

    def mark_done(self, index: int) -> None:
        """Record part ``index`` as written; persists it when the interval has passed."""
        with self._lock:
            self.done.add(index)
            if time.monotonic() - self._last_flush >= self._flush_interval:
                self._flush_locked()

    def flush(self) -> None:
        """Persist the finished parts now."""
        with self._lock:
            self._flush_locked()

    def _flush_locked(self) -> None:
        if self._fd is not None:
            os.fdatasync(self._fd)
        data = {"version": SIDECAR_VERSION, **asdict(self.identity)}
        data.update(part_size=self.part_size, done=sorted(self.done))
        write_json_atomically(self.path, data)
        self._last_flush = time.monotonic()

    def remove(self) -> None:
        """Delete the sidecar (the transfer finished or is being restarted)."""
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()


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

    def add(self, file: Path, identity: RemoteIdentity, *, verified: str) -> None:
        """Record ``file`` (already in place) as a verified copy of ``identity``."""
        records = self._load()
        stat = file.stat()
        records[file.name] = {
            **asdict(identity),
            "size": stat.st_size,
            "mtime_ns": stat.st_mtime_ns,
            "verified": verified,
            "at": time.time(),
        }
        write_json_atomically(self.path, records)

    def discard(self, file: Path) -> None:
        """Forget ``file`` (it is being replaced)."""
        records = self._load()
        if records.pop(file.name, None) is not None:
            write_json_atomically(self.path, records)
