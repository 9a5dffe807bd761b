"""Sandbox load benchmark: operations/s and latency for 20 and 200 concurrent clients.

Starts a sandbox (a child process, small products) on loopback, then runs N concurrent
clients (asyncio + httpx, one connection each) for a fixed time per level. Each client
repeats one "session" of the API calls a user makes around a download and a delivery:

1. ``POST /v0/catalogs/download`` (a write: a new download resource)
2. ``GET /v0/catalogs/download/{id}``
3. ``POST /v0/catalogs/deliveries`` (a write: a new delivery into a store made once)
4. ``GET /v0/catalogs/deliveries?delivery_id=…``

Every answer must be 2xx; any other status or a transport error counts as an error. The
state starts with ``--preload`` finished downloads and deliveries (10,000 by default: about
the 1.3 MB ``state.json`` of the issue's measurement) and grows through the run (the levels
run in order on one server). After the last level every created resource is read back once: a
resource the server answered as created but cannot find counts as lost.

Reported per level: operations/s, p50 and p99 latency (ms), errors, lost, and the state's
size. Goal: throughput at 200 clients within 2x of 20 clients'.

Bounded: each level runs ``--seconds`` (default 20) and stops; loopback only.

Usage:
    .venv/bin/python benchmarks/sandbox_load.py [--seconds 20] [--levels 20,200] [--json out.json]

To measure another checkout's sandbox (e.g. before a change), put it first on ``PYTHONPATH``:
the sandbox child process imports ``pixxel_geo`` from there.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import ssl
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
# The sandbox child imports pixxel_geo from PYTHONPATH: this checkout unless told otherwise.
os.environ.setdefault("PYTHONPATH", str(ROOT))

from pixxel_geo.sandbox import Sandbox, SandboxSettings  # noqa: E402

SETTINGS = SandboxSettings(bands=4, width=64, height=64, count=6, download_seconds=0.5, delivery_seconds=0.5)
TOKEN = "sandbox-load-benchmark-token"


class Level:
    """What one level of concurrency measured."""

    def __init__(self, clients: int) -> None:
        self.clients = clients
        self.latencies: list[float] = []
        self.errors = 0
        self.downloads: list[str] = []
        self.deliveries: list[str] = []
        self.seconds = 0.0

    def report(self) -> dict[str, Any]:
        ordered = sorted(self.latencies)
        ops = len(ordered)
        return {
            "clients": self.clients,
            "operations": ops,
            "seconds": round(self.seconds, 2),
            "ops_per_s": round(ops / self.seconds, 1) if self.seconds else 0.0,
            "p50_ms": round(1000 * statistics.median(ordered), 1) if ordered else None,
            "p99_ms": round(1000 * ordered[min(ops - 1, int(ops * 0.99))], 1) if ordered else None,
            "errors": self.errors,
        }


async def _call(level: Level, api: httpx.AsyncClient, method: str, url: str, **kwargs: Any) -> Any:
    started = time.perf_counter()
    try:
        response = await api.request(method, url, **kwargs)
    except httpx.HTTPError:
        level.errors += 1
        return None
    level.latencies.append(time.perf_counter() - started)
    if not 200 <= response.status_code < 300:
        level.errors += 1
        return None
    return response.json()


async def _client(
    level: Level, api: httpx.AsyncClient, catalog_ids: list[str], store_id: str, deadline: float, n: int
) -> None:
    turn = n
    while time.monotonic() < deadline:
        catalog_id = catalog_ids[turn % len(catalog_ids)]
        turn += 1
        created = await _call(
            level, api, "POST", "/v0/catalogs/download", json={"catalog_ids": [catalog_id], "order_item_ids": []}
        )
        if created is not None:
            level.downloads.append(created["id"])
            await _call(level, api, "GET", f"/v0/catalogs/download/{created['id']}")
        request = {"catalog_ids": [catalog_id], "order_item_ids": [], "cloud_info": {"config": store_id}}
        delivered = await _call(level, api, "POST", "/v0/catalogs/deliveries", json={"deliveries": [request]})
        if delivered is not None:
            delivery_id = delivered["deliveries"][0]["delivery_id"]
            level.deliveries.append(delivery_id)
            await _call(level, api, "GET", "/v0/catalogs/deliveries", params={"delivery_id": delivery_id})


async def _run_level(sandbox: Sandbox, clients: int, seconds: float, catalog_ids: list[str], store_id: str) -> Level:
    """Run ``clients`` clients, each with its own connection, for ``seconds``.

    The clients are built (and connected) before the clock starts: building 200 httpx
    clients costs the load generator seconds of CPU on this 2-core machine (one TLS context
    each, unless shared as here), which is no part of the server's throughput.
    """
    level = Level(clients)
    headers = {"Authorization": f"Bearer {TOKEN}"}
    limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
    tls = ssl.create_default_context()  # unused on plain HTTP; shared so that it is built once
    apis = [
        httpx.AsyncClient(base_url=sandbox.url, headers=headers, timeout=120, limits=limits, verify=tls)
        for _ in range(clients)
    ]
    try:
        await asyncio.gather(*(api.get("/ping") for api in apis))
        started = time.monotonic()
        deadline = started + seconds
        await asyncio.gather(*(_client(level, api, catalog_ids, store_id, deadline, n) for n, api in enumerate(apis)))
        level.seconds = time.monotonic() - started
    finally:
        await asyncio.gather(*(api.aclose() for api in apis))
    return level


async def _lost(sandbox: Sandbox, levels: list[Level]) -> int:
    """Created resources the server no longer knows (read back 20 at a time)."""
    headers = {"Authorization": f"Bearer {TOKEN}"}
    lost = 0
    limits = httpx.Limits(max_connections=20)
    async with httpx.AsyncClient(base_url=sandbox.url, headers=headers, timeout=120, limits=limits) as api:
        semaphore = asyncio.Semaphore(20)

        async def check(url: str, **kwargs: Any) -> None:
            nonlocal lost
            async with semaphore:
                response = await api.get(url, **kwargs)
                found = response.status_code == 200 and (
                    "deliveries" not in response.json() or len(response.json()["deliveries"]) == 1
                )
                lost += 0 if found else 1

        checks = [check(f"/v0/catalogs/download/{i}") for level in levels for i in level.downloads]
        checks += [
            check("/v0/catalogs/deliveries", params={"delivery_id": i}) for level in levels for i in level.deliveries
        ]
        await asyncio.gather(*checks)
    return lost


def _create_store(sandbox: Sandbox) -> str:
    body = {
        "name": f"load-{uuid.uuid4().hex[:8]}",
        "type": "S3",
        "configs": {"bucket": "load-bucket", "region": "us-east-2"},
        "secrets": {"access_key_id": "AKIAEXAMPLE", "secret_access_key": "not-a-secret"},
    }
    response = httpx.post(f"{sandbox.url}/v0/stores", json=body, headers={"Authorization": f"Bearer {TOKEN}"})
    response.raise_for_status()
    return str(response.json()["id"])


def _preload(data_dir: Path, catalog_ids: list[str], store_id: str, count: int) -> None:
    """Add ``count`` finished downloads and deliveries to the state, as a long-running sandbox has.

    Written as a ``state.json`` of the format every sandbox version reads (the SQLite state
    migrates it on start), merged with one already there.
    """
    path = data_dir / "state.json"
    state = json.loads(path.read_text()) if path.exists() else {"version": 1, "stores": {}}
    now = time.time() - 3600
    downloads = state.setdefault("downloads", {})
    deliveries = state.setdefault("deliveries", {})
    for n in range(count // 2):
        catalog_id = catalog_ids[n % len(catalog_ids)]
        download_id, delivery_id = str(uuid.uuid4()), str(uuid.uuid4())
        downloads[download_id] = {
            "id": download_id,
            "catalog_ids": [catalog_id],
            "created": now,
            "seconds": 0.5,
            "fail": False,
        }
        deliveries[delivery_id] = {
            "delivery_id": delivery_id,
            "catalog_id": catalog_id,
            "order_item_id": None,
            "store_id": store_id,
            "cloud_path": "",
            "target_path": f"order/{catalog_id}/catalogs.zip",
            "task_id": None,
            "created": now,
            "seconds": 0.5,
            "fail": False,
            "done_at": now + 1,
            "failed_at": None,
            "created_by": "00000000-0000-4000-8000-000000000001",
        }
    path.write_text(json.dumps(state, indent=1, sort_keys=True))


def _state_size(data_dir: Path) -> int:
    names = ("state.json", "state.sqlite3")
    return sum((data_dir / name).stat().st_size for name in names if (data_dir / name).exists())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=20.0, help="seconds per level (default 20)")
    parser.add_argument("--levels", default="20,200", help="concurrent clients per level (default 20,200)")
    parser.add_argument(
        "--preload", type=int, default=10_000, help="finished resources in the state before the run (default 10000)"
    )
    parser.add_argument("--data-dir", type=Path, default=None, help="sandbox data dir (default: a temporary one)")
    parser.add_argument("--json", type=Path, default=None, help="also write the results here")
    args = parser.parse_args()
    levels = [int(n) for n in args.levels.split(",")]
    if not 0 < args.seconds <= 600 or not all(0 < n <= 500 for n in levels):
        parser.error("--seconds must be in (0, 600] and each level in 1..500 clients")

    with tempfile.TemporaryDirectory(prefix="pixxel-load-") as scratch:
        data_dir = args.data_dir or Path(scratch)
        with Sandbox.launch(data_dir=data_dir, token=TOKEN, settings=SETTINGS) as sandbox:
            catalog_ids = list(sandbox.info()["catalog_ids"])
            store_id = _create_store(sandbox)
        if args.preload:
            _preload(data_dir, catalog_ids, store_id, args.preload)
        with Sandbox.launch(data_dir=data_dir, token=TOKEN, settings=SETTINGS) as sandbox:
            print(json.dumps({"preloaded_records": args.preload, "state_bytes": _state_size(data_dir)}), flush=True)
            done: list[Level] = []
            results = []
            for clients in levels:
                level = asyncio.run(_run_level(sandbox, clients, args.seconds, catalog_ids, store_id))
                done.append(level)
                row = {**level.report(), "state_bytes_after": _state_size(data_dir)}
                results.append(row)
                print(json.dumps(row), flush=True)
            lost = asyncio.run(_lost(sandbox, done))
    created = sum(len(level.downloads) + len(level.deliveries) for level in done)
    summary = {"preloaded_records": args.preload, "levels": results, "created": created, "lost": lost}
    if len(results) >= 2 and results[0]["ops_per_s"]:
        summary["throughput_ratio_last_to_first"] = round(results[-1]["ops_per_s"] / results[0]["ops_per_s"], 2)
    print(json.dumps(summary, indent=1))
    if args.json:
        args.json.write_text(json.dumps(summary, indent=1))


if __name__ == "__main__":
    main()
