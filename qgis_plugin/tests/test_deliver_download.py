"""Deliver to a store and download to a folder, through QgsTask, while the GUI thread stays free."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import os
import signal
import subprocess
import sys
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


def test_download_names_stay_inside_the_folder_whatever_the_item_id(searched: Any, qtbot: Any, tmp_path: Path) -> None:
    """The item id is API-supplied: ``../`` or an absolute path in it must not leave the chosen folder."""
    dock = searched
    folder = tmp_path / "chosen"
    outside = tmp_path / "outside"
    folder.mkdir()
    outside.mkdir()
    catalog = dock.catalogs[0]
    hostile = [
        dataclasses.replace(catalog, details={**catalog.details, "id": item_id})
        for item_id in ("../escaped", str(outside / "absolute"), "..")
    ]
    assert hostile[0].item_id == "../escaped"
    written = []
    for item in hostile:
        with qtbot.waitSignal(dock.download_finished, timeout=60_000) as blocker:
            assert dock.download(item, folder) is not None
        wait_idle(qtbot, dock)
        written.append(Path(blocker.args[0]))
    assert [p.parent for p in written] == [folder] * 3
    assert written[0].name == "escaped.zip"
    assert written[1].name.endswith("_outside_absolute.zip") and not written[1].name.startswith(("_", "."))
    assert written[2].name == f"{catalog.id}.zip"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["chosen", "outside"]
    assert not list(outside.iterdir())
    for path in written:
        with zipfile.ZipFile(path) as zf:
            assert zf.testzip() is None


RANGE_THEN_WHOLE_SERVER = """
import http.server, re, sys
from pathlib import Path

BODY = bytes(range(256)) * 1200  # 307200 bytes
seen = []

class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        seen.append(self.path)
        match = re.match(r"bytes=(\\d+)-(\\d+)", self.headers.get("Range", ""))
        if match and len(seen) == 1:  # honour Range once, then answer 200 with the whole file
            start, end = int(match[1]), min(int(match[2]), len(BODY) - 1)
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{end}/{len(BODY)}")
            chunk = BODY[start : end + 1]
        else:
            self.send_response(200)
            chunk = BODY
        self.send_header("Content-Length", str(len(chunk)))  # and no Repr-Digest
        self.end_headers()
        self.wfile.write(chunk)

    def log_message(self, *args):
        pass

server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
Path(sys.argv[1]).write_text(str(server.server_address[1]))
server.serve_forever()
"""


@pytest.fixture
def range_then_whole_server(tmp_path: Path) -> Any:
    """A file server (its own process, no digest) that honours ``Range`` once, then sends 200s."""
    script = tmp_path / "server.py"
    script.write_text(RANGE_THEN_WHOLE_SERVER)
    port_file = tmp_path / "port"
    process = subprocess.Popen([sys.executable, str(script), str(port_file)], start_new_session=True)
    try:
        deadline = time.monotonic() + 30
        while not port_file.exists() or not port_file.read_text():
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the test file server did not start")
            time.sleep(0.02)
        yield f"http://127.0.0.1:{int(port_file.read_text())}/files/p.zip?X-Sig=secret"
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=10)


def test_a_whole_file_answer_after_the_first_piece_is_refused(
    plugin: Any, range_then_whole_server: str, tmp_path: Path
) -> None:
    from pixxel_plugin.filefetch import FetchError, fetch_to_file

    body = bytes(range(256)) * 1200
    dest = tmp_path / "p.zip"
    with pytest.raises(FetchError, match="stopped honouring range requests after 100000 bytes") as caught:
        fetch_to_file(range_then_whole_server, dest, piece_size=100_000)
    assert "secret" not in str(caught.value)
    assert not dest.exists()  # no corrupt file renamed into place
    part = tmp_path / "p.zip.part"
    assert part.read_bytes() == body[:100_000]  # kept: the valid bytes before the server changed its mind
