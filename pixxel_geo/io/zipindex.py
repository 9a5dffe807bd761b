"""Parse a zip archive's directory from a few byte ranges.

A product is a zip behind a signed URL. Reading its central directory once
(the last 64 KiB of the file, plus the directory itself when it is larger)
maps each member to the byte range of its data, so a member can be read by
range like a plain file. Only the standard library is used here: the module
is pure parsing, the network lives in :mod:`pixxel_geo.io.reader`.

Example:
    >>> import io, zipfile
    >>> buf = io.BytesIO()
    >>> with zipfile.ZipFile(buf, "w") as zf:
    ...     zf.writestr("a.txt", b"hello")
    >>> data = buf.getvalue()
    >>> where = find_central_directory(data, tail_offset=0, file_size=len(data))
    >>> members = parse_central_directory(data[where.offset : where.offset + where.size])
    >>> members["a.txt"].file_size
    5
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Protocol

__all__ = [
    "DEFLATED",
    "EOCD_SEARCH_BYTES",
    "FIRST_TAIL_BYTES",
    "LOCAL_HEADER_SIZE",
    "STORED",
    "CentralDirectoryLocation",
    "DeflatedMemberWarning",
    "TailReader",
    "ZipFormatError",
    "ZipMember",
    "find_central_directory",
    "local_data_offset",
    "parse_central_directory",
    "read_central_directory",
]

STORED = 0
DEFLATED = 8
EOCD_SEARCH_BYTES = 65_536 + 22 + 20 + 56
"""How many bytes at the end of a file hold the end-of-central-directory records."""
LOCAL_HEADER_SIZE = 30

FIRST_TAIL_BYTES = 4 * 1024
"""The tail read first: a product's directory (a handful of members) fits in well under this; a long
comment or a larger directory costs one more read."""

_EOCD = struct.Struct("<4s4H2LH")
_EOCD64_LOCATOR = struct.Struct("<4sLQL")
_EOCD64 = struct.Struct("<4sQ2H2L4Q")
_CENTRAL = struct.Struct("<4s6H3L5H2L")
_LOCAL = struct.Struct("<4s5H3L2H")


class ZipFormatError(ValueError):
    """The bytes are not a zip archive this reader understands."""


class DeflatedMemberWarning(UserWarning):
    """A member is DEFLATE-compressed: it is read as a stream, with no random access.

    Reading a window of a compressed raster decompresses everything before it,
    which moves most of the file. Products should hold STORED members.
    """


@dataclass(frozen=True)
class ZipMember:
    """One member of a zip archive, as its central directory describes it."""

    name: str
    compress_type: int
    compressed_size: int
    file_size: int
    header_offset: int
    """Where the member's local header starts; the data follows it."""
    crc: int = 0

    @property
    def is_dir(self) -> bool:
        """Whether the entry is a directory."""
        return self.name.endswith("/")

    @property
    def is_stored(self) -> bool:
        """Whether the data is stored uncompressed (random access possible)."""
        return self.compress_type == STORED


@dataclass(frozen=True)
class CentralDirectoryLocation:
    """Where the central directory is, and how many entries it holds."""

    offset: int
    size: int
    entries: int


