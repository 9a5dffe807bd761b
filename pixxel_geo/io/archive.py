"""A product zip read in place: its members as range-readable files.

:class:`ZipArchive` reads the central directory once (one suffix-range GET, plus
one for the directory when it does not fit), then opens members as file objects
whose reads become ranged GETs at the member's data offset. Several ranges of
one read (:meth:`MemberFile.get_byte_ranges`, which GDAL calls through
rasterio's opener) are fetched in parallel.

Example:
    >>> archive = ZipArchive(StaticURLSource(url))  # doctest: +SKIP
    >>> archive.names()  # doctest: +SKIP
    ['FF01_…_00501045.tif', 'FF01_…_00501045.mask.tif', ...]
    >>> with archive.open("FF01_…_00501045.hdr") as f:  # doctest: +SKIP
    ...     header = f.read().decode()
"""

from __future__ import annotations

import functools
import io
import struct
import threading
import warnings
import zlib
from dataclasses import dataclass
from typing import Any

from pixxel_geo.api.errors import MemberNotFoundError
from pixxel_geo.api.redact import redact_urls
from pixxel_geo.io.gdal_options import FIRST_HEAD_BYTES, HEAD_BYTES
from pixxel_geo.io.lru import LRU
from pixxel_geo.io.prefetch import BandPrefetcher, parse_tile_table, tiff_metadata_end
from pixxel_geo.io.reader import RangeReader, StaticURLSource, URLSource, redact_url
from pixxel_geo.io.session import IOSession, IOSettings, default_session
from pixxel_geo.io.tile_readahead import TileReadAhead, parse_tile_layout
from pixxel_geo.io.zipindex import (
    LOCAL_HEADER_SIZE,
    STORED,
    DeflatedMemberWarning,
    ZipFormatError,
    ZipMember,
    local_data_offset,
    read_central_directory,
)

__all__ = ["HEAD_BYTES", "MAX_ARCHIVES", "MemberFile", "ResolvedSource", "ZipArchive", "archive_for"]

_BLOCK = 64 * 1024
_MAX_BLOCKS = 64


class _NeedBytes(Exception):
    """A TIFF's directories reach past the head read so far (``[start, end)`` is wanted)."""

    def __init__(self, start: int, end: int) -> None:
        super().__init__(start, end)
        self.start, self.end = start, end


def _head_bytes(head: bytes, start: int, end: int) -> bytes:
    if end > len(head):
        raise _NeedBytes(start, end)
    return head[start:end]


