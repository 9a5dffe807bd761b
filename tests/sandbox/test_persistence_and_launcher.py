from __future__ import annotations

import os
from pathlib import Path

import httpx
import pytest

from pixxel_geo.sandbox import Sandbox, SandboxSettings, SandboxStartError

from .sandbox_helpers import make_store, wait_deliveries, wait_download

SMALL = SandboxSettings(bands=4, width=64, height=64, count=3, download_seconds=0.1, delivery_seconds=0.1)


def _client(sb: Sandbox) -> httpx.Client:
    return httpx.Client(base_url=sb.url, headers={"Authorization": sb.token}, timeout=30)


def test_state_survives_a_restart(tmp_path: Path) -> None:
    with Sandbox.launch(data_dir=tmp_path, token="persist-token-1", settings=SMALL) as sb, _client(sb) as api:
        catalog_id = sb.info()["catalog_ids"][0]
        store = make_store(api)
        [delivery] = api.post(
            "/v0/catalogs/deliveries",
            json={
                "deliveries": [
                    {"catalog_ids": [catalog_id], "order_item_ids": [], "cloud_info": {"config": store["id"]}}
                ]
            },
        ).json()["deliveries"]
        wait_deliveries(api, [delivery["delivery_id"]])
        download = api.post("/v0/catalogs/download", json={"catalog_ids": [catalog_id], "order_item_ids": []}).json()
        wait_download(api, download["id"])
        pid = sb.process.pid
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    with Sandbox.launch(data_dir=tmp_path, token="persist-token-1", settings=SMALL) as sb, _client(sb) as api:
        assert sb.info()["catalog_ids"][0] == catalog_id
        assert store["id"] in [s["id"] for s in api.get("/v0/stores").json()["stores"]]
        listed = api.get("/v0/catalogs/deliveries", params={"delivery_id": delivery["delivery_id"]}).json()
        assert listed["deliveries"][0]["status"] == "SUCCESS"
        again = api.get(f"/v0/catalogs/download/{download['id']}").json()
        assert again["status"] == "success"
        assert httpx.get(again["signed_url"], headers={"Range": "bytes=0-1"}).content == b"PK"


def test_launch_failure_is_reported(tmp_path: Path) -> None:
    (tmp_path / "state.json").write_text('{"version": 999}')
    with pytest.raises(SandboxStartError, match="exited"):
        Sandbox.start(data_dir=tmp_path, settings=SMALL, startup_timeout=120)