def find_central_directory(tail: bytes, tail_offset: int, file_size: int) -> CentralDirectoryLocation | None:
    """Find the central directory from the last bytes of an archive.

    Args:
        tail: the last bytes of the file (up to :data:`EOCD_SEARCH_BYTES`).
        tail_offset: the file offset of ``tail[0]``.
        file_size: the size of the whole file.

    Returns:
        The directory's location, or ``None`` when the zip64 record lies before
        ``tail`` (the caller then fetches it and calls :func:`parse_eocd64`).

    Raises:
        ZipFormatError: no end-of-central-directory record in ``tail``.
    """
    pos = tail.rfind(b"PK\x05\x06")
    while pos >= 0 and pos + _EOCD.size > len(tail):
        pos = tail.rfind(b"PK\x05\x06", 0, pos)
    if pos < 0:
        raise ZipFormatError(
            "not a zip archive: no end-of-central-directory record in the last "
            f"{len(tail)} bytes of a {file_size}-byte file"
        )
    _, _disk, _cd_disk, _n_disk, n_total, cd_size, cd_offset, _comment = _EOCD.unpack_from(tail, pos)
    locator_pos = pos - _EOCD64_LOCATOR.size
    needs_zip64 = 0xFFFF in (n_total,) or 0xFFFFFFFF in (cd_size, cd_offset)
    if locator_pos >= 0 and tail[locator_pos : locator_pos + 4] == b"PK\x06\x07":
        _, _, eocd64_offset, _ = _EOCD64_LOCATOR.unpack_from(tail, locator_pos)
        rel = eocd64_offset - tail_offset
        if rel < 0:
            return None if needs_zip64 else CentralDirectoryLocation(cd_offset, cd_size, n_total)
        return parse_eocd64(tail[rel : rel + _EOCD64.size])
    if needs_zip64:
        raise ZipFormatError("zip64 archive without a zip64 locator")
    return CentralDirectoryLocation(cd_offset, cd_size, n_total)


def parse_eocd64(record: bytes) -> CentralDirectoryLocation:
    """Parse a zip64 end-of-central-directory record.

    Raises:
        ZipFormatError: the bytes are not such a record.
    """
    if len(record) < _EOCD64.size or record[:4] != b"PK\x06\x06":
        raise ZipFormatError("broken zip64 end-of-central-directory record")
    fields = _EOCD64.unpack_from(record, 0)
    n_total, cd_size, cd_offset = fields[7], fields[8], fields[9]
    return CentralDirectoryLocation(cd_offset, cd_size, n_total)


def eocd64_offset(tail: bytes) -> int:
    """The file offset of the zip64 record named by the locator in ``tail``."""
    pos = tail.rfind(b"PK\x05\x06")
    locator_pos = pos - _EOCD64_LOCATOR.size
    _, _, offset, _ = _EOCD64_LOCATOR.unpack_from(tail, locator_pos)
    return int(offset)


def _zip64_extra(extra: bytes, usize: int, csize: int, offset: int) -> tuple[int, int, int]:
    i = 0
    while i + 4 <= len(extra):
        tag, size = struct.unpack_from("<HH", extra, i)
        body = extra[i + 4 : i + 4 + size]
        if tag == 0x0001:
            wanted = 8 * sum(v == 0xFFFFFFFF for v in (usize, csize, offset))
            if len(body) < wanted:
                raise ZipFormatError(f"zip64 extra field holds {len(body)} bytes, {wanted} are needed")
            j = 0
            if usize == 0xFFFFFFFF:
                (usize,) = struct.unpack_from("<Q", body, j)
                j += 8
            if csize == 0xFFFFFFFF:
                (csize,) = struct.unpack_from("<Q", body, j)
                j += 8
            if offset == 0xFFFFFFFF:
                (offset,) = struct.unpack_from("<Q", body, j)
            break
        i += 4 + size
    return usize, csize, offset


def parse_central_directory(data: bytes, entries: int | None = None) -> dict[str, ZipMember]:
    """Parse central directory entries.

    Args:
        data: the central directory's bytes.
        entries: how many entries to expect (for a consistency check).

    Returns:
        Members by name, in archive order.

    Raises:
        ZipFormatError: the bytes are not a central directory, or a member is encrypted.
    """
    members: dict[str, ZipMember] = {}
    pos = 0
    while pos + _CENTRAL.size <= len(data) and data[pos : pos + 4] == b"PK\x01\x02":
        fields = _CENTRAL.unpack_from(data, pos)
        flags, method = fields[3], fields[4]
        crc, csize, usize = fields[7], fields[8], fields[9]
        nlen, elen, clen = fields[10], fields[11], fields[12]
        offset = fields[16]
        start = pos + _CENTRAL.size
        raw_name = data[start : start + nlen]
        extra = data[start + nlen : start + nlen + elen]
        name = raw_name.decode("utf-8" if flags & 0x800 else "cp437")
        if flags & 0x1:
            raise ZipFormatError(f"member {name!r} is encrypted; encrypted products are not supported")
        usize, csize, offset = _zip64_extra(extra, usize, csize, offset)
        members[name] = ZipMember(name, method, csize, usize, offset, crc)
        pos = start + nlen + elen + clen
    if entries is not None and len(members) != entries:
        raise ZipFormatError(f"central directory lists {len(members)} entries, the archive says {entries}")
    return members