class ZipArchive:
    """A zip behind a (re-signable) URL, read by range.

    Thread-safe. Pickles as its URL source, the parsed directory and the heads of opened members (plain
    data), never a connection or a URL.

    Args:
        source: the archive's :class:`~pixxel_geo.io.reader.URLSource`.
        reader: a ready reader (tests); default: ``source.open_reader(session)`` when the
            source has that method (an object in a cloud store), else a :class:`RangeReader`.
        session: the caches and pools to use (default: the reader's, else the process's).
    """

    def __init__(
        self, source: URLSource, *, reader: RangeReader | None = None, session: IOSession | None = None
    ) -> None:
        self.source = source
        self.session: IOSession = session or getattr(reader, "session", None) or default_session()
        self.reader = reader or _reader_for(source, self.session)
        # Re-entrant: a MemberFile collected (closed) while this thread holds it releases under it.
        self._lock = threading.RLock()
        self._members: dict[str, ZipMember] | None = None
        self._data_offsets: dict[str, int] = {}
        self._heads: dict[str, bytes] = {}
        self._header_locks: dict[str, threading.Lock] = {}
        self._prefetchers: dict[str, BandPrefetcher | None] = {}
        self._tile_readaheads: dict[str, TileReadAhead | None] = {}
        self._open_files: dict[str, int] = {}
        self.session.track_archive(self)

    def _after_fork(self) -> None:
        """Drop read-ahead state and locks (in a forked child, whose parent's threads are gone).

        Called by the session's one fork hook (:mod:`pixxel_geo.io.session`).
        """
        self._lock = threading.RLock()
        self._header_locks = {}
        self._prefetchers = {}
        self._tile_readaheads = {}
        if hasattr(self.reader, "_url_lock"):
            self.reader._url_lock = threading.Lock()

    def __getstate__(self) -> dict[str, Any]:
        # The heads of members already opened travel too (at most HEAD_BYTES each): a dask
        # worker that unpickles the archive opens them without asking the network again.
        with self._lock:
            heads = dict(self._heads)
        return {
            "source": self.source,
            "members": self._members,
            "offsets": dict(self._data_offsets),
            "heads": heads,
            "size": self.reader.size,
            "session": self.session,
        }

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["source"], session=state.get("session"))  # type: ignore[misc]
        self._adopt(state)

    def __reduce__(self) -> tuple[Any, tuple[dict[str, Any]]]:
        # Unpickled through archive_for: every task a dask worker runs on one product shares
        # one archive (its connections, directory, heads and read-ahead) instead of making its own.
        return (_restore_archive, (self.__getstate__(),))

    def _adopt(self, state: dict[str, Any]) -> None:
        """Take what a pickled copy knew that this archive does not know yet."""
        with self._lock:
            if self._members is None and state.get("members") is not None:
                self._members = state["members"]
            for name, offset in (state.get("offsets") or {}).items():
                self._data_offsets.setdefault(name, offset)
            for name, head in (state.get("heads") or {}).items():
                self._heads.setdefault(name, head)
            if self.reader.size is None and state.get("size") is not None:
                self.reader.size = state["size"]

    def __repr__(self) -> str:
        return f"ZipArchive({self.source!r})"

    # -- directory --------------------------------------------------------------

    @property
    def members(self) -> dict[str, ZipMember]:
        """Members by name (the central directory is read on first use)."""
        if self._members is None:
            with self._lock:
                if self._members is None:
                    self._members = self._read_directory()
        return self._members

    @property
    def size(self) -> int:
        """The archive's size in bytes."""
        self.members  # noqa: B018  (the directory read learns the size)
        return self.reader.get_size()

    def _read_directory(self) -> dict[str, ZipMember]:
        try:
            return read_central_directory(self.reader)
        except ZipFormatError as exc:
            raise ZipFormatError(
                f"{redact_url(self.reader.current_url())} is not a readable zip archive: {redact_urls(str(exc))}"
            ) from None

    def names(self) -> list[str]:
        """Names of the file members (directories left out), in archive order."""
        return [m.name for m in self.members.values() if not m.is_dir]

    def member(self, name: str) -> ZipMember:
        """The member called ``name``.

        Raises:
            MemberNotFoundError: no such member (the error lists the members there are).
        """
        members = self.members
        found = members.get(name.lstrip("/"))
        if found is None or found.is_dir:
            names = self.names()
            raise MemberNotFoundError(
                f"the product has no member {name!r}; it has: {', '.join(names)}",
                member=name,
                members=names,
            )
        return found

    def data_range(self, name: str) -> tuple[int, int]:
        """``(offset, size)`` of a member's stored bytes in the archive.

        Reads the local header once (together with the start of the data).
        """
        member = self.member(name)
        offset = self._data_offsets.get(member.name)
        if offset is None:
            # One lock per member: the heads of several members are read side by side.
            with self._lock:
                lock = self._header_locks.setdefault(member.name, threading.Lock())
            with lock:
                offset = self._data_offsets.get(member.name)
                if offset is None:
                    offset = self._read_local_header(member)
        return offset, member.compressed_size

    def _read_local_header(self, member: ZipMember) -> int:
        # The local header and the first FIRST_HEAD_BYTES of the data in one request; a TIFF
        # whose directories reach further gets the rest of them in one more (as GDAL does).
        slack = LOCAL_HEADER_SIZE + len(member.name.encode()) * 2 + 1024
        want = member.compressed_size if member.compress_type == STORED else 0
        end = member.header_offset + slack + min(want, FIRST_HEAD_BYTES)
        end = min(end, self.reader.get_size())
        blob = self.reader.read(member.header_offset, end)
        offset = local_data_offset(member, blob)
        rel = offset - member.header_offset
        if member.compress_type == STORED:
            head = blob[rel : rel + member.compressed_size]
            self._heads[member.name] = self._grow_head(offset, member.compressed_size, head)
        self._data_offsets[member.name] = offset
        return offset

    def _grow_head(self, offset: int, size: int, head: bytes) -> bytes:
        """``head`` extended to the end of a TIFF's directories (at most :data:`HEAD_BYTES`)."""
        limit = min(size, HEAD_BYTES)
        while len(head) < limit:
            try:
                end = tiff_metadata_end(functools.partial(_head_bytes, head))
            except _NeedBytes as more:
                if more.start >= limit:
                    return head  # a directory far from the start (not a COG): GDAL reads it itself
                end = more.end
            except (struct.error, ValueError):
                return head
            if end is None or end <= len(head):
                return head  # not a TIFF, or all its directories are there
            # Twice as far as asked: the entries read next usually point a little further.
            head += self.reader.read(offset + len(head), offset + min(limit, max(end, 2 * len(head))))
        return head

    def head(self, name: str) -> bytes:
        """The first bytes of a stored member, as read with its local header."""
        self.data_range(name)
        return self._heads.get(self.member(name).name, b"")

    def prefetcher(self, name: str) -> BandPrefetcher | None:
        """The band read-ahead for a band-interleaved GeoTIFF member (``None`` for others).

        Kept while a :class:`MemberFile` of the member is open (dropped when the last closes).
        """
        with self._lock:
            if name not in self._prefetchers:
                made = self._make_prefetcher(name)
                self._prefetchers[name] = made if isinstance(made, BandPrefetcher) else None
            return self._prefetchers[name]

    def tile_readahead(self, name: str) -> TileReadAhead | None:
        """The tile read-ahead for a pixel-interleaved GeoTIFF member with large tiles (``None`` for others).

        Kept while a :class:`MemberFile` of the member is open (dropped when the last closes).
        """
        with self._lock:
            if name not in self._tile_readaheads:
                made = self._make_prefetcher(name, tiles=True)
                self._tile_readaheads[name] = made if isinstance(made, TileReadAhead) else None
            return self._tile_readaheads[name]

    def _file_opened(self, name: str) -> None:
        with self._lock:
            self._open_files[name] = self._open_files.get(name, 0) + 1

    def _file_closed(self, name: str) -> None:
        # The last open file of a member takes its read-ahead caches (up to 256 MiB each) with it.
        with self._lock:
            left = self._open_files.get(name, 0) - 1
            if left > 0:
                self._open_files[name] = left
                return
            self._open_files.pop(name, None)
            self._prefetchers.pop(name, None)
            self._tile_readaheads.pop(name, None)

    def _make_prefetcher(self, name: str, tiles: bool = False) -> BandPrefetcher | TileReadAhead | None:
        if not name.lower().endswith((".tif", ".tiff")):
            return None
        offset, size = self._data_offsets[name], self.member(name).compressed_size
        head = self._heads.get(name, b"")

        def read(start: int, end: int) -> bytes:
            end = min(end, size)
            if end <= len(head):
                return head[start:end]
            return self.reader.read(offset + start, offset + end)

        def fetch(ranges: list[tuple[int, int]]) -> list[bytes]:
            return self.reader.read_ranges([(offset + s, offset + min(e, size)) for s, e in ranges])

        try:
            if tiles:
                layout = parse_tile_layout(read)
                if layout is None:
                    return None
                return TileReadAhead(layout, fetch, self.session.readahead_executor())
            table = parse_tile_table(read)
        except (struct.error, ValueError):
            return None
        return BandPrefetcher(table, fetch) if table is not None else None

    # -- reading ------------------------------------------------------------------

    def open(self, name: str) -> io.RawIOBase:
        """Open a member for reading.

        STORED members give a :class:`MemberFile` (random access by range).
        DEFLATED members warn with :class:`DeflatedMemberWarning` and give a
        stream that decompresses as it goes (seeking backwards restarts it).

        Raises:
            MemberNotFoundError: no such member.
            ZipFormatError: a compression method other than STORED or DEFLATED.
        """
        member = self.member(name)
        if member.compress_type == STORED:
            return MemberFile(self, member.name)
        if member.compress_type == 8:
            warnings.warn(
                f"member {member.name!r} is DEFLATE-compressed: it has no random access, "
                "so reads decompress it from the start (slow, moves most of the file); "
                "products should hold STORED members",
                DeflatedMemberWarning,
                stacklevel=2,
            )
            return DeflatedMemberFile(self, member.name)
        raise ZipFormatError(
            f"member {member.name!r} uses zip compression method {member.compress_type}; "
            "only STORED and DEFLATED members can be read"
        )

    def read(self, name: str) -> bytes:
        """A whole member's (decompressed) bytes."""
        with self.open(name) as f:
            return f.read()


