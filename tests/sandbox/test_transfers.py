from __future__ import annotations

import uuid
import zipfile

import httpx
import pytest

from pixxel_geo.sandbox import Sandbox

from .sandbox_helpers import make_store, wait_deliveries, wait_download


def deliver(api: httpx.Client, store_id: str, path: str = "/drop/here", **ids: list[str]) -> httpx.Response:
    entry = {"catalog_ids": ids.get("catalog_ids", []), "order_item_ids": ids.get("order_item_ids", [])}
    entry["cloud_info"] = {"config": store_id, "path": path}
    return api.post("/v0/catalogs/deliveries", json={"deliveries": [entry]})


def test_delivery_lifecycle_lands_in_the_bucket(api: httpx.Client, sandbox: Sandbox, catalog_ids: list[str]) -> None:
    store = make_store(api, configs={"bucket": "landing-zone", "region": "eu", "path_prefix": "pfx/"})
    response = deliver(api, store["id"], catalog_ids=[catalog_ids[0]])
    assert response.status_code == 201
    [created] = response.json()["deliveries"]
    assert created["status"] in ("CREATED", "IN_PROGRESS")
    assert created["cloud_delivery"] == {"config": store["id"], "path": "/drop/here"}
    assert created["task_id"] is None
    catalog = api.get(f"/v0/catalogs/{catalog_ids[0]}").json()
    assert created["target_path"].endswith(f"/{catalog['details']['id']}/catalogs.zip")
    [done] = wait_deliveries(api, [created["delivery_id"]])
    assert done["status"] == "SUCCESS"
    assert done["updated_at"] >= done["created_at"]
    landed = sandbox.data_dir / "buckets/landing-zone/pfx/drop/here" / created["target_path"]
    with zipfile.ZipFile(landed) as zf:
        names = zf.namelist()
        assert f"{catalog['details']['id']}.tif" in names
        assert all(i.compress_type == zipfile.ZIP_STORED for i in zf.infolist())


def test_delivery_by_order_item_makes_one_per_catalog(api: httpx.Client) -> None:
    store = make_store(api)
    items = api.get("/v0/order-items", params={"limit": 100}).json()["order_items"]
    pair = next(i for i in items if len(i["images"]) == 2)
    response = deliver(api, store["id"], order_item_ids=[pair["id"]])
    assert response.status_code == 201
    deliveries = response.json()["deliveries"]
    assert len(deliveries) == 2
    assert len({d["catalog_id"] for d in deliveries}) == 2
    listed = api.get("/v0/catalogs/deliveries", params={"order_item_id": pair["id"]}).json()["deliveries"]
    assert {d["delivery_id"] for d in deliveries} <= {d["delivery_id"] for d in listed}


def test_delivery_list_filters(api: httpx.Client, catalog_ids: list[str]) -> None:
    store = make_store(api)
    [made] = deliver(api, store["id"], catalog_ids=[catalog_ids[2]]).json()["deliveries"]
    by_id = api.get("/v0/catalogs/deliveries", params={"delivery_id": made["delivery_id"]}).json()
    assert [d["delivery_id"] for d in by_id["deliveries"]] == [made["delivery_id"]]
    by_catalog = api.get("/v0/catalogs/deliveries", params={"catalog_id": catalog_ids[2]}).json()
    assert all(d["catalog_id"] == catalog_ids[2] for d in by_catalog["deliveries"])
    assert made["delivery_id"] in [d["delivery_id"] for d in by_catalog["deliveries"]]
    none = api.get("/v0/catalogs/deliveries", params={"task_id": str(uuid.uuid4())}).json()
    assert none == {"deliveries": []}


@pytest.mark.parametrize(
    ("ids", "needle"),
    [
        ({}, "exactly one"),
        ({"catalog_ids": ["x"], "order_item_ids": ["y"]}, "exactly one"),
        ({"catalog_ids": [str(uuid.uuid4())]}, "unknown catalog"),
        ({"order_item_ids": [str(uuid.uuid4())]}, "unknown order item"),
    ],
)
def test_bad_delivery_is_400(api: httpx.Client, ids: dict, needle: str) -> None:
    store = make_store(api)
    response = deliver(api, store["id"], **ids)
    assert response.status_code == 400
    assert needle in response.json()["error"]["message"]


