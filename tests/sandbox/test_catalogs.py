from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from pixxel_geo.sandbox import Sandbox


def search(api: httpx.Client, **body: Any) -> dict[str, Any]:
    response = api.post("/v0/catalogs/search", json=body)
    assert response.status_code == 200, response.text
    return dict(response.json())


def all_catalogs(api: httpx.Client) -> list[dict[str, Any]]:
    return list(search(api, limit=100)["catalogs"])


def test_default_page_is_two_and_paging_covers_all(api: httpx.Client, sandbox: Sandbox) -> None:
    first = search(api)
    assert len(first["catalogs"]) == 2
    assert first["pagination"] == {"limit": 2, "offset": 0, "total": 6}
    seen = []
    offset = 0
    while True:
        page = search(api, offset=offset)
        seen += [c["id"] for c in page["catalogs"]]
        offset += 2
        if offset >= page["pagination"]["total"]:
            break
    assert sorted(seen) == sorted(sandbox.info()["catalog_ids"])
    assert search(api, offset=100)["catalogs"] == []


def test_catalog_carries_stac_details(api: httpx.Client) -> None:
    catalog = search(api)["catalogs"][0]
    details = catalog["details"]
    assert details["geometry"]["type"] == "Polygon"
    assert len(details["bbox"]) == 4
    bands = next(a for a in details["assets"].values() if "eo:bands" in a)["eo:bands"]
    assert len(bands) == 16
    assert all(b["center_wavelength"] > 0 and b["fwhm"] > 0 for b in bands)
    assert api.get(f"/v0/catalogs/{catalog['id']}").json() == catalog


def test_get_unknown_catalog(api: httpx.Client) -> None:
    assert api.get(f"/v0/catalogs/{uuid.uuid4()}").status_code == 404
    assert api.get("/v0/catalogs/not-a-uuid").status_code == 400


def test_sort_by_datetime(api: httpx.Client) -> None:
    asc = search(api, limit=100, sort_by=[{"datetime": "ASC"}])["catalogs"]
    stamps = [c["details"]["properties"]["datetime"] for c in asc]
    assert stamps == sorted(stamps)
    desc = search(api, limit=100, sort_by=[{"field": "properties->>'datetime'", "direction": "desc"}])
    assert [c["id"] for c in desc["catalogs"]] == [c["id"] for c in reversed(asc)]


def test_datetime_instant_and_intervals(api: httpx.Client) -> None:
    catalogs = all_catalogs(api)
    stamps = sorted(c["details"]["properties"]["datetime"] for c in catalogs)
    middle = stamps[2]
    assert [c["details"]["properties"]["datetime"] for c in search(api, datetime=middle)["catalogs"]] == [middle]
    after = search(api, limit=100, datetime=f"{middle}/..")
    assert after["pagination"]["total"] == len([s for s in stamps if s >= middle])
    before = search(api, limit=100, datetime=f"../{middle}")
    assert before["pagination"]["total"] == len([s for s in stamps if s <= middle])
    closed = search(api, limit=100, datetime=f"{stamps[1]}/{stamps[3]}")
    assert closed["pagination"]["total"] == 3


@pytest.mark.parametrize("value", ["yesterday", "../..", "2024-01-02T00:00:00Z/2024-01-01T00:00:00Z", "a/b/c"])
def test_bad_datetime_is_400(api: httpx.Client, value: str) -> None:
    response = api.post("/v0/catalogs/search", json={"datetime": value})
    assert response.status_code == 400
    assert "datetime" in response.json()["error"]["message"]


def test_bbox_and_intersects(api: httpx.Client) -> None:
    target = all_catalogs(api)[0]
    west, south, east, north = target["details"]["bbox"]
    cx, cy = (west + east) / 2, (south + north) / 2
    box = [cx - 0.001, cy - 0.001, cx + 0.001, cy + 0.001]
    hits = search(api, limit=100, bbox=box)["catalogs"]
    assert target["id"] in [c["id"] for c in hits]
    assert search(api, bbox=[-10, -10, -9.9, -9.9])["pagination"]["total"] == 0
    polygon = {
        "type": "Polygon",
        "coordinates": [[[box[0], box[1]], [box[2], box[1]], [box[2], box[3]], [box[0], box[3]], [box[0], box[1]]]],
    }
    found = search(api, limit=100, intersects=polygon)["catalogs"]
    assert target["id"] in [c["id"] for c in found]
    point = {"type": "Point", "coordinates": [0.0, -80.0]}
    assert search(api, intersects=point)["pagination"]["total"] == 0


