"""Helpers for the sandbox's own tests: raw httpx against the running server."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from pixxel_geo.sandbox import Sandbox


@pytest.fixture
def api(sandbox: Sandbox) -> Iterator[httpx.Client]:
    """An httpx client on the sandbox, authenticated with its token."""
    with httpx.Client(base_url=sandbox.url, headers={"Authorization": f"Bearer {sandbox.token}"}, timeout=30) as c:
        yield c


@pytest.fixture
def catalog_ids(sandbox: Sandbox) -> list[str]:
    """The seeded catalog ids."""
    return list(sandbox.info()["catalog_ids"])