def test_delivery_to_unknown_store_or_bad_path_is_400(api: httpx.Client, catalog_ids: list[str]) -> None:
    unknown = deliver(api, str(uuid.uuid4()), catalog_ids=catalog_ids[:1])
    assert unknown.status_code == 400 and "store" in unknown.json()["error"]["message"]
    store = make_store(api)
    climbing = deliver(api, store["id"], path="a/../../b", catalog_ids=catalog_ids[:1])
    assert climbing.status_code == 400
    empty = api.post("/v0/catalogs/deliveries", json={"deliveries": []})
    assert empty.status_code == 400


def test_pending_order_item_cannot_be_delivered(api: httpx.Client) -> None:
    store = make_store(api)
    active = api.get("/v0/order-items", params={"status": "ACTIVE"}).json()["order_items"][0]
    response = deliver(api, store["id"], order_item_ids=[active["id"]])
    assert response.status_code == 400 and "no catalogs" in response.json()["error"]["message"]


def test_download_lifecycle(api: httpx.Client, catalog_ids: list[str]) -> None:
    created = api.post("/v0/catalogs/download", json={"catalog_ids": catalog_ids[:1], "order_item_ids": []})
    assert created.status_code == 201
    body = created.json()
    assert body["status"] == "created"
    assert "signed_url" not in body
    done = wait_download(api, body["id"])
    assert done["status"] == "success"
    assert f"/files/{body['id']}/catalogs.zip?" in done["signed_url"]
    assert "X-Pixxel-Signature=" in done["signed_url"]


def test_download_by_order_item(api: httpx.Client) -> None:
    items = api.get("/v0/order-items", params={"limit": 100}).json()["order_items"]
    pair = next(i for i in items if len(i["images"]) == 2)
    created = api.post("/v0/catalogs/download", json={"catalog_ids": [], "order_item_ids": [pair["id"]]})
    assert created.status_code == 201
    assert wait_download(api, created.json()["id"])["status"] == "success"


def test_download_errors(api: httpx.Client, catalog_ids: list[str]) -> None:
    both = api.post("/v0/catalogs/download", json={"catalog_ids": catalog_ids[:1], "order_item_ids": ["x"]})
    assert both.status_code == 400
    neither = api.post("/v0/catalogs/download", json={"catalog_ids": [], "order_item_ids": []})
    assert neither.status_code == 400
    unknown = api.post("/v0/catalogs/download", json={"catalog_ids": [str(uuid.uuid4())], "order_item_ids": []})
    assert unknown.status_code == 400
    assert api.get(f"/v0/catalogs/download/{uuid.uuid4()}").status_code == 404


def test_failed_download_and_delivery_on_request(api: httpx.Client, sandbox: Sandbox, catalog_ids: list[str]) -> None:
    sandbox.set_faults(fail_next_downloads=1, fail_next_deliveries=1)
    created = api.post("/v0/catalogs/download", json={"catalog_ids": catalog_ids[:1], "order_item_ids": []})
    done = wait_download(api, created.json()["id"])
    assert done["status"] == "failed" and "signed_url" not in done
    store = make_store(api)
    [made] = deliver(api, store["id"], catalog_ids=catalog_ids[:1]).json()["deliveries"]
    assert wait_deliveries(api, [made["delivery_id"]])[0]["status"] == "FAILED"
    again = api.post("/v0/catalogs/download", json={"catalog_ids": catalog_ids[:1], "order_item_ids": []})
    assert wait_download(api, again.json()["id"])["status"] == "success"


def test_delivery_fails_when_its_store_is_deleted(api: httpx.Client, sandbox: Sandbox, catalog_ids: list[str]) -> None:
    sandbox.set_faults(delivery_seconds=1.0)
    store = make_store(api)
    [made] = deliver(api, store["id"], catalog_ids=catalog_ids[:1]).json()["deliveries"]
    assert api.delete(f"/v0/stores/{store['id']}").status_code == 204
    assert wait_deliveries(api, [made["delivery_id"]])[0]["status"] == "FAILED"
