"""Product downloads against the sandbox over real HTTP, with its fault injection."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path
from typing import Any

import pytest

import pixxel_geo as px
from pixxel_geo.api.events import Event, StateChanged
from pixxel_geo.transfer import FileFinished, adownload_products, download_products

REPO_ROOT = Path(__file__).resolve().parents[2]
PART = 128 * 1024


@pytest.fixture
def catalog_id(client: Any) -> str:
    return next(iter(client.catalogs.search(limit=1))).id


def file_requests(sandbox: Any) -> list[dict[str, Any]]:
    return [r for r in sandbox.requests(path_prefix="/files/") if r["method"] == "GET"]


def reference_digest(client: Any, catalog_id: str, tmp_path: Path) -> str:
    """The product's sha-256 from a plain fault-free download."""
    path = download_products(client, catalog_ids=[catalog_id], dest=tmp_path / "reference")[0]
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_download_is_parallel_verified_and_placed(client: Any, sandbox: Any, catalog_id: str, tmp_path: Path) -> None:
    sandbox.reset_requests()
    events: list[Event] = []
    paths = download_products(client, catalog_ids=[catalog_id], dest=tmp_path, part_size=PART, on_event=events.append)
    assert paths == [tmp_path / f"pixxel-{catalog_id}.zip"]
    with zipfile.ZipFile(paths[0]) as archive:
        assert archive.testzip() is None
        assert any(name.endswith(".tif") for name in archive.namelist())
    requests = file_requests(sandbox)
    assert requests[0]["range"] == "bytes=0-0"
    size = paths[0].stat().st_size
    assert len(requests) - 1 == -(-size // PART)  # one request per part, nothing fetched twice
    assert {r["status"] for r in requests} == {206}
    finished = [e for e in events if isinstance(e, FileFinished)]
    assert finished and finished[0].verified == "sha-256"
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        ".pixxel-verified.json",
        ".pixxel-verified.lock",
        paths[0].name,
    ]


def test_resume_after_sigkill_does_not_refetch_finished_parts(
    client: Any, sandbox: Any, catalog_id: str, tmp_path: Path
) -> None:
    expected = reference_digest(client, catalog_id, tmp_path)
    dest = tmp_path / "out"
    sidecar = dest / f"pixxel-{catalog_id}.zip.part.json"
    sandbox.set_faults(bandwidth=200e3)  # slow enough to kill it half way
    script = (
        "import pixxel_geo as px, sys\n"
        "from pixxel_geo.transfer import download_products\n"
        f"c = px.Client(api_key={sandbox.token!r}, base_url={sandbox.url!r})\n"
        f"download_products(c, catalog_ids=[{catalog_id!r}], dest={str(dest)!r},"
        f" connections=2, part_size={PART})\n"
    )
    child = subprocess.Popen([sys.executable, "-c", script], cwd=REPO_ROOT)
    try:
        deadline = time.monotonic() + 60
        done: list[int] = []
        while time.monotonic() < deadline and len(done) < 3:
            assert child.poll() is None, "the child finished before it could be killed"
            if sidecar.exists():
                done = json.loads(sidecar.read_text())["done"]
            time.sleep(0.05)
        assert len(done) >= 3
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.kill()
        child.wait()
    done = json.loads(sidecar.read_text())["done"]  # what survived the kill
    sandbox.clear_faults()
    sandbox.reset_requests()

    events: list[Event] = []
    path = download_products(client, catalog_ids=[catalog_id], dest=dest, part_size=PART, on_event=events.append)[0]

    assert hashlib.sha256(path.read_bytes()).hexdigest() == expected
    # only this run's requests (the killed child's last responses may still be logged)
    download_id = next(e.subject for e in events if isinstance(e, StateChanged))
    mine = [r for r in file_requests(sandbox) if r["path"].startswith(f"/files/{download_id}/")]
    asked = {r["range"] for r in mine}
    size = path.stat().st_size
    for index in done:
        start = index * PART
        assert f"bytes={start}-{min(size, start + PART) - 1}" not in asked
    assert sum(r["bytes"] for r in mine) <= size - len(done) * PART + 1
    assert not sidecar.exists()


