"""Fixtures of the documentation tests: a fresh sandbox for each page, as for a new user.

Its workspace has the default catalogs and a season of acquisitions over one farm (`timeseries`),
which the dask guide stacks.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from pixxel_geo.sandbox import Sandbox, SandboxSettings

DOCS_TOKEN = "docs-test-token-0123456789abcdef"
DOCS_SETTINGS = SandboxSettings(
    bands=16, width=256, height=256, download_seconds=0.2, delivery_seconds=0.3, timeseries=True
)


@pytest.fixture
def page_sandbox(tmp_path: Path) -> Iterator[Sandbox]:
    """A sandbox with a fresh workspace (small products), stopped after the page."""
    with Sandbox.launch(data_dir=tmp_path / "sandbox", token=DOCS_TOKEN, settings=DOCS_SETTINGS) as sb:
        yield sb
