"""Read ahead across the tiles of a pixel-interleaved GeoTIFF window.

On pixel-interleaved (``PLANARCONFIG_CONTIG``) files a tile holds every band, so a
150-band tile is several MB. GDAL (libtiff) reads one tile at a time, in growing
pieces (1 MiB, then 10 MiB, then the rest: three round trips), then decodes it on
the calling thread before asking for the next tile. :class:`TileReadAhead` fetches a
whole tile in one parallel round as soon as its first piece is asked for, and
meanwhile starts fetching the tiles GDAL will most likely want next: in the first
row of a run, the tile to the right and the tile below; in later rows, the tile to
the right while it stays inside the width seen in the first row. So a window's tiles
download while GDAL decodes, and at most one tile to the right of the window is
fetched for nothing.

Example:
    >>> ahead = TileReadAhead(layout, fetch)  # doctest: +SKIP
    >>> ahead.read(offset, offset + 1024 * 1024)  # fetches the whole tile, and the next ones  # doctest: +SKIP
"""

from __future__ import annotations

import bisect
import threading
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import Executor, Future
from dataclasses import dataclass

from pixxel_geo.io.prefetch import read_ifd_tags
from pixxel_geo.io.session import default_session

__all__ = ["TileLayout", "TileReadAhead", "parse_tile_layout"]

MAX_CACHE_BYTES = 256 * 1024 * 1024
MIN_TILE_BYTES = 256 * 1024
"""Tiles smaller than this are fetched in one round trip anyway: no read-ahead for them."""


@dataclass(frozen=True)
class TileLayout:
    """The full-resolution tile grid of a pixel-interleaved tiled TIFF."""

    tiles_across: int
    tiles_down: int
    offsets: list[int]
    counts: list[int]


