"""Helper functions for the sandbox's own tests (raw httpx against the running server)."""

from __future__ import annotations

import time
import uuid
from typing import Any

import httpx


def wait_download(api: httpx.Client, download_id: str, timeout: float = 30) -> dict[str, Any]:
    """Poll a download resource until it is final; return it."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        body = api.get(f"/v0/catalogs/download/{download_id}").json()
        if body["status"] in ("success", "failed"):
            return body
        time.sleep(0.05)
    raise AssertionError(f"download {download_id} did not finish")


def wait_deliveries(api: httpx.Client, ids: list[str], timeout: float = 30) -> list[dict]:
    """Poll deliveries until all are final; return them."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = [api.get("/v0/catalogs/deliveries", params={"delivery_id": i}).json()["deliveries"][0] for i in ids]
        if all(d["status"] in ("SUCCESS", "FAILED") for d in found):
            return found
        time.sleep(0.05)
    raise AssertionError(f"deliveries {ids} did not finish")


def make_store(api: httpx.Client, **overrides: Any) -> dict[str, Any]:
    """Create a store with a unique name; return it."""
    body = {
        "name": f"store-{uuid.uuid4().hex[:8]}",
        "type": "S3",
        "configs": {"bucket": "my-bucket", "region": "us-east-2", "path_prefix": "data/in/"},
        "secrets": {"access_key_id": "AKIAEXAMPLE", "secret_access_key": "s3cr3t-value"},
        "labels": {"team": "data"},
    }
    body.update(overrides)
    response = api.post("/v0/stores", json=body)
    assert response.status_code == 200, response.text
    return dict(response.json())


def ready_url(api: httpx.Client, catalog_ids: list[str]) -> tuple[str, str]:
    """Create a download for the catalogs, wait for it, return (download id, signed URL)."""
    created = api.post("/v0/catalogs/download", json={"catalog_ids": catalog_ids, "order_item_ids": []})
    assert created.status_code == 201, created.text
    done = wait_download(api, created.json()["id"])
    assert done["status"] == "success"
    return done["id"], done["signed_url"]
