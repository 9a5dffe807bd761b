"""Server checksums and hashing while writing.

What a server may say about the bytes it sends, strongest first:

- RFC 9530 ``Repr-Digest`` (the whole file, on 200 and 206 alike) or, on a 200,
  ``Content-Digest`` (the body is the whole file);
- Google Cloud Storage's ``x-goog-hash: crc32c=<b64>, md5=<b64>`` (the whole
  object, on ranged answers too; composite objects carry only ``crc32c``);
- a single-part S3 ``ETag``, which is the MD5 of the object: trusted only from
  a server that answers like S3 (``x-amz-request-id`` or ``Server: AmazonS3``),
  for a strong ETag of 32 hex digits (a multipart ETag has a ``-N`` suffix) and
  an object not encrypted with KMS or a customer key (their ETags are not MD5s).

On a 206, ``Content-Digest`` describes that answer's body alone: the parts
fetcher uses it to verify each part as it arrives (see :func:`part_digest`).
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import ModuleType
from typing import Protocol

google_crc32c: ModuleType | None
try:
    import google_crc32c
except ImportError:  # the QGIS plugin ships this engine without compiled packages: MD5 only there
    google_crc32c = None

__all__ = [
    "ExpectedDigest",
    "HashObject",
    "PrefixHasher",
    "announced_digest",
    "parse_digest_header",
    "parse_goog_hash",
    "part_digest",
    "s3_etag_md5",
    "whole_file_digest",
]

_READBACK_CHUNK = 1 << 20
_HEX_MD5 = re.compile(r"[0-9a-fA-F]{32}")


class HashObject(Protocol):
    """What the hashers need of a hash: ``update`` and ``digest`` (hashlib's and google-crc32c's have them)."""

    def update(self, data: bytes | bytearray | memoryview, /) -> object: ...

    def digest(self) -> bytes: ...


class _Crc32c:
    """CRC32C (Castagnoli) as a hashlib-like object, big-endian digest as GCS sends it."""

    def __init__(self) -> None:
        assert google_crc32c is not None
        self._checksum = google_crc32c.Checksum()

    def update(self, data: bytes | bytearray | memoryview, /) -> None:
        self._checksum.update(bytes(data) if isinstance(data, memoryview) else data)

    def digest(self) -> bytes:
        return bytes(self._checksum.digest())


def _md5() -> HashObject:
    return hashlib.md5(usedforsecurity=False)  # an integrity check against transfer errors, not security


# Algorithm names (RFC 9530's registry) -> (hash factory, digest size), strongest first.
_ALGORITHMS: dict[str, tuple[Callable[[], HashObject], int]] = {
    "sha-512": (hashlib.sha512, 64),
    "sha-256": (hashlib.sha256, 32),
    "md5": (_md5, 16),
}
if google_crc32c is not None:
    _ALGORITHMS["crc32c"] = (_Crc32c, 4)
_RFC9530_ACCEPTED = ("sha-512", "sha-256")
"""The algorithms taken from ``Repr-Digest`` / ``Content-Digest`` (RFC 9530 deprecates the others)."""


@dataclass(frozen=True)
class ExpectedDigest:
    """A digest announced by the server: ``algorithm`` (``sha-256``, ``md5``, ``crc32c``…) and raw ``value`` bytes."""

    algorithm: str
    value: bytes

    @property
    def header_value(self) -> str:
        """The digest in RFC 9530 form, e.g. ``sha-256=:<base64>:``."""
        return f"{self.algorithm}=:{base64.b64encode(self.value).decode()}:"

    def new_hash(self) -> HashObject:
        """A fresh hash object for this algorithm."""
        return _ALGORITHMS[self.algorithm][0]()


def _decode(raw: str, algorithm: str) -> ExpectedDigest | None:
    raw = raw.strip()
    if len(raw) >= 2 and raw.startswith(":") and raw.endswith(":"):
        raw = raw[1:-1]
    try:
        value = base64.b64decode(raw, validate=True)
    except ValueError:
        return None
    if len(value) != _ALGORITHMS[algorithm][1]:
        return None
    return ExpectedDigest(algorithm, value)


def _strongest(found: dict[str, ExpectedDigest], order: tuple[str, ...]) -> ExpectedDigest | None:
    for name in order:
        if name in found:
            return found[name]
    return None


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
    found: dict[str, ExpectedDigest] = {}
    for member in value.split(","):
        name, sep, raw = member.strip().partition("=")
        name = name.strip().lower()
        if sep and name in _RFC9530_ACCEPTED and (digest := _decode(raw, name)) is not None:
            found[name] = digest
    return _strongest(found, _RFC9530_ACCEPTED)


def parse_goog_hash(value: str | None) -> ExpectedDigest | None:
    """Parse Google Cloud Storage's ``x-goog-hash`` (``crc32c=<b64>, md5=<b64>``; repeated headers joined by commas).

    CRC32C is preferred when both are given: it is what GCS computes for every
    object and cheaper to check; MD5 is used where only it is there.

    Example:
        >>> parse_goog_hash("crc32c=n03x6A==, md5=rL0Y20zC+Fzt72VPzMSk2A==").algorithm
        'crc32c'
        >>> parse_goog_hash("md5=rL0Y20zC+Fzt72VPzMSk2A==").algorithm
        'md5'
    """
    if not value:
        return None
    found: dict[str, ExpectedDigest] = {}
    for member in value.split(","):
        name, sep, raw = member.strip().partition("=")
        name = name.strip().lower()
        if sep and name in _ALGORITHMS and (digest := _decode(raw, name)) is not None:
            found[name] = digest
    return _strongest(found, ("crc32c", "md5"))


def s3_etag_md5(headers: Mapping[str, str]) -> ExpectedDigest | None:
    """The MD5 in a single-part S3 object's ``ETag``, when the answer shows it is one.

    Example:
        >>> s3_etag_md5({"ETag": '"acbd18db4cc2f85cedef654fccc4a4d8"', "x-amz-request-id": "R1"}).algorithm
        'md5'
        >>> s3_etag_md5({"ETag": '"acbd18db4cc2f85cedef654fccc4a4d8"'}) is None  # not S3: any opaque tag
        True
    """
    etag = (headers.get("ETag") or "").strip()
    if not etag.startswith('"') or not etag.endswith('"') or len(etag) != 34:
        return None  # weak (W/"…"), unquoted, or multipart ("…-3")
    hex_value = etag[1:-1]
    if not _HEX_MD5.fullmatch(hex_value):
        return None
    server = (headers.get("Server") or "").lower()
    if headers.get("x-amz-request-id") is None and "amazons3" not in server:
        return None
    encryption = (headers.get("x-amz-server-side-encryption") or "").lower()
    if encryption.startswith("aws:kms") or headers.get("x-amz-server-side-encryption-customer-algorithm"):
        return None
    return ExpectedDigest("md5", bytes.fromhex(hex_value))


def announced_digest(headers: Mapping[str, str], *, whole_body: bool) -> ExpectedDigest | None:
    """The strongest digest of the whole file an answer announces (see the module docstring).

    Args:
        headers: the answer's headers.
        whole_body: the answer is a 200 whose body is the whole file (then
            ``Content-Digest`` describes the file too).

    Example:
        >>> announced_digest({"x-goog-hash": "md5=rL0Y20zC+Fzt72VPzMSk2A=="}, whole_body=False).algorithm
        'md5'
    """
    return (
        parse_digest_header(headers.get("Repr-Digest"))
        or (parse_digest_header(headers.get("Content-Digest")) if whole_body else None)
        or parse_goog_hash(headers.get("x-goog-hash"))
        or s3_etag_md5(headers)
    )


def whole_file_digest(headers: Mapping[str, str]) -> ExpectedDigest | None:
    """The digest a 200 response announces for the whole file.

    Example:
        >>> whole_file_digest({"Content-Digest": "sha-256=:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=:"}).algorithm
        'sha-256'
    """
    return announced_digest(headers, whole_body=True)


def part_digest(headers: Mapping[str, str]) -> ExpectedDigest | None:
    """The digest of a 206 answer's own body (RFC 9530 ``Content-Digest``), if the server sent one.

    Example:
        >>> part_digest({"Content-Digest": "sha-256=:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=:"}).algorithm
        'sha-256'
    """
    return parse_digest_header(headers.get("Content-Digest"))


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
        hash_object: HashObject,
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
