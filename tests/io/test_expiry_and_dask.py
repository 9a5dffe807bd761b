"""A URL expiring mid-read is renewed transparently; dask workers (processes) re-resolve."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import numpy as np
import rasterio

import pixxel_geo as px
from pixxel_geo.io.archive import HEAD_BYTES

from .io_helpers import image_path


def test_url_expiring_mid_read_is_renewed(sandbox: Any, client: Any, catalog: Any, local_product: Path) -> None:
    sandbox.set_faults(url_lifetime=1.0)
    download = client.downloads.wait(client.downloads.create(catalog_ids=[catalog.id]).id)
    tif = image_path(local_product)
    with rasterio.open(tif) as ref:
        first = ref.read(1, window=((0, 64), (0, 64)))
        later = ref.read(window=((192, 256), (192, 256)))
    sandbox.reset_requests()
    with px.open_raster(download, client=client) as src:
        assert np.array_equal(src.read(1, window=((0, 64), (0, 64))), first)
        time.sleep(1.5)  # the URL has expired: the next uncached read gets 403, then re-signs
        assert np.array_equal(src.read(window=((192, 256), (192, 256))), later)
    statuses = [r["status"] for r in sandbox.requests("/files/")]
    assert 403 in statuses
    assert statuses[-1] in (200, 206)


def test_dask_distributed_processes_match_numpy(
    sandbox: Any, client: Any, catalog: Any, local_product: Path, monkeypatch: Any
) -> None:
    from dask.distributed import Client as DaskClient
    from dask.distributed import LocalCluster

    # Worker processes import pixxel_geo from the checkout.
    root = str(Path(__file__).resolve().parents[2])
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")])))
    tif = image_path(local_product)
    with rasterio.open(tif) as ref:
        raw = ref.read().astype("float64")
    expected = np.nanmean(np.where(raw == 0, np.nan, raw / 50000), axis=(1, 2))
    member_size = tif.stat().st_size

    cube = px.open_dataset(catalog.id, chunks={"y": 128, "x": 128}, client=client)
    assert cube.data.chunks[0] == (cube.sizes["band"],)  # the whole spectrum in one chunk
    with (
        LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0") as cluster,
        DaskClient(cluster),
    ):
        sandbox.reset_requests()
        result = cube.mean(dim=("y", "x")).compute()
        moved = sum(r["bytes"] for r in sandbox.requests("/files/"))
    np.testing.assert_allclose(result.values, expected, rtol=1e-5)
    # Each tile moves once; each worker also reads the directory and the member's head once.
    assert moved <= 1.1 * member_size + 2 * (HEAD_BYTES + 70_000)
