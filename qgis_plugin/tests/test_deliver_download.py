"""Deliver to a store and download to a folder, through QgsTask, while the GUI thread stays free."""

from __future__ import annotations

import base64
import hashlib
import time
import urllib.request
import zipfile
from pathlib import Path
from typing import Any

import pytest
from conftest import wait_idle
from qgis.core import Qgis, QgsApplication
from qgis.PyQt.QtCore import QTimer


class Ticker:
    """Counts QTimer ticks on the GUI thread; ``marks`` records the count at chosen moments."""

    def __init__(self) -> None:
        self.ticks = 0
        self.marks: list[int] = []
        self.timer = QTimer()
        self.timer.setInterval(5)
        self.timer.timeout.connect(self._tick)

    def _tick(self) -> None:
        self.ticks += 1

    def mark(self, *_: Any) -> None:
        self.marks.append(self.ticks)


def test_deliver_to_a_store_shows_statuses(searched: Any, sandbox: Any, qtbot: Any, qgis_iface: Any) -> None:
    dock = searched
    store = sandbox.call("POST", "/v0/stores", {
        "name": "qgis-tests", "type": "S3", "configs": {"bucket": "qgis-tests", "region": "us-east-1"},
        "secrets": {"access_key_id": "AKIATEST", "secret_access_key": "secret"},
    })  # fmt: skip
    with qtbot.waitSignal(dock.runner.all_finished, timeout=30_000):
        dock.w.refresh_stores_button.click()
    index = dock.w.store_combo.findData(store["id"])
    assert index >= 0
    dock.w.store_combo.setCurrentIndex(index)

    chosen = dock.catalogs[:2]
    dock.select_catalogs([c.id for c in chosen])
    ticker = Ticker()
    ticker.timer.start()
    task = dock.deliver_selected()
    assert task is not None
    task.reported.connect(ticker.mark)  # delivery state changes, reported from the worker thread
    assert set(dock.delivery_statuses().values()) == {"REQUESTED"}
    with qtbot.waitSignal(dock.runner.all_finished, timeout=60_000):
        pass
    ticker.timer.stop()

    assert dock.delivery_statuses() == {c.item_id: "SUCCESS" for c in chosen}
    assert ticker.marks and ticker.ticks > ticker.marks[0]  # the GUI thread kept ticking meanwhile
    assert any("completed" in m for m in qgis_iface.messageBar().get_messages(Qgis.Success))
    delivered = list((sandbox.data_dir / "buckets" / "qgis-tests").rglob("*"))
    assert [p for p in delivered if p.is_file()], "nothing landed in the store's bucket"


def _fresh_download(sandbox: Any, catalog_id: str) -> str:
    created = sandbox.call("POST", "/v0/catalogs/download", {"catalog_ids": [catalog_id]})
    return created["id"]


def _expected_digest(sandbox: Any, download_id: str) -> str:
    download = sandbox.call("GET", f"/v0/catalogs/download/{download_id}")
    probe = urllib.request.Request(download["signed_url"], headers={"Range": "bytes=0-0"})
    with urllib.request.urlopen(probe, timeout=30) as response:
        return response.headers["Repr-Digest"].split(":")[1]


def test_download_streams_to_a_folder_with_progress(searched: Any, sandbox: Any, qtbot: Any, tmp_path: Path) -> None:
    dock = searched
    from pixxel_plugin.filefetch import product_path

    catalog = dock.catalogs[0]
    dock.select_catalogs([catalog.id])
    dock.w.folder_edit.setText(str(tmp_path))
    sandbox.set_faults(bandwidth=4e6)  # a transfer that takes a while: several progress steps

    ticker = Ticker()
    progress: list[float] = []
    ticker.timer.start()
    tasks = dock.download_selected()
    assert len(tasks) == 1
    tasks[0].progressChanged.connect(progress.append)
    tasks[0].progressChanged.connect(ticker.mark)
    assert QgsApplication.taskManager().countActiveTasks() >= 1  # visible in QGIS's task manager
    with qtbot.waitSignal(dock.download_finished, timeout=60_000) as blocker:
        pass
    wait_idle(qtbot, dock)
    ticker.timer.stop()

    dest = product_path(tmp_path, catalog.id)
    assert dest.name == f"pixxel-{catalog.id}.zip"
    assert blocker.args == [str(dest)]
    assert dest.is_file() and not list(tmp_path.glob("*.part*"))  # complete, nothing left to resume
    with zipfile.ZipFile(dest) as zf:
        assert zf.testzip() is None
    assert len(progress) >= 3 and progress == sorted(progress) and progress[-1] == 100.0
    assert ticker.marks[-1] > ticker.marks[0]  # GUI-thread timer ticked between progress reports
    expected = _expected_digest(sandbox, dock._download_ids[catalog.id])
    assert base64.b64encode(hashlib.sha256(dest.read_bytes()).digest()).decode() == expected


