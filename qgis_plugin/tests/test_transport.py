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
    from pixxel_plugin._vendor import pixxel_geo as core
    from pixxel_plugin._vendor.pixxel_geo.io import gdal_options

    from pixxel_plugin import transport
    from pixxel_plugin.filefetch import safe_file_stem
    from pixxel_plugin.layers import rgb_band_indices, vsi_uri

    assert rgb_band_indices([400, 440, 480, 520, 560, 600, 640, 680]) == (7, 5, 3)
    assert rgb_band_indices([None, None]) == (1, 2, 2)
    url = "http://127.0.0.1:8/files/a/catalogs.zip?X-Sig=a.b"
    uri = vsi_uri(url, "x.tif")
    # The core's one implementation, in the spelling QGIS 3.20-3.38 leave alone ("." as %2E).
    assert uri == gdal_options.vsizip_path(url, "x.tif")
    assert ".zip" not in uri and "%2Ezip%3FX-Sig%3Da%2Eb}" in uri
    assert uri.startswith("/vsizip/{/vsicurl?use_head=no&list_dir=no&url=") and uri.endswith("}/x.tif")

    # The core's redaction: plain query strings and percent-encoded ones (as GDAL quotes the layer source).
    assert transport.redact_urls is core.redact_urls
    assert core.redact_urls("at https://h/p.zip?X-Sig=secret now") == "at https://h/p.zip?… now"
    gdal_message = f"HTTP error 403 opening {uri}"
    assert "X-Sig" not in core.redact_urls(gdal_message)

    assert safe_file_stem("ok-Name_1.v2") == "ok-Name_1.v2"
    assert safe_file_stem("../../etc/passwd") == "etc_passwd"
    assert safe_file_stem("/abs/path") == "abs_path"
    assert safe_file_stem("C:\\x\\y") == "C_x_y"
    assert safe_file_stem("..", "cat-1") == "cat-1" and safe_file_stem(None, "../..") == "product"
    assert len(safe_file_stem("a" * 500)) <= 120