def test_connections_cut_mid_part_are_resumed(client: Any, sandbox: Any, catalog_id: str, tmp_path: Path) -> None:
    expected = reference_digest(client, catalog_id, tmp_path)
    sandbox.set_faults(cut_after=50_001, cut_count=12)
    sandbox.reset_requests()
    path = download_products(client, catalog_ids=[catalog_id], dest=tmp_path / "out", part_size=PART)[0]
    assert hashlib.sha256(path.read_bytes()).hexdigest() == expected
    requests = file_requests(sandbox)
    ranges = [tuple(map(int, r["range"].split("=")[1].split("-"))) for r in requests]
    cut = [(s, e) for (s, e), r in zip(ranges, requests, strict=True) if r["bytes"] == 50_001 < e - s + 1]
    assert len(cut) >= 5
    for start, end in cut:  # each cut request is continued from where it stopped
        assert (start + 50_001, end) in ranges


def test_5xx_on_range_requests_are_retried(client: Any, sandbox: Any, catalog_id: str, tmp_path: Path) -> None:
    expected = reference_digest(client, catalog_id, tmp_path)
    sandbox.set_faults(server_errors=5, server_error_status=503, server_error_prefix="/files/")
    sandbox.reset_requests()
    path = download_products(client, catalog_ids=[catalog_id], dest=tmp_path / "out", part_size=PART)[0]
    assert hashlib.sha256(path.read_bytes()).hexdigest() == expected
    assert sum(1 for r in file_requests(sandbox) if r["status"] == 503) == 5


def test_expiring_url_is_refreshed_during_the_transfer(
    client: Any, sandbox: Any, catalog_id: str, tmp_path: Path
) -> None:
    expected = reference_digest(client, catalog_id, tmp_path)
    sandbox.set_faults(url_lifetime=1.0, bandwidth=400e3)
    sandbox.reset_requests()
    path = download_products(client, catalog_ids=[catalog_id], dest=tmp_path / "out", connections=2, part_size=PART)[0]
    assert hashlib.sha256(path.read_bytes()).hexdigest() == expected
    statuses = [r["status"] for r in file_requests(sandbox)]
    assert 403 in statuses  # the URL did expire mid-transfer...
    renewals = [r for r in sandbox.requests(path_prefix="/v0/catalogs/download/") if r["method"] == "GET"]
    assert len(renewals) >= 2  # ...and was renewed through GET /v0/catalogs/download/{id}


def test_server_without_range_support(client: Any, sandbox: Any, catalog_id: str, tmp_path: Path) -> None:
    expected = reference_digest(client, catalog_id, tmp_path)
    sandbox.set_faults(no_range=True)
    sandbox.reset_requests()
    events: list[Event] = []
    path = download_products(client, catalog_ids=[catalog_id], dest=tmp_path / "out", on_event=events.append)[0]
    assert hashlib.sha256(path.read_bytes()).hexdigest() == expected
    assert [r["status"] for r in file_requests(sandbox)] == [200, 200]
    finished = [e for e in events if isinstance(e, FileFinished)]
    assert finished[0].verified == "sha-256"


def test_existing_verified_download_is_skipped_unless_overwrite(
    client: Any, sandbox: Any, catalog_id: str, tmp_path: Path
) -> None:
    first = download_products(client, catalog_ids=[catalog_id], dest=tmp_path)[0]
    sandbox.reset_requests()
    events: list[Event] = []
    again = download_products(client, catalog_ids=[catalog_id], dest=tmp_path, on_event=events.append)
    assert again == [first]
    assert [r["range"] for r in file_requests(sandbox)] == ["bytes=0-0"]
    assert any(isinstance(e, FileFinished) and e.skipped for e in events)

    sandbox.reset_requests()
    download_products(client, catalog_ids=[catalog_id], dest=tmp_path, overwrite=True)
    assert len(file_requests(sandbox)) > 1


