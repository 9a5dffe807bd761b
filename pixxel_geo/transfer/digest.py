"""Server checksums (RFC 9530 ``Repr-Digest`` / ``Content-Digest``) and hashing while writing."""

from __future__ import annotations

import base64
import hashlib
import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass

__all__ = ["ExpectedDigest", "PrefixHasher", "parse_digest_header", "whole_file_digest"]

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


def whole_file_digest(headers: Mapping[str, str]) -> ExpectedDigest | None:
    """The digest a 200 response announces for the whole file: ``Repr-Digest``, else ``Content-Digest``.

    (On a 206 only ``Repr-Digest`` describes the whole file.)

    Example:
        >>> whole_file_digest({"Content-Digest": "sha-256=:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=:"}).algorithm
        'sha-256'
    """
    return parse_digest_header(headers.get("Repr-Digest")) or parse_digest_header(headers.get("Content-Digest"))


class PrefixHasher:
    """Hash a file written in parts, in file order, on its own thread, while it is written.

    Workers write parts concurrently and record in ``written`` (shared, one
    count per part: bytes written from the part's start) how far each got,
    then call :meth:`nudge`. The hasher thread advances over the contiguous
    prefix of written bytes, reading them back from the part file (the page
    cache serves them: they were just written) into one reused buffer. Each
    byte is hashed exactly once, and never in a second pass after the download
    unless the download outran the hash. Parts already on disk when resuming
    are hashed the same way.

    Hashing on a dedicated thread keeps the workers reading their sockets
    (``hashlib`` and ``preadv`` release the GIL, so the hash runs on another
    core) — measured faster than hashing in the workers.

    Example:
        >>> import tempfile
        >>> with tempfile.TemporaryFile() as f:
        ...     _ = f.write(b"abcd"); f.flush()
        ...     written = [0, 2]                  # part 1 written first
        ...     h = PrefixHasher(hashlib.sha256(), f.fileno(), parts=[(0, 1), (2, 3)], written=written)
        ...     written[0] = 2; h.nudge()
        ...     h.finish() == hashlib.sha256(b"abcd").digest()
        True
    """

    def __init__(
        self,
        hash_object: hashlib._Hash,
        fd: int,
        *,
        parts: list[tuple[int, int]],
        written: list[int],
        buffer_size: int = _READBACK_CHUNK,
    ) -> None:
        self._hash = hash_object
        self._fd = fd
        self._parts = parts
        self._written = written
        self._size = parts[-1][1] + 1 if parts else 0
        self._buffer = bytearray(buffer_size)
        self._position = 0
        self._part = 0
        self._wake = threading.Event()
        self._closing = False
        self._abandoned = False
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="pixxel-hasher", daemon=True)
        self._thread.start()

    def nudge(self) -> None:
        """Tell the hasher that more bytes were written (cheap; call after each write)."""
        if not self._wake.is_set():  # set() takes a lock, and this runs once per network piece
            self._wake.set()

    def _run(self) -> None:
        try:
            while not self._abandoned:
                # Read the flag before looking at ``written``: once finish() has been called,
                # every byte is written, so a pass that starts after seeing it misses nothing.
                closing = self._closing
                self._wake.clear()
                hashed = self._catch_up()
                if closing and not hashed:
                    return
                if not hashed:
                    self._wake.wait(0.05)
        except BaseException as exc:  # reported by finish()
            self._error = exc

    def _catch_up(self) -> int:
        """Hash the contiguous written bytes from the position on; returns how many."""
        hashed = 0
        view = memoryview(self._buffer)
        while self._position < self._size:
            start, _ = self._parts[self._part]
            end = start + self._written[self._part]
            if self._position >= end:
                if self._written[self._part] == self._parts[self._part][1] - start + 1:
                    self._part += 1
                    continue
                break
            length = min(len(view), end - self._position)
            got = os.preadv(self._fd, [view[:length]], self._position)
            if got <= 0:
                raise OSError(f"part file shorter than expected at offset {self._position}")
            self._hash.update(view[:got])
            self._position += got
            hashed += got
            if self._abandoned:
                break
        return hashed

    def finish(self) -> bytes:
        """Wait until every byte is hashed (all must be written by now); return the digest.

        Raises:
            OSError: the part file could not be read back, or is incomplete.
        """
        self._closing = True
        self._wake.set()
        self._thread.join()
        if self._error is not None:
            raise self._error
        self._catch_up()  # the thread has ended: nothing left behind, whatever the timing
        if self._position != self._size:
            raise OSError(f"only {self._position} of {self._size} bytes could be hashed")
        return self._hash.digest()

    def close(self) -> None:
        """Stop hashing without a result (the transfer failed or was cancelled)."""
        self._abandoned = True
        self._closing = True
        self._wake.set()
        self._thread.join()
