"""Issue 5's byte budget: a whole-cube reduction with default chunks on a LocalCluster of worker
processes moves at most 1.1x the product's bytes (counted by the sandbox's request log)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import rasterio

import pixxel_geo as px
from pixxel_geo.sandbox import Sandbox, SandboxSettings

from .io_helpers import download_members

# 150 bands (denser than the 45 Firefly delivers, to make chunks big) x 768^2: default chunks (~128 MiB, whole spectrum, 512-px sides)
# split it into 4 chunks, so both workers read; the zip is ~140 MB.
BUDGET_SETTINGS = SandboxSettings(bands=150, width=768, height=768, count=1, download_seconds=0.1)


@pytest.fixture(scope="module")
def budget_sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    data_dir = tmp_path_factory.mktemp("budget-sandbox")
    with Sandbox.launch(data_dir=data_dir, token="budget-token-0123456789", settings=BUDGET_SETTINGS) as sb:
        yield sb


def test_whole_cube_mean_on_worker_processes_moves_at_most_1_1x_the_product(
    budget_sandbox: Sandbox, tmp_path: Path, monkeypatch: Any
) -> None:
    from dask.distributed import Client as DaskClient
    from dask.distributed import LocalCluster

    # Worker processes import pixxel_geo from the checkout.
    root = str(Path(__file__).resolve().parents[2])
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")])))
    [catalog_id] = budget_sandbox.info()["catalog_ids"]
    _, tif = download_members(budget_sandbox, catalog_id, tmp_path)
    product_bytes = (tmp_path / "product.zip").stat().st_size
    with rasterio.open(tif) as ref:
        expected = np.array([np.nanmean(np.where(b == 0, np.nan, b / 50000)) for b in ref.read()])

    with px.Client(api_key=budget_sandbox.token, base_url=budget_sandbox.url) as client:
        cube = px.open_dataset(catalog_id, chunks=True, client=client)
        chunks = cube.data.chunks
        assert chunks[0] == (150,) and len(chunks[1]) * len(chunks[2]) >= 4
        with (
            LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0") as cluster,
            DaskClient(cluster),
        ):
            budget_sandbox.reset_requests()
            result = cube.mean(dim=("y", "x")).compute()
            moved = sum(r["bytes"] for r in budget_sandbox.requests("/files/"))
    np.testing.assert_allclose(result.values, expected, rtol=1e-5)
    assert moved <= 1.1 * product_bytes, f"moved {moved} bytes for a {product_bytes}-byte product"
    # Every full-resolution tile went over HTTP to the workers; the overviews (~1/4 of the file) are not needed.
    assert moved >= 0.6 * product_bytes
