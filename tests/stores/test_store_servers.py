"""Store servers are separate processes that never outlive the sandbox; the CLI's ``deliveries open``."""

from __future__ import annotations

import argparse
import json
import os
import signal
import time
from typing import Any

import psutil
import pytest

from pixxel_geo.api.errors import InvalidInputError
from pixxel_geo.cli.deliveries_open import add_open_parser, parse_storage_options
from pixxel_geo.sandbox import Sandbox, SandboxSettings
from pixxel_geo.sandbox.emulators import parse_store_kinds
from tests.stores.conftest import STORES_TOKEN, reader_options, store_secrets

SMALL = SandboxSettings(bands=4, width=64, height=64, count=1, delivery_seconds=0.2, stores=("s3", "azure"))


def _gone(pid: int, timeout: float = 15.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
                return True
        except psutil.NoSuchProcess:
            return True
        time.sleep(0.05)
    return False


def test_servers_run_in_their_own_process_groups(store_sandbox: Sandbox, servers: dict[str, Any]) -> None:
    sandbox_group = os.getpgid(store_sandbox.process.pid)
    for server in servers.values():
        assert os.getpgid(server["pid"]) == server["pid"] != sandbox_group
        assert psutil.Process(server["pid"]).ppid() == store_sandbox.process.pid


def test_servers_stop_with_the_sandbox_and_die_when_it_is_killed(tmp_path: Any) -> None:
    with Sandbox.launch(data_dir=tmp_path / "a", token=STORES_TOKEN, settings=SMALL) as sb:
        pids = [s["pid"] for s in sb.info()["stores"].values()]
        assert len(pids) == 2 and all(psutil.pid_exists(p) for p in pids)
    assert all(_gone(p) for p in pids), "store servers outlived a stopped sandbox"

    sb = Sandbox.start(data_dir=tmp_path / "b", token=STORES_TOKEN, settings=SMALL)
    try:
        pids = [s["pid"] for s in sb.info()["stores"].values()]
        os.killpg(sb.process.pid, signal.SIGKILL)  # no chance to clean up: PR_SET_PDEATHSIG must
        sb.process.wait(timeout=10)
        assert all(_gone(p) for p in pids), "store servers outlived a killed sandbox"
    finally:
        sb.stop()


def test_store_kinds_are_checked() -> None:
    assert parse_store_kinds("s3, AZBLOB,gs") == ("s3", "azure", "gcs")
    with pytest.raises(ValueError, match="choose from s3, gcs, azure"):
        SandboxSettings(stores=("ftp",))


def _open_cli(client: Any, *argv: str) -> int:
    parser = argparse.ArgumentParser()
    add_open_parser(parser.add_subparsers())
    args = parser.parse_args(["open", *argv])
    code: int = args.handler(client, args)
    return code


@pytest.mark.parametrize("kind", ["gcs", "azure"])
def test_deliveries_open_lists_members_and_where(
    kind: str, store_sandbox: Sandbox, servers: dict[str, Any], store_client: Any, capsys: Any
) -> None:
    store = store_client.stores.create(
        name=f"cli-{kind}",
        type={"gcs": "GCS", "azure": "AZBLOB"}[kind],
        bucket=f"cli-{kind}-bucket",
        region="r1",
        secrets=store_secrets(kind, servers[kind]),
    )
    (delivery,) = store_client.deliveries.create(store.id, catalog_ids=[store_sandbox.info()["catalog_ids"][2]])
    store_client.deliveries.wait([delivery.delivery_id], timeout=60)
    options = [f"--storage-option={k}={v}" for k, v in reader_options(kind, servers[kind]).items()]
    assert _open_cli(store_client, delivery.delivery_id, *options, "--json") == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["url"] == delivery.location(store)
    catalog = store_client.catalogs.get(delivery.catalog_id)
    names = {m["name"]: m for m in shown["members"]}
    assert f"{catalog.item_id}.tif" in names and names[f"{catalog.item_id}.tif"]["stored"] is True
    assert shown["size"] > names[f"{catalog.item_id}.tif"]["size"] > 0
    assert _open_cli(store_client, delivery.delivery_id, *options) == 0
    table = capsys.readouterr().out
    assert table.startswith(shown["url"]) and f"{catalog.item_id}_footprint.geojson" in table


def test_storage_options_parse_and_bad_ones_are_named() -> None:
    assert parse_storage_options(["anon=true", "endpoint_url=http://h:1", "n=3"]) == {
        "anon": True,
        "endpoint_url": "http://h:1",
        "n": 3,
    }
    with pytest.raises(InvalidInputError, match="KEY=VALUE"):
        parse_storage_options(["no-equals-sign"])
