"""Fixtures for the streaming tests: a product on the session sandbox, a local copy of it,
sandboxes launched with other product layouts (DEFLATED members, pixel interleave), and a small
range server (a child process) for fsspec's scenario trees, which no product has."""

from __future__ import annotations

import gc
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import fsspec
import pytest

from pixxel_geo.io.session import IOSession, set_default_session
from pixxel_geo.sandbox import Sandbox, SandboxSettings

HERE = Path(__file__).parent

# The entry point in pyproject registers "pixxel" once the package is installed; a plain
# checkout on sys.path has no entry points, so register the same class by name.
if "pixxel" not in fsspec.registry and "pixxel" not in fsspec.available_protocols():
    fsspec.register_implementation("pixxel", "pixxel_geo.io.filesystem.PixxelFileSystem")


@pytest.fixture
def io_session() -> Iterator[IOSession]:
    """A fresh :class:`IOSession` as the process's default for one test.

    Its caches are empty (no download ids, URLs, archives or product infos from earlier
    tests), so a test sees what a new process would, on the session's sandbox.
    """
    session = IOSession()
    previous = set_default_session(session)
    try:
        yield session
    finally:
        set_default_session(previous)
        session.close()
        # What the test left (rasterio datasets among it) goes now, on this thread, not in a
        # later test's thread: a dataset's own context is re-entered when it is closed.
        gc.collect()


@pytest.fixture(scope="session")
def catalog(sandbox: Any) -> Any:
    """The first catalog of the sandbox workspace."""
    import pixxel_geo as px

    with px.Client(api_key=sandbox.token, base_url=sandbox.url) as c:
        return next(iter(c.catalogs.search(limit=1)))


@pytest.fixture(scope="session")
def local_product(sandbox: Any, catalog: Any, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The catalog's zip downloaded whole (one GET), extracted: ``<dir>/<member>``."""
    import httpx

    import pixxel_geo as px

    with px.Client(api_key=sandbox.token, base_url=sandbox.url) as c:
        download = c.downloads.wait(c.downloads.create(catalog_ids=[catalog.id]).id, timeout=60)
    out = tmp_path_factory.mktemp("local_product")
    zip_path = out / "product.zip"
    with httpx.stream("GET", download.signed_url) as response, zip_path.open("wb") as f:
        response.raise_for_status()
        for chunk in response.iter_bytes():
            f.write(chunk)
    with zipfile.ZipFile(zip_path) as zf:
        zf.extractall(out / "members")
    return out / "members"


DEFLATED_SETTINGS = SandboxSettings(
    bands=16, width=256, height=256, count=2, download_seconds=0.1, interleave="mixed", deflate_members=True
)
"""Catalog 0 band-interleaved, catalog 1 pixel-interleaved; every zip member DEFLATED."""


@pytest.fixture(scope="module")
def deflated_sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    """A sandbox whose products have DEFLATED members (see :data:`DEFLATED_SETTINGS`)."""
    data_dir = tmp_path_factory.mktemp("deflated-sandbox")
    with Sandbox.launch(data_dir=data_dir, token="deflated-token-0123456789", settings=DEFLATED_SETTINGS) as sb:
        yield sb


@pytest.fixture(scope="session")
def served_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder whose files the range server serves (fsspec's scenario trees)."""
    return tmp_path_factory.mktemp("served")


@pytest.fixture(scope="session")
def range_server(served_dir: Path) -> Iterator[str]:
    """Base URL of a GET-only range server (child process) serving ``served_dir``."""
    process = subprocess.Popen(
        [sys.executable, str(HERE / "rangeserver.py"), str(served_dir)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        port = process.stdout.readline().strip()
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(10)
        if process.stdout is not None:
            process.stdout.close()
