"""Shared fixtures: one sandbox server (a child process) per test session, and clients on it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from pixxel_geo.sandbox import Sandbox, SandboxSettings

SANDBOX_TOKEN = "sandbox-test-token-0123456789"
TEST_SETTINGS = SandboxSettings(bands=16, width=256, height=256, download_seconds=0.2, delivery_seconds=0.3)


@pytest.fixture(scope="session")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    """A running sandbox with small products, shared by the session (stopped at the end)."""
    data_dir = tmp_path_factory.mktemp("sandbox")
    with Sandbox.launch(data_dir=data_dir, token=SANDBOX_TOKEN, settings=TEST_SETTINGS) as sb:
        yield sb


@pytest.fixture
def client(sandbox: Sandbox) -> Iterator[Any]:
    """A ``px.Client`` talking to the session sandbox."""
    import pixxel_geo as px

    with px.Client(api_key=sandbox.token, base_url=sandbox.url) as c:
        yield c


@pytest.fixture
async def async_client(sandbox: Sandbox) -> AsyncIterator[Any]:
    """A ``px.AsyncClient`` talking to the session sandbox."""
    import pixxel_geo as px

    async with px.AsyncClient(api_key=sandbox.token, base_url=sandbox.url) as c:
        yield c


@pytest.fixture(autouse=True)
def _clear_sandbox_faults(request: pytest.FixtureRequest) -> Iterator[None]:
    """After each test that used the sandbox, turn its faults off again."""
    yield
    if "sandbox" in request.fixturenames:
        request.getfixturevalue("sandbox").clear_faults()
