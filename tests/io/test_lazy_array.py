"""open_dataset's lazy array: scattered picks read only the tiles that hold them (counted by the
sandbox's request log)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import rasterio

import pixxel_geo as px
from pixxel_geo.sandbox import Sandbox, SandboxSettings

from .io_helpers import download_members

# 4 × 4 tiles of 256 px: the corners are in 4 of the 16 tiles.
CORNER_SETTINGS = SandboxSettings(bands=16, width=1024, height=1024, count=1, download_seconds=0.1)


@pytest.fixture(scope="module")
def corner_sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    data_dir = tmp_path_factory.mktemp("corner-sandbox")
    with Sandbox.launch(data_dir=data_dir, token="corner-token-0123456789", settings=CORNER_SETTINGS) as sb:
        yield sb


def test_scattered_picks_read_only_their_tiles(corner_sandbox: Sandbox, tmp_path: Path) -> None:
    [catalog_id] = corner_sandbox.info()["catalog_ids"]
    _, tif = download_members(corner_sandbox, catalog_id, tmp_path)
    raster_bytes = tif.stat().st_size
    with rasterio.open(tif) as ref:
        full = ref.read()
    with px.Client(api_key=corner_sandbox.token, base_url=corner_sandbox.url) as client:
        cube = px.open_dataset(catalog_id, client=client, mask_and_scale=False)
        corner_sandbox.reset_requests()
        corners = cube.isel(x=[0, 1023], y=[0, 1023]).values
        moved = sum(r["bytes"] for r in corner_sandbox.requests("/files/"))
        # Close picks still read as one window, and unsorted or repeated picks land in place.
        rows, cols = [700, 5, 1023, 5], [3, 1000, 260]
        mixed = cube.isel(y=rows, x=cols).values
        strided = cube.isel(band=[2, 0], y=slice(0, 1024, 100), x=slice(1, 1024, 7)).values
    assert np.array_equal(corners, full[:, [0, 1023]][:, :, [0, 1023]])
    assert np.array_equal(mixed, full[:, rows][:, :, cols])
    assert np.array_equal(strided, full[[2, 0], 0:1024:100, 1:1024:7])
    # 4 of 16 tiles per band (plus the header): a quarter of the raster at most, not all of it.
    assert moved <= 0.3 * raster_bytes, f"moved {moved} bytes for 4 pixels of a {raster_bytes}-byte raster"