def test_download_without_folder_says_what_to_do(searched: Any, qgis_iface: Any) -> None:
    dock = searched
    dock.select_catalogs([dock.catalogs[0].id])
    dock.w.folder_edit.setText("")
    assert dock.download_selected() == []
    assert any("download folder" in m for m in qgis_iface.messageBar().get_messages(Qgis.Warning))


def test_download_is_re_signed_when_its_url_expires(
    big_dock: Any, big_sandbox: Any, qtbot: Any, tmp_path: Path, world_canvas: Any
) -> None:
    dock, sandbox = big_dock, big_sandbox
    with qtbot.waitSignal(dock.catalogs_changed, timeout=60_000):
        dock.w.search_button.click()
    wait_idle(qtbot, dock)
    catalog = dock.catalogs[0]
    # 53 MB in more parts than connections: later parts start after the URL expired.
    sandbox.set_faults(url_lifetime=2.0, bandwidth=4e6)  # ~3.3 s in all: one renewal
    dock._download_ids[catalog.id] = _fresh_download(sandbox, catalog.id)
    time.sleep(0.5)  # let the sandbox's download finish preparing
    sandbox.reset_requests()
    with qtbot.waitSignal(dock.download_finished, timeout=60_000, raising=False) as blocker:
        assert dock.download(catalog, tmp_path) is not None
    wait_idle(qtbot, dock)
    assert blocker.signal_triggered, dock.iface.messageBar().get_messages(Qgis.Critical)
    statuses = [r["status"] for r in sandbox.requests(path_prefix="/files/")]
    assert 403 in statuses, statuses  # refused mid-way, re-signed, finished
    sandbox.clear_faults()
    dest = Path(blocker.args[0])
    expected = _expected_digest(sandbox, dock._download_ids[catalog.id])
    assert base64.b64encode(hashlib.sha256(dest.read_bytes()).digest()).decode() == expected


def test_a_cancelled_download_resumes(
    searched: Any, sandbox: Any, qtbot: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pixxel_plugin import filefetch

    monkeypatch.setattr(filefetch, "PART_SIZE", 128 * 1024)  # many parts: some complete before the cancel
    dock = searched
    catalog = dock.catalogs[2]
    sandbox.set_faults(bandwidth=3e5)
    progress: list[float] = []
    task = dock.download(catalog, tmp_path)
    assert task is not None
    task.progressChanged.connect(progress.append)
    qtbot.waitUntil(lambda: any(p > 40 for p in progress), timeout=60_000)
    task.cancel()
    wait_idle(qtbot, dock)
    left = sorted(p.name for p in tmp_path.iterdir())
    assert [n for n in left if n.endswith(".zip.part")] and not [n for n in left if n.endswith(".zip")], (
        left,
        progress,
    )  # kept for a resume, nothing half-written in place
    sandbox.clear_faults()
    sandbox.reset_requests()
    with qtbot.waitSignal(dock.download_finished, timeout=60_000) as blocker:
        assert dock.download(catalog, tmp_path) is not None
    wait_idle(qtbot, dock)
    dest = Path(blocker.args[0])
    served = sandbox.requests(path_prefix="/files/")
    moved = sum(r["bytes"] for r in served if r["status"] == 206)
    assert 0 < moved < dest.stat().st_size, (served, progress)  # only what was missing
    with zipfile.ZipFile(dest) as zf:
        assert zf.testzip() is None
    assert not list(tmp_path.glob("*.part*"))
