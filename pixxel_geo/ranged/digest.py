"""What a server says about the bytes it sends: the one digest parser of the project.

What a server may say, strongest first:

- RFC 9530 ``Repr-Digest`` (the whole file, on 200 and 206 alike) or, on a 200,
  ``Content-Digest`` (the body is the whole file);
- Google Cloud Storage's ``x-goog-hash: crc32c=<b64>, md5=<b64>`` (the whole
  object, on ranged answers too; composite objects carry only ``crc32c``);
- a single-part S3 ``ETag``, which is the MD5 of the object: trusted only from
  a server that answers like S3 (``x-amz-request-id`` or ``Server: AmazonS3``),
  for a strong ETag of 32 hex digits (a multipart ETag has a ``-N`` suffix) and
  an object not encrypted with KMS or a customer key (their ETags are not MD5s).

On a 206, ``Content-Digest`` describes that answer's body alone (see :func:`part_digest`).
CRC32C needs ``google-crc32c``; without it (the QGIS plugin ships no compiled package)
``x-goog-hash`` is checked with its MD5.

Example:
    >>> announced_digest({"x-goog-hash": "md5=rL0Y20zC+Fzt72VPzMSk2A=="}, whole_body=False).algorithm
    'md5'
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import ModuleType
from typing import Protocol

google_crc32c: ModuleType | None
try:
    import google_crc32c
except ImportError:  # the QGIS plugin ships without compiled packages: MD5 only there
    google_crc32c = None

__all__ = [
    "ExpectedDigest",
    "HashObject",
    "announced_digest",
    "parse_digest_header",
    "parse_goog_hash",
    "part_digest",
    "s3_etag_md5",
]

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


# Algorithm names (RFC 9530's registry) -> (hash factory, digest size).
_ALGORITHMS: dict[str, tuple[Callable[[], HashObject], int]] = {
    "sha-512": (hashlib.sha512, 64),
    "sha-256": (hashlib.sha256, 32),
    "md5": (_md5, 16),
}
if google_crc32c is not None:
    _ALGORITHMS["crc32c"] = (_Crc32c, 4)
_RFC9530_ORDER = ("sha-512", "sha-256")
"""The algorithms taken from ``Repr-Digest`` / ``Content-Digest`` (RFC 9530 deprecates the others), strongest first."""
_GOOG_ORDER = ("crc32c", "md5")
"""``x-goog-hash`` members, preferred first: CRC32C is what GCS computes for every object, and cheaper to check."""


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


def _preferred(value: str | None, order: tuple[str, ...]) -> ExpectedDigest | None:
    """The first algorithm of ``order`` that a ``name=value, …`` list carries well formed."""
    if not value:
        return None
    found: dict[str, ExpectedDigest] = {}
    for member in value.split(","):
        name, sep, raw = member.strip().partition("=")
        name = name.strip().lower()
        if sep and name in order and name in _ALGORITHMS and (digest := _decode(raw, name)) is not None:
            found[name] = digest
    return next((found[name] for name in order if name in found), None)


def parse_digest_header(value: str | None) -> ExpectedDigest | None:
    """Parse an RFC 9530 digest field (``sha-256=:<b64>:, sha-512=:<b64>:``).

    Unknown algorithms and malformed members are ignored; the strongest
    supported algorithm is kept.

    Args:
        value: the field's value (``None``: absent).

    Returns:
        The strongest digest given, or ``None``.

    Example:
        >>> d = parse_digest_header("sha-256=:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=:")
        >>> d.algorithm, len(d.value)
        ('sha-256', 32)
    """
    return _preferred(value, _RFC9530_ORDER)


def parse_goog_hash(value: str | None) -> ExpectedDigest | None:
    """Parse Google Cloud Storage's ``x-goog-hash`` (``crc32c=<b64>, md5=<b64>``; repeated headers joined by commas).

    CRC32C is preferred when both are given (and ``google-crc32c`` is installed);
    MD5 is used where only it is there.

    Args:
        value: the header's value (``None``: absent).

    Returns:
        The preferred digest given, or ``None``.

    Example:
        >>> parse_goog_hash("crc32c=n03x6A==, md5=rL0Y20zC+Fzt72VPzMSk2A==").algorithm
        'crc32c'
        >>> parse_goog_hash("md5=rL0Y20zC+Fzt72VPzMSk2A==").algorithm
        'md5'
    """
    return _preferred(value, _GOOG_ORDER)


def s3_etag_md5(headers: Mapping[str, str]) -> ExpectedDigest | None:
    """The MD5 in a single-part S3 object's ``ETag``, when the answer shows it is one.

    Args:
        headers: the answer's headers.

    Returns:
        The MD5, or ``None`` when the ``ETag`` is not known to be one.

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

    Returns:
        The digest, or ``None`` when the answer announces none.

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


def part_digest(headers: Mapping[str, str]) -> ExpectedDigest | None:
    """The digest of a 206 answer's own body (RFC 9530 ``Content-Digest``), if the server sent one.

    Args:
        headers: the answer's headers.

    Returns:
        The digest, or ``None``.

    Example:
        >>> part_digest({"Content-Digest": "sha-256=:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=:"}).algorithm
        'sha-256'
    """
    return parse_digest_header(headers.get("Content-Digest"))