def _seek_target(offset: int, whence: int, pos: int, size: int) -> int:
    """The absolute position a ``seek`` asks for (``io.RawIOBase`` semantics).

    Raises:
        ValueError: an unknown ``whence`` or a negative resulting position.
    """
    if whence == io.SEEK_SET:
        target = offset
    elif whence == io.SEEK_CUR:
        target = pos + offset
    elif whence == io.SEEK_END:
        target = size + offset
    else:
        raise ValueError(f"invalid whence ({whence!r}, should be 0, 1 or 2)")
    if target < 0:
        raise ValueError(f"negative seek position {target}")
    return target


class MemberFile(io.RawIOBase):
    """A STORED member as a seekable, range-reading file.

    Small reads are served from 64 KiB blocks (bounded cache); GDAL's
    multi-range reads go straight to :meth:`get_byte_ranges`.
    """

    def __init__(self, archive: ZipArchive, name: str) -> None:
        super().__init__()
        self.archive = archive
        self.name = name
        self._offset, self.size = archive.data_range(name)
        self._head = archive.head(name)
        self._pos = 0
        self._blocks: LRU[int, bytes] = LRU(_MAX_BLOCKS)
        archive._file_opened(name)

    def close(self) -> None:
        if not self.closed:
            self._blocks.clear()
            self.archive._file_closed(self.name)
        super().close()

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        self._pos = _seek_target(offset, whence, self._pos, self.size)
        return self._pos

    def _span(self, start: int, end: int) -> bytes:
        """Member bytes ``[start, end)`` (clipped to the member)."""
        end = min(end, self.size)
        if end <= start:
            return b""
        if end <= len(self._head):
            return self._head[start:end]
        first, last = start // _BLOCK, (end - 1) // _BLOCK
        if last - first > 4:
            # A large read: a piece of a big tile (fetched whole, with the next tiles ahead),
            # else fetched exactly, without polluting the block cache.
            readahead = self.archive.tile_readahead(self.name)
            data = readahead.read(start, end) if readahead is not None else None
            return data if data is not None else self._fetch([(start, end)])[0]
        blocks = {b: self._blocks.get(b) for b in range(first, last + 1)}
        missing = [b for b, blob in blocks.items() if blob is None]
        if missing:
            spans = [(b * _BLOCK, min(self.size, (b + 1) * _BLOCK)) for b in missing]
            for b, blob in zip(missing, self._fetch(spans), strict=True):
                blocks[b] = blob
                self._blocks.put(b, blob)
        data = b"".join(blocks[b] or b"" for b in range(first, last + 1))
        return data[start - first * _BLOCK : end - first * _BLOCK]

    def _fetch(self, spans: list[tuple[int, int]]) -> list[bytes]:
        base = self._offset
        return self.archive.reader.read_ranges([(base + s, base + e) for s, e in spans])

    def read(self, size: int | None = -1) -> bytes:
        if size is None or size < 0:
            size = self.size - self._pos
        data = self._span(self._pos, self._pos + size)
        self._pos += len(data)
        return data

    def readall(self) -> bytes:
        return self.read(-1)

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def get_byte_ranges(self, offsets: list[int], sizes: list[int]) -> list[bytes]:
        """Several ranges of the member at once, fetched in parallel (rasterio's multi-range hook).

        Args:
            offsets: start of each range, relative to the member.
            sizes: length of each range.

        Returns:
            The bytes of each range, cut at the member's end (``b""`` past it).
        """
        out: list[bytes | None] = [None] * len(offsets)
        todo: list[int] = []
        for i, (start, size) in enumerate(zip(offsets, sizes, strict=True)):
            if start + size <= len(self._head) or size <= 0 or start >= self.size:
                out[i] = self._head[start : start + size] if size > 0 else b""
            else:
                todo.append(i)
        if todo:
            spans = [(offsets[i], min(self.size, offsets[i] + sizes[i])) for i in todo]
            prefetcher = self.archive.prefetcher(self.name)
            readahead = self.archive.tile_readahead(self.name) if prefetcher is None and len(spans) == 1 else None
            one = readahead.read(*spans[0]) if readahead is not None else None
            if one is not None:
                blobs = [one]
            else:
                blobs = prefetcher.get(spans) if prefetcher is not None else self._fetch(spans)
            for i, blob in zip(todo, blobs, strict=True):
                out[i] = blob
        if offsets:
            self._pos = offsets[-1] + sizes[-1]
        return [b if b is not None else b"" for b in out]


