"""The public surface: exports, sync/async parity, a light import."""

from __future__ import annotations

import inspect
import os
import subprocess
import sys

import pixxel_geo as px
from pixxel_geo.api import catalogs, deliveries, downloads, order_items, stores


def test_all_is_sorted_and_resolvable():
    assert px.__all__ == sorted(px.__all__)
    for name in px.__all__:  # the lazy imagery names included: they import on first use
        assert hasattr(px, name), name


RESOURCES = [
    (stores.Stores, stores.AsyncStores),
    (catalogs.Catalogs, catalogs.AsyncCatalogs),
    (order_items.OrderItems, order_items.AsyncOrderItems),
    (deliveries.Deliveries, deliveries.AsyncDeliveries),
    (downloads.Downloads, downloads.AsyncDownloads),
]


def _public_methods(cls: type) -> dict[str, inspect.Signature]:
    return {
        name: inspect.signature(member)
        for name, member in inspect.getmembers(cls, inspect.isfunction)
        if not name.startswith("_")
    }


def test_sync_and_async_resources_have_identical_signatures():
    for sync_cls, async_cls in RESOURCES:
        sync_methods, async_methods = _public_methods(sync_cls), _public_methods(async_cls)
        assert sync_methods.keys() == async_methods.keys(), sync_cls
        for name, signature in sync_methods.items():
            assert list(signature.parameters.values()) == list(async_methods[name].parameters.values()), (
                f"{sync_cls.__name__}.{name}"
            )


def test_clients_have_identical_public_methods():
    sync_methods = _public_methods(px.Client)
    async_methods = _public_methods(px.AsyncClient)
    rename = {"close": "aclose"}
    for name, signature in sync_methods.items():
        twin = async_methods[rename.get(name, name)]
        if name == "__init__":
            continue
        assert list(signature.parameters) == list(twin.parameters), name
    client = px.Client(api_key="k", base_url="http://127.0.0.1:9")
    aclient = px.AsyncClient(api_key="k", base_url="http://127.0.0.1:9")
    for resource in ("stores", "catalogs", "order_items", "deliveries", "downloads"):
        assert hasattr(client, resource) and hasattr(aclient, resource)
    client.close()


def test_import_is_light():
    """`import pixxel_geo` loads no numpy, rasterio, xarray, ipywidgets or Qt."""
    env = {**os.environ, "PYTHONPATH": os.getcwd()}
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", "import pixxel_geo"],
        capture_output=True, text=True, check=True, env=env,
    )  # fmt: skip
    imported = {line.split("|")[-1].strip().split(".")[0] for line in result.stderr.splitlines() if "|" in line}
    assert "pixxel_geo" in imported
    heavy = {"numpy", "rasterio", "xarray", "ipywidgets", "PyQt5", "qgis", "geopandas", "fsspec", "dask"}
    assert not heavy & imported, heavy & imported


def test_lazy_imagery_names_resolve_to_functions():
    """``px.quicklook`` etc. are the functions, even after their submodules were imported."""
    import importlib

    importlib.import_module("pixxel_geo.io.quicklook")
    for name in (
        "gdal_path",
        "open_dataset",
        "open_raster",
        "quicklook",
        "read_footprints",
        "read_vector",
        "spectrum",
    ):
        assert callable(getattr(px, name)) and inspect.isfunction(getattr(px, name)), name


def test_the_core_client_has_no_download_and_px_client_extends_it():
    """``pixxel_geo.api`` speaks the API only (the QGIS plugin vendors it); ``px.Client`` adds download."""
    from pixxel_geo import api

    assert not hasattr(api.Client, "download") and not hasattr(api.AsyncClient, "download")
    assert issubclass(px.Client, api.Client) and issubclass(px.AsyncClient, api.AsyncClient)
    assert inspect.iscoroutinefunction(px.AsyncClient.download)
    with px.Client(api_key="k", base_url="http://127.0.0.1:9") as client:
        clone = px.Client.from_config(client.config)
        assert type(clone) is px.Client and isinstance(clone, api.Client)
        clone.close()


def test_async_resources_are_the_sync_methods_awaited():
    """One body per resource method: the async facade's methods wrap the sync ones (same signature and doc)."""
    for sync_cls, async_cls in RESOURCES:
        for name in _public_methods(async_cls):
            twin = getattr(async_cls, name)
            assert twin.__wrapped__ is getattr(sync_cls, name) and twin.__doc__ == getattr(sync_cls, name).__doc__
            iterates = name in {"search"} or (name == "list" and async_cls is order_items.AsyncOrderItems)
            assert inspect.iscoroutinefunction(twin) is not iterates, f"{async_cls.__name__}.{name}"
