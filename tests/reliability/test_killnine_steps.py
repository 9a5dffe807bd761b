"""kill -9 at each step of a transfer and of an extraction: the rerun converges and leaves no orphans.

Each case runs the real thing in a child process that SIGKILLs itself at one step
(:mod:`tests.reliability.killnine_child`), checks what the kill left, reruns in this process, and
checks the result is byte-identical and the folder holds nothing else.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest

from pixxel_geo.transfer import download_products, fetch
from pixxel_geo.transfer.extract import extract_once, safe_extract
from tests.reliability.killnine_child import EXTRACT_STEPS, TRANSFER_STEPS

REPO_ROOT = Path(__file__).resolve().parents[2]
KEPT = [".pixxel-verified.json", ".pixxel-verified.lock", "a.zip"]
"""A finished download's folder: the file and the verified records (with their lock file)."""


@pytest.fixture
def catalog_id(client: Any) -> str:
    return next(iter(client.catalogs.search(limit=1))).id


@pytest.fixture
def reference(client: Any, catalog_id: str, tmp_path: Path) -> bytes:
    return download_products(client, catalog_ids=[catalog_id], dest=tmp_path / "reference")[0].read_bytes()


def run_child(*args: str) -> subprocess.CompletedProcess[bytes]:
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "tests.reliability.killnine_child", *args],
        env=env,
        cwd=REPO_ROOT,
        capture_output=True,
        timeout=300,
        check=False,
    )


# What each kill leaves behind, before the rerun cleans up or resumes.
LEFT_BY_TRANSFER = {
    "mid-download": {"a.zip.part", "a.zip.part.json", "a.zip.part.lock"},
    "mid-sidecar-write": {"a.zip.part", "a.zip.part.json", "a.zip.part.lock"},
    "after-final-flush": {"a.zip.part", "a.zip.part.json", "a.zip.part.lock"},
    "mid-records-write": {"a.zip.part", "a.zip.part.json", "a.zip.part.lock", ".pixxel-verified.lock"},
    "after-record": {"a.zip.part", "a.zip.part.json", "a.zip.part.lock", ".pixxel-verified.json"},
    "after-rename": {"a.zip", "a.zip.part.json", "a.zip.part.lock", ".pixxel-verified.json"},
}


@pytest.mark.parametrize("step", TRANSFER_STEPS)
def test_transfer_killed_at_each_step_converges_without_orphans(
    client: Any, sandbox: Any, catalog_id: str, reference: bytes, tmp_path: Path, step: str
) -> None:
    download = client.downloads.wait(client.downloads.create(catalog_ids=[catalog_id]).id)
    folder = tmp_path / "dl"
    folder.mkdir()
    path = folder / "a.zip"
    child = run_child("transfer", str(download.signed_url), str(path), step)
    assert child.returncode == -signal.SIGKILL, child.stderr.decode()[-2000:]
    left = set(os.listdir(folder))
    assert LEFT_BY_TRANSFER[step] <= left, left
    if step == "mid-sidecar-write":
        assert any(name.startswith("a.zip.part.json.tmp") for name in left)
    if step == "mid-records-write":
        assert any(name.startswith(".pixxel-verified.json.tmp") for name in left)

    sandbox.reset_requests()
    assert fetch(str(download.signed_url), path) == path
    assert path.read_bytes() == reference
    assert sorted(os.listdir(folder)) == KEPT
    fetched = sum(r["bytes"] for r in sandbox.requests(path_prefix="/files/") if r["range"] != "bytes=0-0")
    if step == "mid-download":
        assert 0 < fetched < len(reference)  # resumed: the bytes on disk were not fetched again
    elif step == "mid-sidecar-write":
        assert 0 < fetched <= len(reference)  # the half-written progress was not trusted
    else:
        assert fetched == 0  # complete on disk: verified (and placed) without a byte fetched

    # A third run keeps the verified copy and still leaves nothing else.
    fetch(str(download.signed_url), path)
    assert sorted(os.listdir(folder)) == KEPT


def make_product_zip(path: Path) -> dict[str, bytes]:
    members = {f"band{i:02}/data.bin": os.urandom(16 * 1024) for i in range(12)}
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return members


@pytest.mark.parametrize("step", EXTRACT_STEPS)
def test_extraction_killed_at_each_step_converges_without_orphans(tmp_path: Path, step: str) -> None:
    archive = tmp_path / "p.zip"
    members = make_product_zip(archive)
    target = tmp_path / "p"
    if step != "mid-extraction":
        safe_extract(archive, target)  # the replacing steps need an earlier extraction
        (target / "stale.txt").write_text("from an older version")
    child = run_child("extract", str(archive), str(target), step)
    assert child.returncode == -signal.SIGKILL, child.stderr.decode()[-2000:]
    left = sorted(os.listdir(tmp_path))
    prefix = ".pixxel-old-p-" if step == "after-move" else ".pixxel-extract-p-"
    assert any(name.startswith(prefix) for name in left), left

    files = extract_once(archive, target, overwrite=step == "after-move")
    assert sorted(os.listdir(tmp_path)) == ["p", "p.zip"]
    assert sorted(str(f.relative_to(target)) for f in files) == sorted(members)
    for name, data in members.items():
        assert (target / name).read_bytes() == data