def local_data_offset(member: ZipMember, header: bytes) -> int:
    """Where a member's data starts, from its local header.

    The local header's name and extra lengths may differ from the central
    directory's, so the real offset needs the local header itself.

    Args:
        member: the member.
        header: at least :data:`LOCAL_HEADER_SIZE` bytes read at ``member.header_offset``.

    Returns:
        The file offset of the member's first data byte.

    Raises:
        ZipFormatError: ``header`` is not a local file header.
    """
    if len(header) < LOCAL_HEADER_SIZE or header[:4] != b"PK\x03\x04":
        raise ZipFormatError(f"no local file header for member {member.name!r}")
    fields = _LOCAL.unpack_from(header, 0)
    nlen, elen = fields[9], fields[10]
    return member.header_offset + LOCAL_HEADER_SIZE + nlen + elen


class TailReader(Protocol):
    """What :func:`read_central_directory` needs of a range reader (a :class:`~pixxel_geo.io.reader.RangeReader`)."""

    def read_tail(self, length: int) -> tuple[bytes, int]: ...

    def get_size(self) -> int: ...

    def read(self, start: int, end: int) -> bytes: ...


def read_central_directory(reader: TailReader, first_tail: int = FIRST_TAIL_BYTES) -> dict[str, ZipMember]:
    """Read an archive's members with as few range requests as possible.

    The last ``first_tail`` bytes are read first (one request that also gives the size);
    when they do not hold the end-of-central-directory record, the last
    :data:`EOCD_SEARCH_BYTES`; then the zip64 record and the directory itself if they lie
    before the tail.

    Args:
        reader: reads the archive's bytes by range.
        first_tail: how many bytes to read at the end first.

    Returns:
        Members by name, in archive order.

    Raises:
        ZipFormatError: the bytes are not a zip archive this reader understands.

    Example:
        >>> import io, zipfile
        >>> buf = io.BytesIO()
        >>> with zipfile.ZipFile(buf, "w") as zf:
        ...     zf.writestr("a.txt", b"hello")
        >>> class Bytes:
        ...     data = buf.getvalue()
        ...     def read_tail(self, n): return self.data[-n:], max(len(self.data) - n, 0)
        ...     def get_size(self): return len(self.data)
        ...     def read(self, start, end): return self.data[start:end]
        >>> list(read_central_directory(Bytes()))
        ['a.txt']
    """
    tail, tail_offset = reader.read_tail(first_tail)
    size = reader.get_size()
    try:
        try:
            where = find_central_directory(tail, tail_offset, size)
        except ZipFormatError:
            if tail_offset == 0 or first_tail >= EOCD_SEARCH_BYTES:
                raise
            tail, tail_offset = reader.read_tail(EOCD_SEARCH_BYTES)
            where = find_central_directory(tail, tail_offset, size)
        if where is None:  # zip64: the record lies before the tail read
            start = eocd64_offset(tail)
            where = parse_eocd64(reader.read(start, start + _EOCD64.size))
        if where.offset >= tail_offset:
            rel = where.offset - tail_offset
            directory = tail[rel : rel + where.size]
        else:
            directory = reader.read(where.offset, where.offset + where.size)
        return parse_central_directory(directory, where.entries)
    except (ValueError, struct.error) as exc:  # ZipFormatError is a ValueError
        if isinstance(exc, ZipFormatError):
            raise
        raise ZipFormatError(str(exc)) from None
