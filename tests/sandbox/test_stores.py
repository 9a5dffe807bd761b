from __future__ import annotations

import uuid

import httpx
import pytest

from .sandbox_helpers import make_store


def test_create_list_delete_store(api: httpx.Client) -> None:
    store = make_store(api)
    assert store["type"] == "S3"
    assert store["configs"] == {"bucket": "my-bucket", "region": "us-east-2", "path_prefix": "data/in/"}
    assert store["labels"] == {"team": "data"}
    assert store["created_at"].endswith("Z") and "." in store["created_at"]
    assert "secrets" not in store
    listed = api.get("/v0/stores").json()["stores"]
    assert store["id"] in [s["id"] for s in listed]
    assert all("secrets" not in s for s in listed)
    assert "s3cr3t-value" not in api.get("/v0/stores").text
    assert api.delete(f"/v0/stores/{store['id']}").status_code == 204
    assert store["id"] not in [s["id"] for s in api.get("/v0/stores").json()["stores"]]


def test_duplicate_name_is_409(api: httpx.Client) -> None:
    store = make_store(api)
    again = api.post(
        "/v0/stores",
        json={
            "name": store["name"],
            "type": "GCS",
            "configs": {"bucket": "other-bucket", "region": "eu"},
            "secrets": {"project_id": "p"},
        },
    )
    assert again.status_code == 409
    assert store["name"] in again.json()["error"]["message"]


@pytest.mark.parametrize(
    ("change", "needle"),
    [
        ({"type": "DROPBOX"}, "type"),
        ({"configs": {"region": "x"}}, "bucket"),
        ({"configs": {"bucket": "Bad/Bucket", "region": "x"}}, "bucket"),
        ({"configs": {"bucket": "okbucket", "region": "x", "path_prefix": "../up"}}, ".."),
        ({"secrets": None}, "secrets"),
        ({"secrets": {"key": 1}}, "secrets"),
        ({"name": ""}, "name"),
    ],
)
def test_invalid_store_is_400(api: httpx.Client, change: dict, needle: str) -> None:
    body = {
        "name": f"bad-{uuid.uuid4().hex[:6]}",
        "type": "S3",
        "configs": {"bucket": "good-bucket", "region": "us-east-1"},
        "secrets": {"access_key_id": "a"},
    }
    body.update(change)
    response = api.post("/v0/stores", json=body)
    assert response.status_code == 400
    assert needle in response.json()["error"]["message"]


def test_delete_unknown_store(api: httpx.Client) -> None:
    assert api.delete(f"/v0/stores/{uuid.uuid4()}").status_code == 404
    assert api.delete("/v0/stores/not-a-uuid").status_code == 400
