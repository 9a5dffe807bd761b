"""Each endpoint sends the documented request and parses the answer (MockTransport)."""

from __future__ import annotations

import json

import httpx
import pytest

import pixxel_geo as px

from .conftest import TOKEN

DELIVERY = {
    "delivery_id": "d1",
    "catalog_id": "c1",
    "status": "CREATED",
    "cloud_delivery": {"config": "s1", "path": "in/"},
    "target_path": "order_1/catalogs.zip",
    "task_id": None,
    "created_at": "2024-05-27T06:50:20.056549Z",
}
STORE = {"id": "s1", "name": "lake", "type": "S3", "configs": {"bucket": "b", "region": "us-east-1"}}


def catalog(i: int) -> dict:
    return {
        "id": f"c{i}",
        "details": {
            "id": f"ITEM_{i}",
            "geometry": {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 0]]]},
            "bbox": [0, 0, 1, 1],
            "properties": {"datetime": "2025-03-14T06:15:12Z", "eo:cloud_cover": 4.5, "gsd": 5},
            "assets": {
                "image": {
                    "href": "x.tif",
                    "eo:bands": [
                        {"name": "B001", "center_wavelength": 470.0, "fwhm": 10.1},
                        {"name": "B002", "center_wavelength": 480.0, "fwhm": 10.2},
                    ],
                }
            },
        },
    }


def test_stores_list_create_delete(make_client):
    def handler(request: httpx.Request) -> httpx.Response:
        if request.method == "GET":
            return httpx.Response(200, json={"stores": [STORE]})
        if request.method == "POST":
            return httpx.Response(200, json=STORE)
        return httpx.Response(204)

    client, rec = make_client(handler)
    stores = client.stores.list()
    assert stores[0].configs.bucket == "b" and stores[0].type == "S3"
    created = client.stores.create(
        "lake", "s3", "b", "us-east-1", {"access_key_id": "A", "secret_access_key": "S"}, path_prefix="p/"
    )
    assert created.id == "s1"
    assert client.stores.delete("s1") is None
    methods = [(r.method, r.url.path) for r in rec.requests]
    assert methods == [("GET", "/v0/stores"), ("POST", "/v0/stores"), ("DELETE", "/v0/stores/s1")]
    body = json.loads(rec.requests[1].content)
    assert body == {
        "name": "lake",
        "type": "S3",
        "configs": {"bucket": "b", "region": "us-east-1", "path_prefix": "p/"},
        "secrets": {"access_key_id": "A", "secret_access_key": "S"},
    }
    assert rec.requests[0].headers["Authorization"] == f"Bearer {TOKEN}"


