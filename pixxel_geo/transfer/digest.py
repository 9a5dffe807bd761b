"""Server checksums (RFC 9530 ``Repr-Digest`` / ``Content-Digest``) and hashing while writing."""

from __future__ import annotations

import base64
import hashlib
import os
import threading
from dataclasses import dataclass

__all__ = ["ExpectedDigest", "PrefixHasher", "parse_digest_header"]

# RFC 9530 algorithm names -> hashlib names, strongest first.
_ALGORITHMS = {"sha-512": "sha512", "sha-256": "sha256"}
_READBACK_CHUNK = 1 << 20


@dataclass(frozen=True)
class ExpectedDigest:
    """A digest announced by the server: ``algorithm`` (RFC 9530 name) and raw ``value`` bytes."""

    algorithm: str
    value: bytes

    @property
    def header_value(self) -> str:
        """The digest in RFC 9530 form, e.g. ``sha-256=:<base64>:``."""
        return f"{self.algorithm}=:{base64.b64encode(self.value).decode()}:"

    def new_hash(self) -> hashlib._Hash:
        """A fresh hashlib object for this algorithm."""
        return hashlib.new(_ALGORITHMS[self.algorithm])


def parse_digest_header(value: str | None) -> ExpectedDigest | None:
    """Parse an RFC 9530 digest field (``sha-256=:<b64>:, sha-512=:<b64>:``).

    Unknown algorithms and malformed members are ignored; the strongest
    supported algorithm is kept.

    Example:
        >>> d = parse_digest_header("sha-256=:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=:")
        >>> d.algorithm, len(d.value)
        ('sha-256', 32)
    """
    if not value:
        return None
    found: dict[str, bytes] = {}
    for member in value.split(","):
        name, sep, raw = member.strip().partition("=")
        name = name.strip().lower()
        raw = raw.strip()
        if not sep or name not in _ALGORITHMS or len(raw) < 2:
            continue
        if raw.startswith(":") and raw.endswith(":"):
            raw = raw[1:-1]
        try:
            digest = base64.b64decode(raw, validate=True)
        except ValueError:
            continue
        if len(digest) == hashlib.new(_ALGORITHMS[name]).digest_size:
            found[name] = digest
    for name in _ALGORITHMS:
        if name in found:
            return ExpectedDigest(name, found[name])
    return None


class PrefixHasher:
    """Hash a file written in parts, in order, without a second full pass.

    Parts are written concurrently. The hash advances over the contiguous
    prefix of written bytes: a chunk that lands exactly at the hash position is
    hashed from memory; bytes written ahead of it (parts finished out of order,
    or parts already on disk when resuming) are read back from the part file
    once the prefix reaches them, which the page cache normally serves.
    Each byte is hashed exactly once.

    Example:
        >>> import tempfile
        >>> with tempfile.TemporaryFile() as f:
        ...     _ = f.write(b"abcd"); f.flush()
        ...     h = PrefixHasher(hashlib.sha256(), f.fileno(), size=4, part_size=2)
        ...     h.written(1, 2, 2, b"cd")       # out of order: deferred
        ...     h.written(0, 0, 2, b"ab")       # prefix: hashed, then "cd" read back
        ...     h.finish() == hashlib.sha256(b"abcd").digest()
        True
    """

    def __init__(
        self,
        hash_object: hashlib._Hash,
        fd: int,
        *,
        size: int,
        part_size: int,
        finished_parts: set[int] | frozenset[int] = frozenset(),
    ) -> None:
        self._hash = hash_object
        self._fd = fd
        self._size = size
        self._part_size = part_size
        n_parts = -(-size // part_size) if size else 0
        self._written = [0] * n_parts
        for index in finished_parts:
            self._written[index] = self._part_length(index)
        self._position = 0
        self._lock = threading.Lock()
        self.bytes_read_back = 0

    def _part_length(self, index: int) -> int:
        start = index * self._part_size
        return min(self._size, start + self._part_size) - start

    def written(self, index: int, offset: int, written_in_part: int, chunk: bytes | bytearray) -> None:
        """Record that ``chunk`` was written at absolute ``offset``, part ``index`` now
        holding ``written_in_part`` bytes from its start. Never blocks on another
        thread's hashing: whoever holds the lock catches up later."""
        self._written[index] = written_in_part
        if not self._lock.acquire(blocking=False):
            return
        try:
            if self._position == offset:
                self._hash.update(chunk)
                self._position += len(chunk)
            self._catch_up()
        finally:
            self._lock.release()

    def _catch_up(self) -> None:
        while self._position < self._size:
            index = self._position // self._part_size
            end = index * self._part_size + self._written[index]
            if self._position >= end:
                return
            length = min(_READBACK_CHUNK, end - self._position)
            data = os.pread(self._fd, length, self._position)
            if not data:
                raise OSError(f"part file shorter than expected at offset {self._position}")
            self._hash.update(data)
            self._position += len(data)
            self.bytes_read_back += len(data)

    def finish(self) -> bytes:
        """Hash whatever is left (everything must be written by now) and return the digest."""
        with self._lock:
            self._catch_up()
            if self._position != self._size:
                raise OSError(f"only {self._position} of {self._size} bytes could be hashed")
            return self._hash.digest()