def parse_tile_layout(read: Callable[[int, int], bytes]) -> TileLayout | None:
    """The first IFD's tile grid, or ``None`` if not a pixel-interleaved tiled TIFF with large tiles.

    Args:
        read: ``read(start, end)`` returns bytes ``[start, end)`` of the TIFF.
    """
    tags = read_ifd_tags(read, {256, 257, 284, 322, 323, 324, 325})
    if tags is None or tags.get(284, [1])[0] != 1:
        return None
    if not all(t in tags for t in (256, 257, 322, 323, 324, 325)):
        return None
    across = -(-tags[256][0] // max(1, tags[322][0]))
    down = -(-tags[257][0] // max(1, tags[323][0]))
    offsets, counts = tags[324], tags[325]
    if len(offsets) != across * down or len(counts) != len(offsets):
        return None
    if max(counts, default=0) < MIN_TILE_BYTES:
        return None
    return TileLayout(across, down, offsets, counts)


class _Run(threading.local):
    """One thread's run of tile reads (row, first column, widest column of its first row)."""

    def __init__(self) -> None:
        self.last: tuple[int, int] | None = None
        self.first_row = -1
        self.first_col = -1
        self.last_col = -1


class TileReadAhead:
    """Serves reads of whole tiles from one parallel fetch, and fetches the next tiles ahead.

    Thread-safe; each thread's run of tiles is predicted on its own.

    Args:
        layout: the TIFF's tile grid.
        fetch: ``fetch(ranges)`` fetches ``[start, end)`` ranges (member offsets) in parallel.
        executor: runs the fetches ahead (default: the default session's read-ahead threads;
            never the pool ``fetch`` runs its ranges on, which a tile fetch waits for).
    """

    def __init__(
        self,
        layout: TileLayout,
        fetch: Callable[[list[tuple[int, int]]], list[bytes]],
        executor: Executor | None = None,
    ) -> None:
        self.layout = layout
        self._fetch = fetch
        self._executor = executor
        self._lock = threading.Lock()
        order = sorted(range(len(layout.offsets)), key=layout.offsets.__getitem__)
        self._starts = [layout.offsets[i] for i in order]
        self._index = order
        self._tiles: OrderedDict[int, Future[bytes]] = OrderedDict()
        self._run = _Run()
        self.tiles_fetched = 0
        """Whole tiles fetched so far (on demand or ahead)."""
        self.tiles_ahead = 0
        """Tiles fetched ahead, before GDAL asked for them."""

    def _background(self) -> Executor:
        return self._executor if self._executor is not None else default_session().readahead_executor()

    def _tile_at(self, start: int, end: int) -> int | None:
        """The tile whose bytes hold ``[start, end)``, if any."""
        k = bisect.bisect_right(self._starts, start) - 1
        if k < 0:
            return None
        tile = self._index[k]
        off, cnt = self.layout.offsets[tile], self.layout.counts[tile]
        if cnt < MIN_TILE_BYTES or end > off + cnt:
            return None
        return tile

    def _fetch_tile(self, tile: int) -> bytes:
        off, cnt = self.layout.offsets[tile], self.layout.counts[tile]
        return self._fetch([(off, off + cnt)])[0]

    def _start(self, tile: int, background: bool) -> Future[bytes] | None:
        """The tile's future (a new one if not cached). Call under the lock."""
        future = self._tiles.get(tile)
        if future is not None:
            self._tiles.move_to_end(tile)
            return None
        future = Future() if not background else self._background().submit(self._fetch_tile, tile)
        self._tiles[tile] = future
        self.tiles_fetched += 1
        self.tiles_ahead += background
        cached = sum(self.layout.counts[t] for t in self._tiles)
        while cached > MAX_CACHE_BYTES and len(self._tiles) > 1:
            old, _ = self._tiles.popitem(last=False)
            cached -= self.layout.counts[old]
        return future

    def _plan(self, tile: int) -> list[int]:
        """The tiles to fetch ahead after a read of ``tile`` (this thread's run)."""
        across, down = self.layout.tiles_across, self.layout.tiles_down
        row, col = divmod(tile, across)
        run = self._run
        if run.last == (row, col):
            return []
        continues = run.last is not None and (
            (row == run.last[0] and col == run.last[1] + 1) or (row == run.last[0] + 1 and col == run.first_col)
        )
        if not continues:
            run.first_row, run.first_col, run.last_col = row, col, col
        run.last = (row, col)
        ahead = []
        if row == run.first_row:
            run.last_col = max(run.last_col, col)
            if col + 1 < across:
                ahead.append(tile + 1)
            if row + 1 < down:
                ahead.append(tile + across)
        elif col + 1 <= run.last_col:
            ahead.append(tile + 1)
        return ahead

    def read(self, start: int, end: int) -> bytes | None:
        """Bytes ``[start, end)`` of the member if they lie in one large tile, else ``None``.

        The first read of a tile fetches the whole tile (one parallel round) and starts
        fetching the predicted next tiles in the background.
        """
        tile = self._tile_at(start, end)
        if tile is None:
            return None
        ahead = self._plan(tile)
        with self._lock:
            own = self._start(tile, background=False)
            future = self._tiles[tile]
            for t in ahead:
                self._start(t, background=True)
        if own is not None:
            try:
                own.set_result(self._fetch_tile(tile))
            except BaseException as exc:
                own.set_exception(exc)
                with self._lock:
                    if self._tiles.get(tile) is own:
                        del self._tiles[tile]
                raise
        try:
            data = future.result()
        except Exception:
            with self._lock:
                if self._tiles.get(tile) is future:
                    del self._tiles[tile]
            data = self._fetch_tile(tile)  # a failed read-ahead: try once more on demand
        off, cnt = self.layout.offsets[tile], self.layout.counts[tile]
        if end >= off + cnt:
            # GDAL has read the tile's end: it will not come back for it.
            with self._lock:
                if self._tiles.get(tile) is future:
                    del self._tiles[tile]
        return data[start - off : end - off]