class DeflatedMemberFile(io.RawIOBase):
    """A DEFLATED member decompressed as a stream (forward seeks read, backward seeks restart).

    A read inflates only the bytes it returns, so memory stays at about one compressed
    chunk (1 MiB) plus the bytes asked for.
    """

    def __init__(self, archive: ZipArchive, name: str) -> None:
        super().__init__()
        self.archive = archive
        self.name = name
        self._offset, self._csize = archive.data_range(name)
        self.size = archive.member(name).file_size
        self._restart()

    def _restart(self) -> None:
        self._inflater = zlib.decompressobj(-15)
        self._chunks = self.archive.reader.iter_bytes(self._offset, self._offset + self._csize)
        self._buffer = b""
        self._pos = 0  # position of the first byte of _buffer == bytes produced so far - len

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        target = _seek_target(offset, whence, self._pos, self.size)
        if target < self._pos:
            self._restart()
        while self._pos < target:
            skipped = self.read(min(target - self._pos, 1024 * 1024))
            if not skipped:
                break
        return self._pos

    def read(self, size: int | None = -1) -> bytes:
        # Inflate no more than asked for: a MiB of compressed zeros is a GB of output.
        if size is None or size < 0:
            size = self.size - self._pos
        parts = [self._buffer]
        have = len(self._buffer)
        while have < size:
            pending = self._inflater.unconsumed_tail
            chunk = pending if pending else next(self._chunks, None)
            if chunk is None:
                parts.append(self._inflater.flush())
                have += len(parts[-1])
                break
            parts.append(self._inflater.decompress(chunk, size - have))
            have += len(parts[-1])
        buffer = b"".join(parts)
        data, self._buffer = buffer[:size], buffer[size:]
        self._pos += len(data)
        return data

    def readall(self) -> bytes:
        return self.read(-1)

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


