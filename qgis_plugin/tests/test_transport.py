"""QgisTransport (httpx on QgsBlockingNetworkRequest) and the pure helpers, against the sandbox."""

from __future__ import annotations

from typing import Any

import pytest
from conftest import TOKEN


def test_transport_get_post_delete_and_errors(plugin: Any, sandbox: Any) -> None:
    from pixxel_plugin._vendor import httpx

    from pixxel_plugin.transport import QgisTransport

    headers = {"Authorization": f"Bearer {TOKEN}"}
    with httpx.Client(transport=QgisTransport(), base_url=sandbox.url, headers=headers) as http:
        assert http.get("/ping").json() == "pong"
        created = http.post("/v0/stores", json={
            "name": "transport", "type": "S3", "configs": {"bucket": "transport-b", "region": "eu-west-1"},
            "secrets": {"access_key_id": "A", "secret_access_key": "S"},
        })  # fmt: skip
        assert created.status_code in (200, 201), created.text
        store_id = created.json()["id"]
        assert http.delete(f"/v0/stores/{store_id}").status_code in (200, 204)
        missing = http.get("/v0/catalogs/00000000-0000-0000-0000-000000000000")
        assert missing.status_code == 404 and "not found" in missing.text
        assert missing.headers["content-type"].startswith("application/json")
        with pytest.raises(httpx.UnsupportedProtocol, match="PATCH"):
            http.patch("/v0/stores")
    with (
        httpx.Client(transport=QgisTransport(), base_url="http://127.0.0.1:9") as http,
        pytest.raises(httpx.ConnectError, match=r"Cannot connect to http://127\.0\.0\.1:9/ping"),
    ):
        http.get("/ping")


def test_helpers(plugin: Any) -> None:
    from pixxel_plugin.layers import rgb_band_indices, vsi_uri
    from pixxel_plugin.transport import redact_urls

    assert rgb_band_indices([400, 440, 480, 520, 560, 600, 640, 680]) == (7, 5, 3)
    assert rgb_band_indices([None, None]) == (1, 2, 2)
    uri = vsi_uri("http://127.0.0.1:8/files/a/catalogs.zip?X-Sig=a.b", "x.tif")
    assert ".zip" not in uri and uri.endswith("}/x.tif") and "use_head=no" in uri
    assert redact_urls("at https://h/p.zip?X-Sig=secret now") == "at https://h/p.zip?… now"