def test_catalog_search_pages_until_total(make_client):
    total = 5

    def handler(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        offset, limit = body["offset"], body["limit"]
        items = [catalog(i) for i in range(offset, min(total, offset + limit))]
        return httpx.Response(
            200, json={"catalogs": items, "pagination": {"limit": limit, "offset": offset, "total": total}}
        )

    client, rec = make_client(handler)
    found = list(client.catalogs.search(bbox=[-1, -1, 2, 2], limit=2, sort_by="-datetime"))
    assert [c.id for c in found] == ["c0", "c1", "c2", "c3", "c4"]
    assert len(rec.requests) == 3
    first = json.loads(rec.requests[0].content)
    assert first["bbox"] == [-1, -1, 2, 2]
    assert first["sort_by"] == [{"datetime": "DESC"}]
    c0 = found[0]
    assert c0.item_id == "ITEM_0" and c0.cloud_cover == 4.5 and c0.gsd == 5
    assert [b.center_wavelength for b in c0.bands] == [470.0, 480.0]
    assert c0.datetime is not None and c0.datetime.year == 2025


def test_catalog_search_max_items_stops_early(make_client):
    def handler(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        items = [catalog(i) for i in range(body["offset"], body["offset"] + body["limit"])]
        return httpx.Response(200, json={"catalogs": items, "pagination": {"total": 1000}})

    client, rec = make_client(handler)
    assert len(list(client.catalogs.search(limit=3, max_items=4))) == 4
    assert len(rec.requests) == 2


def test_catalog_search_stops_when_server_ignores_offset(make_client):
    client, rec = make_client(
        lambda r: httpx.Response(200, json={"catalogs": [catalog(0), catalog(1)], "pagination": {}})
    )
    assert [c.id for c in client.catalogs.search(limit=2)] == ["c0", "c1"]
    assert len(rec.requests) == 2


def test_catalog_get_and_order_items(make_client):
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/v0/catalogs/c7":
            return httpx.Response(200, json=catalog(7))
        if request.url.path == "/v0/order-items":
            offset = int(request.url.params["offset"])
            items = [{"id": f"oi{offset + i}", "order_id": "o1"} for i in range(2 if offset < 2 else 1)]
            return httpx.Response(200, json={"order_items": items, "pagination": {"total": 3}})
        return httpx.Response(200, json={"id": "oi9", "order_id": "o9", "status": "FULFILLED"})

    client, rec = make_client(handler)
    assert client.catalogs.get("c7").id == "c7"
    items = list(client.order_items.list(status="FULFILLED", order_ids=["o1", "o2"]))
    assert [i.id for i in items] == ["oi0", "oi1", "oi2"]
    params = rec.requests[1].url.params
    assert params["status"] == "FULFILLED" and params["order_ids"] == "o1,o2"
    assert client.order_items.get("oi9").order_id == "o9"


def test_delivery_create_sends_both_lists_and_cloud_info(make_client):
    def handler(request: httpx.Request) -> httpx.Response:
        if request.method == "GET":
            return httpx.Response(200, json={"deliveries": []})
        return httpx.Response(201, json={"deliveries": [DELIVERY]})

    client, rec = make_client(handler)
    [delivery] = client.deliveries.create("s1", catalog_ids=["c1"], path="in/")
    post = next(r for r in rec.requests if r.method == "POST")
    assert post.url.path == "/v0/catalogs/deliveries"
    assert json.loads(post.content) == {
        "deliveries": [{"catalog_ids": ["c1"], "order_item_ids": [], "cloud_info": {"config": "s1", "path": "in/"}}]
    }
    assert delivery.status == px.DeliveryStatus("CREATED")
    assert delivery.cloud_delivery == px.CloudDelivery(config="s1", path="in/")
    assert delivery.target_path == "order_1/catalogs.zip"


def test_delivery_list_filters(make_client):
    client, rec = make_client(lambda r: httpx.Response(200, json={"deliveries": [DELIVERY]}))
    client.deliveries.list(catalog_id="c1", order_item_id="oi1")
    assert dict(rec.requests[0].url.params) == {"catalog_id": "c1", "order_item_id": "oi1"}


def test_download_create_get_wait(make_client):
    states = iter(["created", "in_progress", "success"])

    def handler(request: httpx.Request) -> httpx.Response:
        if request.method == "POST":
            return httpx.Response(201, json={"id": "dl1", "status": "created"})
        status = next(states)
        url = "https://files.test.invalid/dl1/catalogs.zip?X-Pixxel-Expires=1900000000&X-Pixxel-Signature=abc"
        return httpx.Response(
            200, json={"id": "dl1", "status": status, **({"signed_url": url} if status == "success" else {})}
        )

    client, rec = make_client(handler)
    download = client.downloads.create(catalog_ids=["c1"])
    assert json.loads(rec.requests[0].content) == {"catalog_ids": ["c1"], "order_item_ids": []}
    events: list[px.Event] = []
    ready = client.downloads.wait(download.id, timeout=5, on_event=events.append)
    assert ready.ready and ready.status.is_success
    assert ready.expires_at is not None and ready.expires_at.year == 2030
    changes = [e.status for e in events if isinstance(e, px.StateChanged)]
    assert changes == ["CREATED", "IN_PROGRESS", "SUCCESS"]
    assert isinstance(events[-1], px.Finished)
    assert [r.url.path for r in rec.requests[1:]] == ["/v0/catalogs/download/dl1"] * 3


def test_ping_needs_no_key(make_client):
    client, rec = make_client(lambda r: httpx.Response(200, json="pong"), api_key=None)
    assert client.ping() == "pong"
    assert "Authorization" not in rec.requests[0].headers


@pytest.mark.parametrize("key", ["abc123", "Bearer abc123", "  bearer abc123 "])
def test_key_with_or_without_bearer(make_client, key):
    client, rec = make_client(lambda r: httpx.Response(200, json={"stores": []}), api_key=key)
    client.stores.list()
    assert rec.requests[0].headers["Authorization"] == "Bearer abc123"


async def test_async_client_same_requests(make_async_client):
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/v0/catalogs/search":
            body = json.loads(request.content)
            items = [catalog(i) for i in range(body["offset"], min(3, body["offset"] + body["limit"]))]
            return httpx.Response(200, json={"catalogs": items, "pagination": {"total": 3}})
        if request.url.path == "/v0/catalogs/deliveries" and request.method == "GET":
            return httpx.Response(200, json={"deliveries": [{**DELIVERY, "status": "SUCCESS"}]})
        return httpx.Response(201, json={"deliveries": [DELIVERY]})

    client, _rec = make_async_client(handler)
    async with client:
        ids = [c.id async for c in client.catalogs.search(limit=2)]
        created = await client.deliveries.create("s1", catalog_ids=["c1"])
        done = await client.deliveries.wait([created[0].delivery_id], timeout=5)
    assert ids == ["c0", "c1", "c2"]
    assert done[0].status.is_success
