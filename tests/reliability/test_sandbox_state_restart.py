"""No lost state: whatever the sandbox answered as created survives a kill -9 of the server.

Many clients create at once (their commits share transactions), the server is SIGKILLed right after
the last answer, and a new server on the same data dir knows every one of them.
"""

from __future__ import annotations

import asyncio
import os
import signal
import uuid
from pathlib import Path

import httpx

from pixxel_geo.sandbox import Sandbox, SandboxSettings

SMALL = SandboxSettings(bands=4, width=64, height=64, count=3, download_seconds=0.1, delivery_seconds=0.1)
TOKEN = "state-restart-token-1"


async def _create_many(sandbox: Sandbox, catalog_id: str) -> tuple[list[str], list[str]]:
    headers = {"Authorization": f"Bearer {TOKEN}"}
    limits = httpx.Limits(max_connections=50)
    async with httpx.AsyncClient(base_url=sandbox.url, headers=headers, timeout=60, limits=limits) as api:

        async def download() -> str:
            response = await api.post("/v0/catalogs/download", json={"catalog_ids": [catalog_id], "order_item_ids": []})
            assert response.status_code == 201, response.text
            return str(response.json()["id"])

        async def store() -> str:
            body = {
                "name": f"store-{uuid.uuid4().hex[:8]}",
                "type": "S3",
                "configs": {"bucket": "my-bucket", "region": "us-east-2"},
                "secrets": {"access_key_id": "AKIAEXAMPLE", "secret_access_key": "s3cr3t-value"},
            }
            response = await api.post("/v0/stores", json=body)
            assert response.status_code == 200, response.text
            return str(response.json()["id"])

        downloads = [asyncio.ensure_future(download()) for _ in range(300)]
        stores = [asyncio.ensure_future(store()) for _ in range(40)]
        return list(await asyncio.gather(*downloads)), list(await asyncio.gather(*stores))


def test_everything_answered_survives_a_kill_nine(tmp_path: Path) -> None:
    with Sandbox.launch(data_dir=tmp_path, token=TOKEN, settings=SMALL) as sandbox:
        catalog_id = sandbox.info()["catalog_ids"][0]
        download_ids, store_ids = asyncio.run(_create_many(sandbox, catalog_id))
        os.killpg(sandbox.process.pid, signal.SIGKILL)  # no shutdown: only what was committed counts
        sandbox.process.wait(timeout=30)
    assert len(set(download_ids)) == 300 and len(set(store_ids)) == 40
    with (
        Sandbox.launch(data_dir=tmp_path, token=TOKEN, settings=SMALL) as sandbox,
        httpx.Client(base_url=sandbox.url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=60) as api,
    ):
        listed = {s["id"] for s in api.get("/v0/stores").json()["stores"]}
        assert set(store_ids) <= listed
        for download_id in download_ids:
            response = api.get(f"/v0/catalogs/download/{download_id}")
            assert response.status_code == 200, download_id
            assert response.json()["status"] == "success"
