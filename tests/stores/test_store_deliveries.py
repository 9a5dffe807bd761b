"""Deliveries into real S3 / GCS / Azure protocol servers, and reading them back in place."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import uuid
from typing import Any
from urllib.parse import quote

import fsspec
import httpx
import numpy as np
import pytest

import pixxel_geo as px
from pixxel_geo.io.stores import DeliverySource, StoreRangeReader, delivery_location, resolve_delivery
from pixxel_geo.sandbox import Sandbox
from tests.stores.conftest import STORE_TYPES, reader_options, store_secrets

KINDS = ("s3", "gcs", "azure")


def native_read(kind: str, server: dict[str, Any], bucket: str, key: str) -> bytes:
    """The object's bytes through the provider's own SDK or API (not through pixxel_geo)."""
    creds = server["credentials"]
    if kind == "s3":
        import boto3

        s3 = boto3.client(
            "s3",
            endpoint_url=server["endpoint"],
            region_name="us-east-1",
            aws_access_key_id=creds["access_key_id"],
            aws_secret_access_key=creds["secret_access_key"],
        )
        body: bytes = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        return body
    if kind == "gcs":
        url = f"{server['endpoint']}/download/storage/v1/b/{bucket}/o/{quote(key, safe='')}?alt=media"
        response = httpx.get(url, timeout=60)
        response.raise_for_status()
        return response.content
    from azure.storage.blob import BlobServiceClient

    service = BlobServiceClient.from_connection_string(creds["connection_string"])
    data: bytes = service.get_blob_client(bucket, key).download_blob().readall()
    return data


def sandbox_product_bytes(client: Any, catalog_id: str) -> bytes:
    """The product as served by the sandbox's signed URL."""
    download = client.downloads.create(catalog_ids=[catalog_id])
    download = client.downloads.wait(download.id, timeout=60)
    response = httpx.get(download.signed_url, timeout=60)
    response.raise_for_status()
    return response.content


def make_store(client: Any, kind: str, server: dict[str, Any], **overrides: Any) -> Any:
    name = f"{kind}-{uuid.uuid4().hex[:8]}"
    secrets = overrides.pop("secrets", None) or store_secrets(kind, server)
    return client.stores.create(
        name=name,
        type=STORE_TYPES[kind],
        bucket=overrides.pop("bucket", f"pixxel-{kind}-{uuid.uuid4().hex[:6]}"),
        region="us-east-1",
        secrets=secrets,
        path_prefix=overrides.pop("path_prefix", "deliveries/pixxel/"),
    )


