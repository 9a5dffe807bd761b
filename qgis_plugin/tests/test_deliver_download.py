"""Deliver to a store and download to a folder, through QgsTask, while the GUI thread stays free."""

from __future__ import annotations

import base64
import hashlib
import urllib.request
import zipfile
from pathlib import Path
from typing import Any

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


def test_download_streams_to_a_folder_with_progress(
    searched: Any, sandbox: Any, qtbot: Any, tmp_path: Path, monkeypatch: Any
) -> None:
    dock = searched
    from pixxel_plugin import filefetch

    monkeypatch.setattr(filefetch, "DEFAULT_PIECE", 256 * 1024)  # several pieces, several progress steps
    catalog = dock.catalogs[0]
    dock.select_catalogs([catalog.id])
    dock.w.folder_edit.setText(str(tmp_path))

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

    dest = tmp_path / f"{catalog.item_id}.zip"
    assert blocker.args == [str(dest)]
    assert dest.is_file() and not list(tmp_path.glob("*.part"))
    with zipfile.ZipFile(dest) as zf:
        assert f"{catalog.item_id}.tif" in zf.namelist()
        assert zf.testzip() is None
    assert len(progress) >= 4 and progress == sorted(progress) and progress[-1] == 100.0
    assert ticker.marks[-1] > ticker.marks[0]  # GUI-thread timer ticked between progress reports

    # The same bytes as the server's file (its RFC 9530 digest of the whole file).
    download = sandbox.call("GET", f"/v0/catalogs/download/{dock._download_ids[catalog.id]}")
    probe = urllib.request.Request(download["signed_url"], headers={"Range": "bytes=0-0"})
    with urllib.request.urlopen(probe, timeout=30) as response:
        expected = response.headers["Repr-Digest"].split(":")[1]
    assert base64.b64encode(hashlib.sha256(dest.read_bytes()).digest()).decode() == expected


def test_download_without_folder_says_what_to_do(searched: Any, qgis_iface: Any) -> None:
    dock = searched
    dock.select_catalogs([dock.catalogs[0].id])
    dock.w.folder_edit.setText("")
    assert dock.download_selected() == []
    assert any("download folder" in m for m in qgis_iface.messageBar().get_messages(Qgis.Warning))
