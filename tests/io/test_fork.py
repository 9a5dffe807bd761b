"""A process forked while a parent thread is fetching a tile ahead can still read the product."""

from __future__ import annotations

import multiprocessing
import os
import threading
import time
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import rasterio
from affine import Affine

import pixxel_geo as px
from pixxel_geo.io.archive import archive_for
from pixxel_geo.io.reader import StaticURLSource

# Pixel-interleaved 256-px tiles of 8 uint16 bands: 1 MiB each, large enough for tile read-ahead.
SHAPE = (8, 512, 512)


@pytest.fixture(scope="module")
def pixel_zip(range_server: str, served_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[str, np.ndarray]:
    data = np.arange(np.prod(SHAPE), dtype=np.uint32).reshape(SHAPE).astype(np.uint16)
    tif = tmp_path_factory.mktemp("fork") / "scene.tif"
    profile = {"driver": "GTiff", "count": SHAPE[0], "height": SHAPE[1], "width": SHAPE[2], "dtype": "uint16"}
    profile.update(tiled=True, blockxsize=256, blockysize=256, interleave="pixel", crs="EPSG:32643")
    profile["transform"] = Affine(30, 0, 500_000, 0, -30, 2_000_000)
    with rasterio.open(tif, "w", **profile) as dst:
        dst.write(data)
    with zipfile.ZipFile(served_dir / "fork.zip", "w", zipfile.ZIP_STORED) as zf:
        zf.write(tif, "scene.tif")
    return f"{range_server}/fork.zip?sig=secret", data


def _child_reads(url: str, expected: np.ndarray, results: Any) -> None:
    with px.open_raster(url) as src:
        got = src.read(window=((0, 256), (0, 256)))
    results.put(bool(np.array_equal(got, expected[:, :256, :256])))


@pytest.mark.filterwarnings("ignore:This process .* is multi-threaded:DeprecationWarning")
def test_a_forked_child_does_not_wait_for_the_parents_read_ahead(pixel_zip: tuple[str, np.ndarray]) -> None:
    url, expected = pixel_zip
    archive = archive_for(StaticURLSource(url))
    archive.data_range("scene.tif")
    readahead = archive.tile_readahead("scene.tif")
    assert readahead is not None
    # A parent thread starts fetching tile 0 (and the next ones ahead) and is held mid-fetch.
    parent, gate, fetch = os.getpid(), threading.Event(), archive.reader.read_ranges

    def held(ranges: list[tuple[int, int]]) -> list[bytes]:
        if os.getpid() == parent:
            gate.wait()
        return fetch(ranges)

    archive.reader.read_ranges = held  # type: ignore[method-assign]
    start, count = readahead.layout.offsets[0], readahead.layout.counts[0]
    reader = threading.Thread(target=readahead.read, args=(start, start + count))
    reader.start()
    try:
        while 0 not in readahead._tiles:
            time.sleep(0.01)
        context = multiprocessing.get_context("fork")
        results = context.SimpleQueue()
        child = context.Process(target=_child_reads, args=(url, expected, results))
        child.start()
        child.join(120)  # a hang guard, not a timing check: the child waits forever without the fix
        if child.is_alive():
            child.terminate()
            child.join()
            pytest.fail("the forked child hung on the parent's read-ahead")
        assert child.exitcode == 0 and results.get() is True
    finally:
        gate.set()
        reader.join()
        archive.reader.read_ranges = fetch  # type: ignore[method-assign]
