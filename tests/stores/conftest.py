"""Fixtures: one sandbox whose S3 / GCS / Azure stores are real protocol servers (moto,
gcp-storage-emulator, Azurite), each a separate process in its own group, started by the
sandbox (``SandboxSettings(stores=…)``) and stopped with it; they die with it if it is killed.

Nothing here skips: without Node.js or Azurite (``npm ci``) the session fails with a message
saying what to install.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from pixxel_geo.sandbox import Sandbox, SandboxSettings
from pixxel_geo.sandbox.emulators import EmulatorError, find_azurite

STORES_TOKEN = "stores-test-token-0123456789"
STORES_SETTINGS = SandboxSettings(
    bands=16, width=256, height=256, download_seconds=0.2, delivery_seconds=0.3, stores=("s3", "gcs", "azure")
)
STORE_TYPES = {"s3": "S3", "gcs": "GCS", "azure": "AZBLOB"}


@pytest.fixture(scope="session")
def store_sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    """A sandbox running moto, gcp-storage-emulator and Azurite beside it."""
    try:
        find_azurite()
    except EmulatorError as exc:
        pytest.fail(f"tests/stores need Azurite: {exc}", pytrace=False)
    data_dir = tmp_path_factory.mktemp("store-sandbox")
    with Sandbox.launch(data_dir=data_dir, token=STORES_TOKEN, settings=STORES_SETTINGS, startup_timeout=300) as sb:
        yield sb


@pytest.fixture(scope="session")
def servers(store_sandbox: Sandbox) -> dict[str, dict[str, Any]]:
    """The store servers by kind: ``{"type", "endpoint", "credentials", "pid"}``."""
    found: dict[str, dict[str, Any]] = store_sandbox.info()["stores"]
    assert sorted(found) == ["azure", "gcs", "s3"]
    return found


@pytest.fixture
def store_client(store_sandbox: Sandbox) -> Iterator[Any]:
    """A ``px.Client`` on the store sandbox."""
    import pixxel_geo as px

    with px.Client(api_key=store_sandbox.token, base_url=store_sandbox.url) as c:
        yield c


def reader_options(kind: str, server: dict[str, Any]) -> dict[str, Any]:
    """The ``storage_options`` a user would give to read from the emulator of ``kind``."""
    creds = server["credentials"]
    if kind == "s3":
        return {"endpoint_url": server["endpoint"], "key": creds["access_key_id"], "secret": creds["secret_access_key"]}
    if kind == "gcs":
        return {"endpoint_url": server["endpoint"]}
    return {"connection_string": creds["connection_string"]}


def store_secrets(kind: str, server: dict[str, Any]) -> dict[str, str]:
    """The ``secrets`` of a store that can write into the emulator of ``kind``."""
    creds = dict(server["credentials"])
    if kind == "azure":
        return {"account_name": creds["account_name"], "account_key": creds["account_key"]}
    return creds
