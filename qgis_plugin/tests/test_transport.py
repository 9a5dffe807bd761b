"""QgisTransport (httpx on QgsBlockingNetworkRequest) and the pure helpers, against the sandbox."""

from __future__ import annotations

from pathlib import Path
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

    from pixxel_plugin import localstream, transport
    from pixxel_plugin.filefetch import product_path
    from pixxel_plugin.layers import rgb_band_indices

    assert rgb_band_indices([400, 440, 480, 520, 560, 600, 640, 680]) == (7, 5, 3)
    assert rgb_band_indices([None, None]) == (1, 2, 2)
    # Project files store the local server's URLs without the session's port and token ...
    base = plugin.dock.stream.server.base_url
    uri = f"/vsicurl/{base}/catalogs/cat-1/a.tif"
    saved = localstream.saved_form(uri)
    assert saved == "/vsicurl/http://127.0.0.1:0/pixxel-local/catalogs/cat-1/a.tif"
    # ... and a project read maps them (or an earlier session's) to this session's server.
    assert plugin.dock.stream.current_form(saved) == uri
    old = "/vsicurl/http://127.0.0.1:4711/" + "x" * 32 + "/catalogs/cat-1/a.tif"
    assert plugin.dock.stream.current_form(old) == uri
    assert plugin.dock.stream.current_form("/data/scene.tif") == "/data/scene.tif"
    uri = "/vsizip/{/vsicurl?use_head=no&list_dir=no&url=http%3A%2F%2Fh%2Fp%2Ezip%3FX-Sig%3Dsecret}/x.tif"

    # The core's redaction: plain query strings and percent-encoded ones (as GDAL quotes the layer source).
    assert transport.redact_urls is core.redact_urls
    assert core.redact_urls("at https://h/p.zip?X-Sig=secret now") == "at https://h/p.zip?… now"
    gdal_message = f"HTTP error 403 opening {uri}"
    assert "X-Sig" not in core.redact_urls(gdal_message)

    # Download file names are the core's (pixxel-<id>.zip): an id cannot leave the folder.
    assert product_path(Path("/data"), "cat-1") == Path("/data/pixxel-cat-1.zip")
    for hostile in ("../../etc/passwd", "/abs/path", "C:\\x\\y", ".."):
        assert product_path(Path("/data"), hostile).parent == Path("/data")
