"""Tile read-ahead on a pixel-interleaved product: whole tiles in one round, the next ones ahead."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import rasterio

import pixxel_geo as px
from pixxel_geo.io.archive import archive_for
from pixxel_geo.io.resolve import resolve_source
from pixxel_geo.io.tile_readahead import TileLayout, TileReadAhead
from pixxel_geo.sandbox import Sandbox, SandboxSettings

from .io_helpers import download_members

# 150 bands of 256² tiles: each pixel-interleaved tile is ~12 MB, which GDAL reads tile by tile
# (with 16 bands it reads the whole window in one multi-range call instead).
PIXEL_SETTINGS = SandboxSettings(bands=150, width=512, height=512, count=1, download_seconds=0.1, interleave="pixel")


@pytest.fixture(scope="module")
def pixel_sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    data_dir = tmp_path_factory.mktemp("pixel-sandbox")
    with Sandbox.launch(data_dir=data_dir, token="pixel-token-0123456789", settings=PIXEL_SETTINGS) as sb:
        yield sb


def test_window_tiles_are_fetched_ahead_and_pixels_match(pixel_sandbox: Sandbox, tmp_path: Path) -> None:
    catalog_id = pixel_sandbox.info()["catalog_ids"][0]
    _, tif = download_members(pixel_sandbox, catalog_id, tmp_path)
    with rasterio.open(tif) as ref:
        assert ref.interleaving.name.lower() == "pixel"
        expected = ref.read(window=((0, 512), (0, 512)))
    with px.Client(api_key=pixel_sandbox.token, base_url=pixel_sandbox.url) as client:
        archive = archive_for(resolve_source(catalog_id, client).archive.source)
        member = next(n for n in archive.names() if n.endswith(".tif"))
        with px.open_raster(catalog_id, client=client) as src:
            got = src.read(window=((0, 512), (0, 512)))
            readahead = archive.tile_readahead(member)
        # Closing the raster (its last open file) releases the read-ahead and its cached tiles.
        assert archive.tile_readahead(member) is not readahead
    assert np.array_equal(got, expected)
    assert readahead is not None
    # The 2×2 window: the first tile on demand, the other three fetched before GDAL asked.
    assert readahead.tiles_ahead >= 3
    assert readahead.tiles_fetched == 4


def _layout(across: int, down: int, tile_bytes: int = 300_000) -> TileLayout:
    n = across * down
    return TileLayout(across, down, [1000 + i * tile_bytes for i in range(n)], [tile_bytes] * n)


class CountingFetch:
    def __init__(self) -> None:
        self.calls: list[list[tuple[int, int]]] = []

    def __call__(self, ranges: list[tuple[int, int]]) -> list[bytes]:
        self.calls.append(list(ranges))
        return [bytes((s + k) % 251 for k in range(e - s)) for s, e in ranges]


def _read_tile_like_libtiff(ahead: TileReadAhead, layout: TileLayout, tile: int) -> bytes:
    """libtiff's growing reads of one tile: a first piece, then the rest."""
    off, cnt = layout.offsets[tile], layout.counts[tile]
    first = ahead.read(off, off + 100_000)
    rest = ahead.read(off + 100_000, off + cnt)
    assert first is not None and rest is not None
    return first + rest


def test_a_tile_is_fetched_whole_once_and_a_window_wastes_at_most_one_tile() -> None:
    layout = _layout(4, 4)
    fetch = CountingFetch()
    ahead = TileReadAhead(layout, fetch)
    window = [0, 1, 4, 5]  # a 2×2 window, row by row as GDAL reads it
    for tile in window:
        off, cnt = layout.offsets[tile], layout.counts[tile]
        assert _read_tile_like_libtiff(ahead, layout, tile) == CountingFetch()([(off, off + cnt)])[0]
    fetched = [r for call in fetch.calls for r in call]
    whole = {(layout.offsets[t], layout.offsets[t] + layout.counts[t]) for t in range(16)}
    # Only whole tiles, each at most once, never split into libtiff's pieces.
    assert set(fetched) <= whole and len(fetched) == len(set(fetched))
    wanted = {(layout.offsets[t], layout.offsets[t] + layout.counts[t]) for t in window}
    assert wanted <= set(fetched)
    assert len(set(fetched) - wanted) <= 1
    assert ahead.tiles_ahead == len(fetched) - 1  # all but the first tile came ahead


def test_reads_outside_large_tiles_are_left_to_the_caller() -> None:
    layout = _layout(2, 2)
    ahead = TileReadAhead(layout, CountingFetch())
    assert ahead.read(0, 16) is None  # the header, before the first tile
    assert ahead.read(layout.offsets[0], layout.offsets[1] + 10) is None  # spans two tiles