def test_extract_gives_the_product_files(client: Any, catalog_id: str, tmp_path: Path) -> None:
    files = download_products(client, catalog_ids=[catalog_id], dest=tmp_path, extract=True)
    folder = tmp_path / f"pixxel-{catalog_id}"
    assert all(f.parent == folder for f in files)
    names = [f.name for f in files]
    for ending in (".tif", ".mask.tif", ".jpeg", "_footprint.geojson", "_bbox.geojson", ".hdr", ".xml"):
        assert any(n.endswith(ending) for n in names), (ending, names)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".pixxel-extract-")]

    # again: the folder holds the archive's files, kept as they are
    assert download_products(client, catalog_ids=[catalog_id], dest=tmp_path, extract=True) == files
    # a folder that no longer matches the archive is not taken for its extraction
    geojson = next(f for f in files if f.name.endswith("footprint.geojson"))
    geojson.write_text("{}")
    with pytest.raises(px.TransferError, match="does not hold the files"):
        download_products(client, catalog_ids=[catalog_id], dest=tmp_path, extract=True)
    assert geojson.read_text() == "{}"  # nothing touched


async def test_async_download_matches_sync(client: Any, async_client: Any, catalog_id: str, tmp_path: Path) -> None:
    sync_path = download_products(client, catalog_ids=[catalog_id], dest=tmp_path / "sync")[0]
    events: list[Event] = []
    async_paths = await adownload_products(
        async_client, catalog_ids=[catalog_id], dest=tmp_path / "async", on_event=events.append
    )
    assert [p.name for p in async_paths] == [sync_path.name]
    assert async_paths[0].read_bytes() == sync_path.read_bytes()
    assert any(isinstance(e, FileFinished) for e in events)
    # the public method on the client is the same function
    via_client = await async_client.download(catalog_ids=[catalog_id], dest=tmp_path / "async")
    assert via_client == async_paths


def test_client_download_method_and_bad_input(client: Any, catalog_id: str, tmp_path: Path) -> None:
    assert client.download(catalog_ids=[catalog_id], dest=tmp_path) == [tmp_path / f"pixxel-{catalog_id}.zip"]
    with pytest.raises(px.InvalidInputError, match="exactly one"):
        client.download(catalog_ids=[catalog_id], order_item_ids=["x"], dest=tmp_path)


def test_kill_9_inside_large_parts_resumes_from_the_recorded_offsets(
    client: Any, sandbox: Any, catalog_id: str, tmp_path: Path
) -> None:
    expected = reference_digest(client, catalog_id, tmp_path)
    dest = tmp_path / "out"
    sidecar = dest / f"pixxel-{catalog_id}.zip.part.json"
    sandbox.set_faults(bandwidth=200e3)  # the default plan's first parts take seconds each
    script = (
        "from pixxel_geo.transfer import download_products\n"
        "import pixxel_geo as px\n"
        f"c = px.Client(api_key={sandbox.token!r}, base_url={sandbox.url!r})\n"
        f"download_products(c, catalog_ids=[{catalog_id!r}], dest={str(dest)!r}, connections=2)\n"
    )
    child = subprocess.Popen([sys.executable, "-c", script], cwd=REPO_ROOT)
    try:
        deadline = time.monotonic() + 60
        saved: dict[str, Any] = {}
        while time.monotonic() < deadline and sum(saved.get("written", [])) < 100_000:
            assert child.poll() is None, "the child finished before it could be killed"
            if sidecar.exists():  # written by the background sync, not at part ends
                saved = json.loads(sidecar.read_text())
            time.sleep(0.05)
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.kill()
        child.wait()
    saved = json.loads(sidecar.read_text())  # what survived the kill
    partial = [i for i, w in enumerate(saved["written"]) if 0 < w < saved["parts"][i][1] - saved["parts"][i][0] + 1]
    assert partial, "no part was interrupted half way"
    sandbox.clear_faults()
    sandbox.reset_requests()

    events: list[Event] = []
    path = download_products(client, catalog_ids=[catalog_id], dest=dest, on_event=events.append)[0]

    assert hashlib.sha256(path.read_bytes()).hexdigest() == expected
    download_id = next(e.subject for e in events if isinstance(e, StateChanged))
    mine = [r for r in file_requests(sandbox) if r["path"].startswith(f"/files/{download_id}/")]
    asked = {r["range"] for r in mine}
    for index in partial:  # continued where the sidecar said, not from the part's start
        start, end = saved["parts"][index]
        assert f"bytes={start + saved['written'][index]}-{end}" in asked
        assert f"bytes={start}-{end}" not in asked
    assert sum(r["bytes"] for r in mine) <= path.stat().st_size - sum(saved["written"]) + 1
    finished = [e for e in events if isinstance(e, FileFinished)]
    assert finished[0].verified == "sha-256"
