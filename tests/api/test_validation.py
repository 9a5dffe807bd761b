"""Bad input is refused with a clear ValueError before any request."""

from __future__ import annotations

import httpx
import pytest

import pixxel_geo as px


@pytest.fixture
def client_and_requests(make_client):
    return make_client(lambda r: httpx.Response(500))


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda c: c.downloads.create(catalog_ids=["a"], order_item_ids=["b"]), "not both"),
        (lambda c: c.downloads.create(), "at least one"),
        (lambda c: c.downloads.create(catalog_ids=[]), "at least one"),
        (lambda c: c.downloads.create(catalog_ids=[""]), "non-empty string"),
        (lambda c: c.downloads.create(catalog_ids=[42]), "non-empty string"),
        (lambda c: c.deliveries.create("s1", catalog_ids=["a"], order_item_ids=["b"]), "not both"),
        (lambda c: c.deliveries.create("", catalog_ids=["a"]), "store_id"),
        (lambda c: c.deliveries.create("s1"), "at least one"),
        (lambda c: list(c.catalogs.search(bbox=[0, 0, 1])), "4"),
        (lambda c: list(c.catalogs.search(bbox=[0, 0, 200, 1])), "longitudes"),
        (lambda c: list(c.catalogs.search(bbox=[0, 10, 1, 5])), "south <= north"),
        (lambda c: list(c.catalogs.search(bbox=["a", 0, 1, 1])), "4 numbers"),
        (lambda c: list(c.catalogs.search(limit=0)), "positive"),
        (lambda c: list(c.catalogs.search(intersects={"coordinates": []})), "GeoJSON"),
        (lambda c: c.stores.create("n", "DROPBOX", "b", "r", {}), "S3, GCS, AZBLOB"),
        (lambda c: c.stores.create("n", "S3", "", "r", {}), "bucket"),
        (lambda c: c.stores.create("n", "S3", "b", "r", {"k": 1}), "secrets"),
        (lambda c: c.catalogs.get(""), "catalog_id"),
        (lambda c: c.deliveries.wait([]), "at least one"),
        (lambda c: list(c.order_items.list(colour="red")), "Unknown order item filter"),
    ],
)
def test_refused_before_any_request(client_and_requests, call, match):
    client, rec = client_and_requests
    with pytest.raises(px.InvalidInputError, match=match) as info:
        call(client)
    assert isinstance(info.value, ValueError)
    assert rec.requests == []


def test_store_type_aliases(make_client):
    client, rec = make_client(lambda r: httpx.Response(200, json={"id": "s"}))
    client.stores.create("n", "azure", "container", "westeurope", {"connection_string": "x"})
    assert b'"type":"AZBLOB"' in rec.requests[0].content
