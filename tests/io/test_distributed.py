"""A stack computed on dask.distributed process workers: one download per product, and URLs
that expire mid-job are re-signed (GET, never a new POST)."""

from __future__ import annotations

import gc
import os
import pickle
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import pixxel_geo as px
from pixxel_geo.io import api_sources as sources
from pixxel_geo.io.resolve import resolve_source
from pixxel_geo.io.session import IOSession
from pixxel_geo.sandbox import Sandbox, SandboxSettings

SETTINGS = SandboxSettings(bands=16, width=256, height=256, count=1, download_seconds=0.2, timeseries=True)
"""One ordinary scene plus the season over one farm (seven scenes)."""


@pytest.fixture(scope="module")
def season_sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    data_dir = tmp_path_factory.mktemp("season-sandbox")
    with Sandbox.launch(data_dir=data_dir, token="season-token-0123456789", settings=SETTINGS) as sb:
        yield sb


@pytest.fixture
def season_client(season_sandbox: Sandbox) -> Iterator[Any]:
    with px.Client(api_key=season_sandbox.token, base_url=season_sandbox.url) as c:
        yield c
    season_sandbox.clear_faults()


def _same_place(client: Any) -> list[Any]:
    """The season's first three dates over the farm (one band set, one grid), oldest first."""
    season = sorted(
        (c for c in client.catalogs.search(limit=50) if c.details["id"].startswith("FF04_")),
        key=lambda c: c.properties["datetime"],
    )
    return season[:3]


def _posts(sandbox: Sandbox) -> list[dict[str, Any]]:
    return [r for r in sandbox.requests("/v0/catalogs/download") if r["method"] == "POST"]


def test_catalog_source_pickles_its_download(season_sandbox: Sandbox, season_client: Any) -> None:
    catalog = _same_place(season_client)[0]
    session = IOSession()
    source = sources.CatalogURLSource(catalog.id, season_client.config, client=season_client, session=session)
    made = source.download_id()
    payload = pickle.dumps(source)
    token = session.token
    del source, session  # as in a fresh worker process: the session is gone, nothing cached
    gc.collect()
    season_sandbox.reset_requests()
    clone = pickle.loads(payload)
    assert clone.session.token == token  # an equivalent session, made empty on unpickling...
    assert clone.download_id() == made  # ...which learns the download from the pickle
    assert clone.signed_url(fresh=True).startswith(season_sandbox.url)
    assert _posts(season_sandbox) == []
    assert [r["path"] for r in season_sandbox.requests("/v0/catalogs/download/")] == [f"/v0/catalogs/download/{made}"]


def test_stack_on_process_workers_one_download_per_product_and_expiry(
    season_sandbox: Sandbox, season_client: Any, monkeypatch: pytest.MonkeyPatch, io_session: IOSession
) -> None:
    from dask.distributed import Client as DaskClient
    from dask.distributed import LocalCluster

    root = str(Path(__file__).resolve().parents[2])  # worker processes import this checkout
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")])))
    catalogs = _same_place(season_client)
    ids = [c.id for c in catalogs]
    assert not io_session.download_ids  # a fresh session: no downloads made for these catalogs yet
    season_sandbox.reset_requests()
    cube = px.stack(ids, mask=None, client=season_client)
    posts_at_stack = len(_posts(season_sandbox))
    expected = [
        px.open_dataset(c.id, chunks=True, client=season_client).sel(band=860, method="nearest").mean().compute()
        for c in catalogs
    ]
    # Every URL handed out from now on lives 1 s. The workers read once (and keep the URLs they
    # got), the URLs expire, and then *each* worker reads every product: whichever worker read a
    # product the first time now holds an expired URL for it, meets a 403 and must re-sign.
    # (Letting the scheduler place the second read would let a worker read only products it never
    # signed for, and then no URL would be refused.)
    season_sandbox.set_faults(url_lifetime=1.0)
    means = cube.sel(band=860, method="nearest").mean(("y", "x"))
    with (
        LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0") as cluster,
        DaskClient(cluster) as dask_client,
    ):
        first = means.compute()
        time.sleep(1.5)
        workers = list(dask_client.scheduler_info()["workers"])
        again = [dask_client.compute(means, workers=[w], allow_other_workers=False).result() for w in workers]
    assert len(workers) == 2
    for result in again:
        np.testing.assert_allclose(first.values, result.values)
    files = season_sandbox.requests("/files/")
    resigns = [r for r in season_sandbox.requests("/v0/catalogs/download/") if r["method"] == "GET"]
    assert posts_at_stack == len(ids)
    assert len(_posts(season_sandbox)) == len(ids)  # workers never POST
    assert any(r["status"] == 403 for r in files)  # URLs expired mid-job...
    assert len(resigns) >= 2  # ...and were re-signed with GET /v0/catalogs/download/{id}
    assert {r["path"].rsplit("/", 1)[-1] for r in resigns} <= {
        sources.CatalogURLSource(i, season_client.config).download_id() for i in ids
    }
    assert files[-1]["status"] in (200, 206)
    # The grid is the first product's, which all three share: each step is that product's own mean.
    np.testing.assert_allclose(first.values, [float(e) for e in expected], rtol=1e-5)


def test_workers_are_warmed_with_the_archives_and_sign_each_url_once(
    season_sandbox: Sandbox, season_client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dask.distributed import Client as DaskClient
    from dask.distributed import LocalCluster

    from pixxel_geo.io.stack import warm_workers

    root = str(Path(__file__).resolve().parents[2])  # worker processes import this checkout
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")])))
    ids = [c.id for c in _same_place(season_client)]
    archives = [resolve_source(i, season_client).archive for i in ids]
    made = {sources.CatalogURLSource(i, season_client.config).download_id() for i in ids}
    for archive in archives:
        archive.members  # noqa: B018  (the directory travels with the archive)
    season_sandbox.reset_requests()
    with (
        LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0") as cluster,
        DaskClient(cluster),
    ):
        assert warm_workers(archives) == 2
        wanted = 2 * len(ids)  # each worker signs each product's URL once, before any task needs it
        for _ in range(600):
            signed = [r for r in season_sandbox.requests("/v0/catalogs/download/") if r["method"] == "GET"]
            if len(signed) >= wanted:
                break
            time.sleep(0.05)
    assert len(signed) == wanted
    assert {r["path"].rsplit("/", 1)[-1] for r in signed} == made  # the downloads this process made
    assert _posts(season_sandbox) == []  # never a new download
    assert season_sandbox.requests("/files/") == []  # the directories came with the archives
