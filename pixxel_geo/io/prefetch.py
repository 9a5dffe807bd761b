"""Read ahead across bands of a band-interleaved GeoTIFF.

On band-interleaved (``PLANARCONFIG_SEPARATE``) files GDAL reads a window band by
band: one multi-range call per band, each waiting for the last (150 round trips for
a full-spectrum chip). When two consecutive calls ask for the same tiles of
consecutive bands, :class:`BandPrefetcher` fetches the same tiles of the next bands
in one parallel batch (8 bands, then twice as many each time the run continues), so
a full-spectrum read costs a handful of round trips. Reads of scattered bands
(e.g. an RGB triplet) never trigger it, so they move no extra bytes.

The tile table comes from the first IFD of the TIFF (classic or BigTIFF), parsed here.
"""

from __future__ import annotations

import bisect
import struct
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["BandPrefetcher", "TileTable", "parse_tile_table", "read_ifd_tags", "tiff_metadata_end"]

_TYPES = {3: ("H", 2), 4: ("L", 4), 16: ("Q", 8)}
_TYPE_SIZES = {1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 6: 1, 7: 1, 8: 2, 9: 4, 10: 8, 11: 4, 12: 8, 13: 4, 16: 8, 17: 8, 18: 8}
MAX_IFDS = 64
"""IFDs :func:`tiff_metadata_end` follows (a COG has one per overview level and mask)."""
MAX_CACHE_BYTES = 256 * 1024 * 1024
FIRST_STEP = 8


@dataclass(frozen=True)
class TileTable:
    """Tile offsets and sizes of the full-resolution image, per band."""

    bands: int
    tiles_per_band: int
    offsets: list[int]
    counts: list[int]

    def tile(self, band: int, index: int) -> tuple[int, int]:
        i = band * self.tiles_per_band + index
        return self.offsets[i], self.counts[i]


def read_ifd_tags(read: Callable[[int, int], bytes], wanted: set[int]) -> dict[int, list[int]] | None:
    """The integer values of the ``wanted`` tags of a TIFF's first IFD, or ``None`` if not a TIFF.

    Args:
        read: ``read(start, end)`` returns bytes ``[start, end)`` of the TIFF.
        wanted: tag numbers to decode (SHORT, LONG or LONG8 values only).
    """
    header = read(0, 16)
    if header[:2] not in (b"II", b"MM"):
        return None
    order = "<" if header[:2] == b"II" else ">"
    (magic,) = struct.unpack_from(order + "H", header, 2)
    big = magic == 43
    if big:
        (ifd,) = struct.unpack_from(order + "Q", header, 8)
        count_fmt, entry_size, value_size = "Q", 20, 8
    elif magic == 42:
        (ifd,) = struct.unpack_from(order + "L", header, 4)
        count_fmt, entry_size, value_size = "H", 12, 4
    else:
        return None
    n_size = 8 if big else 2
    (n,) = struct.unpack_from(order + count_fmt, read(ifd, ifd + n_size), 0)
    block = read(ifd + n_size, ifd + n_size + n * entry_size)
    tags: dict[int, list[int]] = {}
    for k in range(n):
        base = k * entry_size
        tag, typ = struct.unpack_from(order + "HH", block, base)
        if tag not in wanted or typ not in _TYPES:
            continue
        fmt, size = _TYPES[typ]
        (count,) = struct.unpack_from(order + ("Q" if big else "L"), block, base + 4)
        value_at = base + (12 if big else 8)
        nbytes = count * size
        if nbytes <= value_size:
            raw = block[value_at : value_at + nbytes]
        else:
            (ptr,) = struct.unpack_from(order + ("Q" if big else "L"), block, value_at)
            raw = read(ptr, ptr + nbytes)
        tags[tag] = list(struct.unpack(order + fmt * count, raw))
    return tags