MAX_ARCHIVES = IOSettings.max_archives
"""Archives a session keeps by default (:attr:`~pixxel_geo.io.session.IOSettings.max_archives`)."""


@dataclass(frozen=True)
class ResolvedSource:
    """A source made readable: the product archive and the member asked for (if any)."""

    archive: ZipArchive
    member: str | None = None
    catalog_id: str | None = None
    """The catalog, when known (for its STAC item)."""


def _reader_for(source: URLSource, session: IOSession) -> RangeReader:
    open_reader = getattr(source, "open_reader", None)
    if callable(open_reader):  # an object in a cloud store reads through its SDK, not HTTP
        reader: RangeReader = open_reader(session)
        return reader
    return RangeReader(source, session=session)


def _restore_archive(state: dict[str, Any]) -> ZipArchive:
    archive = archive_for(state["source"], session=state.get("session"))
    archive._adopt(state)
    return archive


def archive_for(source: URLSource, session: IOSession | None = None) -> ZipArchive:
    """The session's :class:`ZipArchive` for ``source`` (its directory is read once per session).

    The session keeps its :attr:`~pixxel_geo.io.session.IOSettings.max_archives` most recently
    used archives. A static URL signed again (same path, new query) gets the same archive,
    which then reads with the new URL.

    Args:
        source: the archive's URL source.
        session: whose archives (default: the process's :func:`~pixxel_geo.io.session.default_session`).

    Returns:
        A shared archive object keyed by ``source.key``.

    Example:
        >>> archive_for(StaticURLSource(url)).names()  # doctest: +SKIP
        ['FF01_…_00501045.tif', ...]
    """
    session = session or default_session()
    archive: ZipArchive = session.archives.get_or_create(source.key, lambda: ZipArchive(source, session=session))
    if isinstance(source, StaticURLSource) and source.url != getattr(archive.source, "url", source.url):
        archive.source = source
        archive.reader.use_source(source)
    return archive
