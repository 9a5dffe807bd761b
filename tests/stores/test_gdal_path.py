"""px.gdal_path(delivery) gives GDAL's own store path (/vsizip//vsis3|vsigs|vsiaz/…), which GDAL
opens with the store's standard configuration (here: the emulators' endpoints and keys)."""

from __future__ import annotations

import uuid
from typing import Any

import numpy as np
import pytest
import rasterio
from rasterio.session import AWSSession

import pixxel_geo as px
from pixxel_geo.io.gdal_options import vsizip_store_path
from pixxel_geo.io.stores import DeliverySource
from pixxel_geo.sandbox import Sandbox
from tests.stores.conftest import STORE_TYPES, reader_options, store_secrets

KINDS = ("s3", "gcs", "azure")
PREFIX = {"s3": "/vsizip//vsis3/", "gcs": "/vsizip//vsigs/", "azure": "/vsizip//vsiaz/"}


def gdal_env(kind: str, server: dict[str, Any]) -> Any:
    """The ``rasterio.Env`` a user would set for this store (standard GDAL config options)."""
    creds = server["credentials"]
    host = server["endpoint"].split("://", 1)[1].rstrip("/")
    if kind == "s3":
        session = AWSSession(
            aws_access_key_id=creds["access_key_id"],
            aws_secret_access_key=creds["secret_access_key"],
            region_name="us-east-1",
        )
        return rasterio.Env(session=session, AWS_S3_ENDPOINT=host, AWS_HTTPS="NO", AWS_VIRTUAL_HOSTING="FALSE")
    if kind == "gcs":
        return rasterio.Env(CPL_GS_ENDPOINT=f"http://{host}/", GS_NO_SIGN_REQUEST="YES")
    return rasterio.Env(AZURE_STORAGE_CONNECTION_STRING=creds["connection_string"])


@pytest.fixture(scope="module")
def deliveries(store_sandbox: Sandbox, servers: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """One SUCCESS catalog delivery per store kind."""
    catalog_id = store_sandbox.info()["catalog_ids"][0]
    with px.Client(api_key=store_sandbox.token, base_url=store_sandbox.url) as client:
        made = {}
        for kind in KINDS:
            store = client.stores.create(
                name=f"gdal-{kind}-{uuid.uuid4().hex[:8]}",
                type=STORE_TYPES[kind],
                bucket=f"pixxel-gdal-{kind}-{uuid.uuid4().hex[:6]}",
                region="us-east-1",
                secrets=store_secrets(kind, servers[kind]),
                path_prefix="deliveries/gdal/",
            )
            (made[kind],) = client.deliveries.create(store.id, catalog_ids=[catalog_id])
        done = {d.delivery_id: d for d in client.deliveries.wait([d.delivery_id for d in made.values()], timeout=120)}
    return {kind: done[d.delivery_id] for kind, d in made.items()}


def _compare(kind: str, path: str, server: dict[str, Any], store_client: Any, catalog_id: str) -> None:
    window = ((16, 80), (40, 140))
    with px.open_raster(catalog_id, client=store_client) as source:
        want = source.read([1, 7, 16], window=window)
    with gdal_env(kind, server), rasterio.open(path) as src:
        assert src.count == 16
        got = src.read([1, 7, 16], window=window)
    np.testing.assert_array_equal(got, want)
    assert got.any()


@pytest.mark.parametrize("kind", KINDS)
def test_gdal_path_of_a_delivery_opens_in_the_store(
    kind: str, deliveries: dict[str, Any], servers: dict[str, Any], store_client: Any
) -> None:
    """A user with GDAL configured for their store (nothing else) and the member name."""
    delivery = deliveries[kind]
    catalog = store_client.catalogs.get(delivery.catalog_id)
    member = f"{catalog.item_id}.tif"
    path = px.gdal_path(delivery, member, client=store_client)
    store = next(s for s in store_client.stores.list() if s.id == delivery.cloud_delivery.config)
    key = delivery.object_key(store)
    assert path == f"{PREFIX[kind]}{store.configs.bucket}/{key}/{member}"
    _compare(kind, path, servers[kind], store_client, delivery.catalog_id)


@pytest.mark.parametrize("kind", KINDS)
def test_gdal_path_finds_the_raster_member_with_storage_options(
    kind: str, deliveries: dict[str, Any], servers: dict[str, Any], store_client: Any
) -> None:
    delivery = deliveries[kind]
    source = DeliverySource(delivery, storage_options=reader_options(kind, servers[kind]))
    path = px.gdal_path(source, client=store_client)
    catalog = store_client.catalogs.get(delivery.catalog_id)
    assert path.startswith(PREFIX[kind]) and path.endswith(f"/catalogs.zip/{catalog.item_id}.tif"), path
    _compare(kind, path, servers[kind], store_client, delivery.catalog_id)


def test_gdal_path_says_to_pass_member_when_the_store_cannot_be_listed(
    deliveries: dict[str, Any], store_client: Any
) -> None:
    # adlfs gets no connection string from the environment here: the zip cannot be listed.
    with pytest.raises(px.InvalidInputError, match="pass member="):
        px.gdal_path(deliveries["azure"], client=store_client)


def test_store_path_forms_and_bad_urls() -> None:
    assert vsizip_store_path("gs://b/k/catalogs.zip", "m.tif") == "/vsizip//vsigs/b/k/catalogs.zip/m.tif"
    assert vsizip_store_path("s3://b/catalogs.zip", "d/m.tif") == "/vsizip//vsis3/b/catalogs.zip/d/m.tif"
    with pytest.raises(ValueError, match="not a cloud store URL"):
        vsizip_store_path("https://h/catalogs.zip", "m.tif")