@pytest.fixture(scope="module")
def delivered(store_sandbox: Sandbox, servers: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Per store kind: a store, a catalog delivery and an order item's deliveries, all SUCCESS."""
    info = store_sandbox.info()
    with px.Client(api_key=store_sandbox.token, base_url=store_sandbox.url) as client:
        order_item = next(o for o in client.order_items.list() if o.id in info["order_item_ids"] and o.images)
        catalog_id = info["catalog_ids"][0]
        out: dict[str, dict[str, Any]] = {}
        ids = []
        for kind in KINDS:
            store = make_store(client, kind, servers[kind])
            by_catalog = client.deliveries.create(store.id, catalog_ids=[catalog_id], path="/run-1/")
            by_item = client.deliveries.create(store.id, order_item_ids=[order_item.id], path="items")
            out[kind] = {"store": store, "catalog": by_catalog, "item": by_item, "catalog_id": catalog_id}
            ids += [d.delivery_id for d in by_catalog + by_item]
        done = {d.delivery_id: d for d in client.deliveries.wait(ids, timeout=120)}
        for entry in out.values():
            entry["catalog"] = [done[d.delivery_id] for d in entry["catalog"]]
            entry["item"] = [done[d.delivery_id] for d in entry["item"]]
    return out


@pytest.mark.parametrize("kind", KINDS)
def test_delivery_lands_at_the_exact_key_with_the_product_bytes(
    kind: str, delivered: dict[str, Any], servers: dict[str, Any], store_client: Any
) -> None:
    entry = delivered[kind]
    store = entry["store"]
    for delivery in entry["catalog"] + entry["item"]:
        assert delivery.status.value == "SUCCESS"
        catalog = store_client.catalogs.get(delivery.catalog_id)
        expected_path = "run-1" if delivery in entry["catalog"] else "items"
        assert delivery.target_path.endswith(f"/{catalog.item_id}/catalogs.zip")
        key = f"deliveries/pixxel/{expected_path}/{delivery.target_path}"
        scheme = {"s3": "s3", "gcs": "gs", "azure": "az"}[kind]
        assert delivery.location(store) == f"{scheme}://{store.configs.bucket}/{key}"
        stored = native_read(kind, servers[kind], store.configs.bucket, key)
        served = sandbox_product_bytes(store_client, delivery.catalog_id)
        assert hashlib.sha256(stored).hexdigest() == hashlib.sha256(served).hexdigest()
    assert len(entry["item"]) >= 1


@pytest.mark.parametrize("kind", KINDS)
def test_raster_member_is_read_by_range_from_the_bucket(
    kind: str, delivered: dict[str, Any], servers: dict[str, Any], store_client: Any
) -> None:
    delivery = delivered[kind]["catalog"][0]
    source = DeliverySource(delivery, storage_options=reader_options(kind, servers[kind]))
    resolved = resolve_delivery(source, store_client)
    reader = resolved.archive.reader
    assert isinstance(reader, StoreRangeReader)
    window = ((32, 96), (64, 160))
    with px.open_raster(source, client=store_client) as from_store:
        got = from_store.read([1, 5, 16], window=window)
        assert from_store.count == 16
    with px.open_raster(delivery.catalog_id, client=store_client) as from_api:
        want = from_api.read([1, 5, 16], window=window)
    np.testing.assert_array_equal(got, want)
    assert got.any()
    # Ranges, not the object: a 3-band window needs far less than the whole zip.
    assert 0 < reader.bytes_read < reader.get_size() * 0.75


@pytest.mark.parametrize("kind", KINDS)
def test_footprint_and_dataset_read_in_place(
    kind: str, delivered: dict[str, Any], servers: dict[str, Any], store_client: Any
) -> None:
    delivery = delivered[kind]["item"][0]
    catalog = store_client.catalogs.get(delivery.catalog_id)
    source = DeliverySource(delivery.delivery_id, storage_options=reader_options(kind, servers[kind]))
    frame = px.read_vector(source, f"{catalog.item_id}_footprint.geojson", client=store_client)
    reference = px.read_vector(delivery.catalog_id, f"{catalog.item_id}_footprint.geojson", client=store_client)
    assert len(frame) == len(reference) == 1
    assert frame.geometry.iloc[0].equals_exact(reference.geometry.iloc[0], 1e-9)
    from_store = px.open_dataset(source, client=store_client)
    from_api = px.open_dataset(delivery.catalog_id, client=store_client)
    assert from_store.sizes["band"] == from_api.sizes["band"] == 16
    window = {"band": slice(2, 5), "y": slice(10, 40), "x": slice(100, 140)}
    np.testing.assert_array_equal(from_store.isel(window).values, from_api.isel(window).values)
    assert from_store.isel(window).values.any()


@pytest.mark.parametrize("kind", KINDS)
def test_pixxel_delivery_paths_open_with_fsspec(
    kind: str, delivered: dict[str, Any], servers: dict[str, Any], store_sandbox: Sandbox, store_client: Any
) -> None:
    delivery = delivered[kind]["catalog"][0]
    catalog = store_client.catalogs.get(delivery.catalog_id)
    member = f"{catalog.item_id}_footprint.geojson"
    options = {
        "api_key": store_sandbox.token,
        "base_url": store_sandbox.url,
        "store_options": reader_options(kind, servers[kind]),
    }
    with fsspec.open(f"pixxel://deliveries/{delivery.delivery_id}/{member}", **options) as f:
        from_store = json.load(f)
    with fsspec.open(f"pixxel://catalogs/{delivery.catalog_id}/{member}", **options) as f:
        from_api = json.load(f)
    assert from_store == from_api
    assert from_store["features"][0]["properties"]["item_id"] == catalog.item_id


@pytest.mark.parametrize("kind", KINDS)
def test_wrong_credentials_fail_the_delivery_with_a_reason(
    kind: str, store_sandbox: Sandbox, servers: dict[str, Any], store_client: Any
) -> None:
    good = store_secrets(kind, servers[kind])
    if kind == "s3":
        bad = {**good, "secret_access_key": "not-the-secret"}
    elif kind == "gcs":
        account = {**json.loads(good["service_account_credentials"]), "private_key_id": "0" * 40}
        bad = {**good, "service_account_credentials": json.dumps(account)}
    else:
        bad = {**good, "account_key": "d3Jvbmcta2V5LXdyb25nLWtleS13cm9uZy1rZXk="}
    store = make_store(store_client, kind, servers[kind], secrets=bad)
    (delivery,) = store_client.deliveries.create(store.id, catalog_ids=[store_sandbox.info()["catalog_ids"][1]])
    with pytest.raises(px.DeliveryFailedError):
        store_client.deliveries.wait([delivery.delivery_id], timeout=60)
    (final,) = store_client.deliveries.list(delivery_id=delivery.delivery_id)
    assert final.status.value == "FAILED"
    reason = store_sandbox.info()["delivery_failures"][delivery.delivery_id]
    assert "refused" in reason and store.configs.bucket in reason
    assert "not-the-secret" not in reason and bad.get("account_key", "§") not in reason
    assert delivery.delivery_id in store_sandbox.log_path.read_text()
    with pytest.raises(px.InvalidInputError, match="FAILED"):
        delivery_location(delivery.delivery_id, store_client)


def test_azure_sas_expiry_is_enforced_by_azurite(delivered: dict[str, Any], servers: dict[str, Any]) -> None:
    from azure.storage.blob import BlobSasPermissions, generate_blob_sas

    delivery, store = delivered["azure"]["catalog"][0], delivered["azure"]["store"]
    creds, endpoint = servers["azure"]["credentials"], servers["azure"]["endpoint"]
    key = delivery.object_key(store)
    now = dt.datetime.now(dt.UTC)

    def sas_url(expiry: dt.datetime) -> str:
        token = generate_blob_sas(
            account_name=creds["account_name"],
            container_name=store.configs.bucket,
            blob_name=key,
            account_key=creds["account_key"],
            permission=BlobSasPermissions(read=True),
            start=now - dt.timedelta(hours=2),
            expiry=expiry,
        )
        return f"{endpoint}/{creds['account_name']}/{store.configs.bucket}/{quote(key)}?{token}"

    expired = httpx.get(sas_url(now - dt.timedelta(minutes=5)), headers={"Range": "bytes=0-3"}, timeout=30)
    assert expired.status_code == 403
    fresh = httpx.get(sas_url(now + dt.timedelta(minutes=5)), headers={"Range": "bytes=0-3"}, timeout=30)
    assert fresh.status_code == 206
    assert fresh.content == b"PK\x03\x04"