def tiff_metadata_end(read: Callable[[int, int], bytes]) -> int | None:
    """Where a TIFF's directories end: past every IFD of its chain and every tag value they point to.

    Only the IFDs' entries are read, never the values (a COG's tile tables and metadata lie
    before its tiles, so the bytes before this offset are all GDAL reads to open it and find
    its tiles).

    Args:
        read: ``read(start, end)`` returns bytes ``[start, end)`` of the TIFF (it may raise to
            ask its caller for more bytes first).

    Returns:
        The offset just past the last directory byte, or ``None`` if the bytes are not a TIFF.

    Example:
        >>> import struct
        >>> entry = struct.pack("<HHLL", 256, 4, 1, 64)  # one tag, its value in the entry
        >>> tiff = b"II*\\x00" + struct.pack("<LH", 8, 1) + entry + bytes(4)
        >>> tiff_metadata_end(lambda s, e: tiff[s:e])
        26
    """
    header = read(0, 16)
    if header[:2] not in (b"II", b"MM"):
        return None
    order = "<" if header[:2] == b"II" else ">"
    (magic,) = struct.unpack_from(order + "H", header, 2)
    if magic == 43:
        (ifd,) = struct.unpack_from(order + "Q", header, 8)
        count_fmt, n_size, entry_size, value_size, ptr_fmt = "Q", 8, 20, 8, "Q"
    elif magic == 42:
        (ifd,) = struct.unpack_from(order + "L", header, 4)
        count_fmt, n_size, entry_size, value_size, ptr_fmt = "H", 2, 12, 4, "L"
    else:
        return None
    end = 16 if magic == 43 else 8
    seen: set[int] = set()
    while ifd and ifd not in seen and len(seen) < MAX_IFDS:
        seen.add(ifd)
        (n,) = struct.unpack_from(order + count_fmt, read(ifd, ifd + n_size), 0)
        block = read(ifd + n_size, ifd + n_size + n * entry_size + value_size)
        end = max(end, ifd + n_size + n * entry_size + value_size)
        for k in range(n):
            base = k * entry_size
            _tag, typ, count = struct.unpack_from(order + "HH" + ("Q" if magic == 43 else "L"), block, base)
            nbytes = count * _TYPE_SIZES.get(typ, 1)
            if nbytes > value_size:
                (ptr,) = struct.unpack_from(order + ptr_fmt, block, base + entry_size - value_size)
                end = max(end, ptr + nbytes)
        (ifd,) = struct.unpack_from(order + ptr_fmt, block, n * entry_size)
    return end


