"""A stack computed on dask.distributed process workers: one download per product, and URLs
that expire mid-job are re-signed (GET, never a new POST)."""

from __future__ import annotations

import os
import pickle
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import pixxel_geo as px
from pixxel_geo.io import sources
from pixxel_geo.sandbox import Sandbox, SandboxSettings

SETTINGS = SandboxSettings(bands=16, width=256, height=256, count=8, download_seconds=0.2)
"""Eight scenes: the first two places are revisited a season later (catalogs 0/6 and 1/7)."""


@pytest.fixture(scope="module")
def revisit_sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    data_dir = tmp_path_factory.mktemp("revisit-sandbox")
    with Sandbox.launch(data_dir=data_dir, token="revisit-token-0123456789", settings=SETTINGS) as sb:
        yield sb


@pytest.fixture
def revisit_client(revisit_sandbox: Sandbox) -> Iterator[Any]:
    with px.Client(api_key=revisit_sandbox.token, base_url=revisit_sandbox.url) as c:
        yield c
    revisit_sandbox.clear_faults()


def _same_place(client: Any) -> list[Any]:
    """Catalogs over the first place (two dates), oldest first."""
    catalogs = list(client.catalogs.search(limit=20))
    first = min(catalogs, key=lambda c: c.properties["datetime"])
    bbox = first.details["bbox"]
    same = [c for c in catalogs if np.allclose(c.details["bbox"], bbox, atol=1e-4)]
    assert len(same) >= 2
    return sorted(same, key=lambda c: c.properties["datetime"])


def _posts(sandbox: Sandbox) -> list[dict[str, Any]]:
    return [r for r in sandbox.requests("/v0/catalogs/download") if r["method"] == "POST"]


def test_catalog_source_pickles_its_download(revisit_sandbox: Sandbox, revisit_client: Any) -> None:
    catalog = _same_place(revisit_client)[0]
    source = sources.CatalogURLSource(catalog.id, revisit_client.config, client=revisit_client)
    made = source.download_id()
    payload = pickle.dumps(source)
    with sources._lock:  # as in a fresh worker process: nothing cached
        sources._download_ids.pop(source._cache_key, None)
    revisit_sandbox.reset_requests()
    clone = pickle.loads(payload)
    assert clone.download_id() == made
    assert clone.signed_url(fresh=True).startswith(revisit_sandbox.url)
    assert _posts(revisit_sandbox) == []
    assert [r["path"] for r in revisit_sandbox.requests("/v0/catalogs/download/")] == [f"/v0/catalogs/download/{made}"]


def test_stack_on_process_workers_one_download_per_product_and_expiry(
    revisit_sandbox: Sandbox, revisit_client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dask.distributed import Client as DaskClient
    from dask.distributed import LocalCluster

    root = str(Path(__file__).resolve().parents[2])  # worker processes import this checkout
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")])))
    catalogs = _same_place(revisit_client)
    ids = [c.id for c in catalogs]
    with sources._lock:  # this process has not made downloads for these catalogs yet
        for key in [k for k in sources._download_ids if k[3] in ids]:
            del sources._download_ids[key]
    revisit_sandbox.reset_requests()
    cube = px.stack(ids, mask=None, client=revisit_client)
    posts_at_stack = len(_posts(revisit_sandbox))
    expected = [
        px.open_dataset(c.id, chunks=True, client=revisit_client).sel(band=860, method="nearest").mean().compute()
        for c in catalogs
    ]
    # Every URL handed out from now on lives at most 1 s, and each request waits 0.1 s: a
    # worker's URL expires while it reads (403), and it must re-sign.
    revisit_sandbox.set_faults(url_lifetime=1.0, latency=0.1)
    means = cube.sel(band=860, method="nearest").mean(("y", "x"))
    with (
        LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster,
        DaskClient(cluster),
    ):
        result = means.compute()
    files = revisit_sandbox.requests("/files/")
    resigns = [r for r in revisit_sandbox.requests("/v0/catalogs/download/") if r["method"] == "GET"]
    assert posts_at_stack == len(ids)
    assert len(_posts(revisit_sandbox)) == len(ids)  # workers never POST
    assert any(r["status"] == 403 for r in files)  # URLs expired mid-job...
    assert len(resigns) >= 2  # ...and were re-signed with GET /v0/catalogs/download/{id}
    assert {r["path"].rsplit("/", 1)[-1] for r in resigns} <= {
        sources.CatalogURLSource(i, revisit_client.config).download_id() for i in ids
    }
    assert files[-1]["status"] in (200, 206)
    # The grid is the first product's: each time step is that product's own mean.
    np.testing.assert_allclose(result.values, [float(e) for e in expected], rtol=1e-5)