@pytest.mark.parametrize("bbox", [[1, 2, 3], [0, 10, 1, 5], ["a", 0, 1, 1]])
def test_bad_bbox_is_400(api: httpx.Client, bbox: list) -> None:
    assert api.post("/v0/catalogs/search", json={"bbox": bbox}).status_code == 400


def test_cloud_cover_query_both_spellings(api: httpx.Client) -> None:
    catalogs = all_catalogs(api)
    covers = [c["details"]["properties"]["eo:cloud_cover"] for c in catalogs]
    threshold = sorted(covers)[3]
    expected = len([c for c in covers if c < threshold])
    assert 0 < expected < len(covers)
    for name in ("cloudcover", "eo:cloud_cover"):
        result = search(api, limit=100, query={name: {"lt": threshold}})
        assert result["pagination"]["total"] == expected
        assert all(c["details"]["properties"]["eo:cloud_cover"] < threshold for c in result["catalogs"])
    bad = api.post("/v0/catalogs/search", json={"query": {"cloudcover": {"below": 3}}})
    assert bad.status_code == 400 and "operator" in bad.json()["error"]["message"]


def test_id_filters(api: httpx.Client, sandbox: Sandbox) -> None:
    ids = sandbox.info()["catalog_ids"]
    assert [c["id"] for c in search(api, ids=[ids[1]])["catalogs"]] == [ids[1]]
    items = api.get("/v0/order-items", params={"limit": 100}).json()["order_items"]
    pair = next(i for i in items if len(i["images"]) == 2)
    by_item = search(api, limit=100, order_item_ids=[pair["id"]])
    assert by_item["pagination"]["total"] == 2
    assert {c["details"]["id"] for c in by_item["catalogs"]} == {img["item_id"] for img in pair["images"]}
    by_order = search(api, limit=100, order_ids=[pair["order_id"]])
    assert by_order["pagination"]["total"] >= 2
    assert search(api, ids=[str(uuid.uuid4())])["catalogs"] == []


@pytest.mark.parametrize("body", [{"limit": 0}, {"limit": 1000}, {"offset": -1}, {"limit": "2"}])
def test_bad_paging_is_400(api: httpx.Client, body: dict) -> None:
    assert api.post("/v0/catalogs/search", json=body).status_code == 400


def test_order_items_list_get_and_filters(api: httpx.Client) -> None:
    everything = api.get("/v0/order-items", params={"limit": 100}).json()
    items = everything["order_items"]
    assert everything["pagination"]["total"] == len(items) >= 6
    first = api.get("/v0/order-items", params={"limit": 2}).json()
    second = api.get("/v0/order-items", params={"limit": 2, "offset": 2}).json()
    assert [i["id"] for i in first["order_items"] + second["order_items"]] == [i["id"] for i in items[:4]]
    one = items[0]
    assert api.get(f"/v0/order-items/{one['id']}").json() == one
    assert all(t["order_item_id"] == one["id"] for t in one["tasks"])
    by_ids = api.get("/v0/order-items", params={"ids": f"{items[0]['id']},{items[1]['id']}"}).json()
    assert {i["id"] for i in by_ids["order_items"]} == {items[0]["id"], items[1]["id"]}
    by_order = api.get("/v0/order-items", params={"order_ids": one["order_id"]}).json()["order_items"]
    assert by_order and all(i["order_id"] == one["order_id"] for i in by_order)
    active = api.get("/v0/order-items", params={"status": "ACTIVE"}).json()["order_items"]
    assert active and all(i["status"] == "ACTIVE" for i in active)
    assert api.get(f"/v0/order-items/{uuid.uuid4()}").status_code == 404
    assert api.get("/v0/order-items", params={"limit": "x"}).status_code == 400