def parse_tile_table(read: Callable[[int, int], bytes]) -> TileTable | None:
    """The first IFD's tile table, or ``None`` if the file is not a band-separate tiled TIFF.

    Args:
        read: ``read(start, end)`` returns bytes ``[start, end)`` of the TIFF.
    """
    tags = read_ifd_tags(read, {277, 284, 324, 325})
    if tags is None:
        return None
    samples = tags.get(277, [1])[0]
    planar = tags.get(284, [1])[0]
    if planar != 2 or samples < 2 or 324 not in tags or 325 not in tags:
        return None
    offsets, counts = tags[324], tags[325]
    if len(offsets) % samples or len(offsets) != len(counts):
        return None
    return TileTable(samples, len(offsets) // samples, offsets, counts)


class _Prediction(threading.local):
    """One thread's run of band-by-band reads (threads read different windows)."""

    def __init__(self) -> None:
        self.last: tuple[int, tuple[tuple[int, int, int, int], ...]] | None = None
        self.ahead_to = -1
        self.step = FIRST_STEP


class BandPrefetcher:
    """Predicts and prefetches the next bands' tiles of a band-by-band read.

    Thread-safe: each thread's reads are predicted on their own, the cache is shared, and
    no lock is held while fetching (parallel reads of one product stay parallel).

    Args:
        table: the TIFF's tile table.
        fetch: ``fetch(ranges)`` fetches ``[start, end)`` ranges (member offsets) in parallel.
    """

    def __init__(self, table: TileTable, fetch: Callable[[list[tuple[int, int]]], list[bytes]]):
        self.table = table
        self._fetch = fetch
        self._lock = threading.Lock()
        order = sorted(range(len(table.offsets)), key=table.offsets.__getitem__)
        self._starts = [table.offsets[i] for i in order]
        self._index = order
        self._cache: OrderedDict[int, tuple[int, bytes]] = OrderedDict()
        self._cache_bytes = 0
        self._prediction = _Prediction()

    def _locate(self, start: int, end: int) -> tuple[int, int, int, int] | None:
        """(band, first tile, tiles, lead) for a range covering consecutive tiles of one band."""
        k = bisect.bisect_left(self._starts, start)
        if k >= len(self._starts) or self._starts[k] - start > 16:
            return None
        flat = self._index[k]
        band, tile = divmod(flat, self.table.tiles_per_band)
        lead = self._starts[k] - start
        n = 0
        while tile + n < self.table.tiles_per_band:
            off, cnt = self.table.tile(band, tile + n)
            n += 1
            if off + cnt >= end - 16:
                return band, tile, n, lead
        return None

    def _predict(self, band: int, shape: tuple[int, int, int, int], end_pad: int) -> tuple[int, int]:
        _, tile, n, lead = shape
        first, _ = self.table.tile(band, tile)
        last_off, last_cnt = self.table.tile(band, tile + n - 1)
        return first - lead, last_off + last_cnt + end_pad

    def _take(self, start: int, end: int) -> bytes | None:
        hit = self._cache.get(start)
        if hit is None or hit[0] < end:
            return None
        del self._cache[start]
        self._cache_bytes -= len(hit[1])
        return hit[1][: end - start]

    def _plan(self, ranges: list[tuple[int, int]]) -> list[tuple[int, int]]:
        """The ranges to read ahead after ``ranges`` (this thread's prediction)."""
        state = self._prediction
        shapes = [self._locate(s, e) for s, e in ranges]
        extra: list[tuple[int, int]] = []
        if not (all(shapes) and len({sh[0] for sh in shapes if sh}) == 1):
            state.last = None
            return extra
        band = shapes[0][0]  # type: ignore[index]
        key = tuple((sh[1], sh[2], sh[3], 0) for sh in shapes if sh)
        pads = [
            e - (self.table.tile(band, sh[1] + sh[2] - 1)[0] + self.table.tile(band, sh[1] + sh[2] - 1)[1])
            for (s, e), sh in zip(ranges, shapes, strict=True)
            if sh
        ]  # fmt: skip
        if state.last is not None and state.last == (band - 1, key):
            if band >= state.ahead_to:
                stop = min(self.table.bands, band + 1 + state.step)
                for b in range(max(band + 1, state.ahead_to + 1), stop):
                    for sh, pad in zip(shapes, pads, strict=True):
                        extra.append(self._predict(b, sh, pad))  # type: ignore[arg-type]
                state.ahead_to = stop - 1
                state.step *= 2
        else:
            state.step = FIRST_STEP
            state.ahead_to = band
        state.last = (band, key)
        return extra

    def get(self, ranges: list[tuple[int, int]]) -> list[bytes]:
        """Bytes for ``ranges`` (member offsets, end exclusive), prefetching ahead when useful."""
        extra = self._plan(ranges)  # thread-local state: no lock needed
        with self._lock:
            out: list[bytes | None] = [self._take(s, e) for s, e in ranges]
            extra = [(s, e) for s, e in extra if s not in self._cache]
        missing = [i for i, b in enumerate(out) if b is None]
        wanted = [ranges[i] for i in missing] + extra
        blobs = self._fetch(wanted) if wanted else []
        for i, blob in zip(missing, blobs, strict=False):
            out[i] = blob
        if extra:
            with self._lock:
                for (s, e), blob in zip(extra, blobs[len(missing) :], strict=True):
                    old = self._cache.pop(s, None)
                    if old is not None:
                        self._cache_bytes -= len(old[1])
                    self._cache[s] = (e, blob)
                    self._cache_bytes += len(blob)
                while self._cache_bytes > MAX_CACHE_BYTES and self._cache:
                    _, (_, evicted) = self._cache.popitem(last=False)
                    self._cache_bytes -= len(evicted)
        return [b if b is not None else b"" for b in out]
