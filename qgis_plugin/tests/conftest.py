"""Fixtures for the plugin tests: the built zip, a sandbox server, the loaded plugin.

Runs inside QGIS's Python (pytest-qgis starts a ``QgsApplication``). The
sandbox needs rasterio & co., which must never enter QGIS's Python: it runs
as a separate process with the main venv's interpreter
(``$PIXXEL_SANDBOX_PYTHON``, default ``<repo>/.venv/bin/python``).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from qgis.core import QgsApplication, QgsProject

HERE = Path(__file__).resolve().parent
PLUGIN_ROOT = HERE.parent
REPO = PLUGIN_ROOT.parent
TOKEN = "qgis-plugin-test-token-0123456789"
MASTER_PASSWORD = "pixxel-plugin-tests"  # a throw-away test profile's auth DB
PLUGIN = "pixxel_plugin"


def sandbox_python() -> str:
    """The interpreter that runs the sandbox (it needs rasterio; QGIS's Python must not)."""
    return os.environ.get("PIXXEL_SANDBOX_PYTHON") or str(REPO / ".venv" / "bin" / "python")


@dataclass
class SandboxProcess:
    """A sandbox server in its own process group, and its control endpoints (stdlib HTTP)."""

    url: str
    token: str
    process: subprocess.Popen[bytes] | None
    data_dir: Path

    def call(self, method: str, path: str, body: Any = None, token: str | None = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.url + path, data=data, method=method)
        request.add_header("Authorization", f"Bearer {token or self.token}")
        if data is not None:
            request.add_header("Content-Type", "application/json")
        with urllib.request.urlopen(request, timeout=30) as response:
            raw = response.read()
        return json.loads(raw) if raw else None

    def requests(self, path_prefix: str = "") -> list[dict[str, Any]]:
        return self.call("GET", f"/_sandbox/requests?path_prefix={path_prefix}")["requests"]

    def reset_requests(self) -> None:
        self.call("DELETE", "/_sandbox/requests")

    def info(self) -> dict[str, Any]:
        return self.call("GET", "/_sandbox/info")

    def set_faults(self, **faults: Any) -> None:
        self.call("POST", "/_sandbox/faults", faults)

    def clear_faults(self) -> None:
        self.call("DELETE", "/_sandbox/faults")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            try:
                os.killpg(self.process.pid, signal.SIGTERM)
            except ProcessLookupError:
                return
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)


def start_sandbox(
    data_dir: Path, token: str = TOKEN, timeout: float = 300.0, bands: int = 16, size: int = 256, count: int = 6
) -> SandboxProcess:
    """Start ``python -m pixxel_geo.sandbox`` and wait until ``/ping`` answers."""
    python = sandbox_python()
    if not Path(python).exists():
        raise RuntimeError(f"No sandbox interpreter at {python}: set PIXXEL_SANDBOX_PYTHON.")
    data_dir.mkdir(parents=True, exist_ok=True)
    port_file = data_dir / "sandbox.port"
    command = [
        python, "-m", "pixxel_geo.sandbox", "--port", "0", "--token", token, "--data-dir", str(data_dir),
        "--bands", str(bands), "--size", str(size), "--count", str(count), "--port-file", str(port_file),
        "--download-seconds", "0.3", "--delivery-seconds", "0.5",
    ]  # fmt: skip
    env = {**os.environ, "PIXXEL_SANDBOX_PARENT_PID": str(os.getpid())}
    env.pop("QT_QPA_PLATFORM", None)
    log = (data_dir / "sandbox.log").open("ab")
    process = subprocess.Popen(
        command, cwd=REPO, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, env=env,
        start_new_session=True,
    )  # fmt: skip
    log.close()
    sandbox = SandboxProcess("", token, process, data_dir)
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                tail = (data_dir / "sandbox.log").read_text(errors="replace")[-2000:]
                raise RuntimeError(f"the sandbox exited ({process.returncode}):\n{tail}")
            if port_file.exists():
                sandbox.url = f"http://127.0.0.1:{int(port_file.read_text())}"
                try:
                    with urllib.request.urlopen(sandbox.url + "/ping", timeout=5) as response:
                        if response.status == 200:
                            return sandbox
                except (urllib.error.URLError, ConnectionError):
                    pass
            time.sleep(0.1)
        raise RuntimeError(f"the sandbox did not answer /ping within {timeout:.0f} s")
    except BaseException:
        sandbox.stop()
        raise


@pytest.fixture(scope="session")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxProcess]:
    """A sandbox server for the whole session (16 bands, 256 x 256 px products).

    ``$PIXXEL_REUSE_SANDBOX_URL``: use that running sandbox instead (the fresh QGIS process
    that reopens a saved project talks to its parent's sandbox).
    """
    reuse = os.environ.get("PIXXEL_REUSE_SANDBOX_URL")
    if reuse:
        yield SandboxProcess(reuse, TOKEN, None, tmp_path_factory.mktemp("reused"))
        return
    server = start_sandbox(tmp_path_factory.mktemp("sandbox"))
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def big_sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxProcess]:
    """A sandbox with one product of more than 25 MB (32 bands, 1024 x 1024 px)."""
    server = start_sandbox(tmp_path_factory.mktemp("big-sandbox"), bands=32, size=1024, count=1)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def plugin_zip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The plugin zip: ``$PIXXEL_PLUGIN_ZIP`` (built by scripts/test-qgis.sh) or built now."""
    given = os.environ.get("PIXXEL_PLUGIN_ZIP")
    if given:
        return Path(given)
    out = tmp_path_factory.mktemp("dist")
    subprocess.run([sys.executable, str(PLUGIN_ROOT / "build.py"), "--out", str(out)], check=True)
    return next(out.glob(f"{PLUGIN}-*.zip"))


@pytest.fixture(scope="session")
def profile_dir(tmp_path_factory: pytest.TempPathFactory, plugin_zip: Path) -> Path:
    """A fresh profile folder with the zip extracted into ``python/plugins`` (as QGIS installs it)."""
    profile = tmp_path_factory.mktemp("profile")
    plugins = profile / "python" / "plugins"
    plugins.mkdir(parents=True)
    with zipfile.ZipFile(plugin_zip) as zf:
        zf.extractall(plugins)
    return profile


@pytest.fixture(scope="session")
def plugins_path(profile_dir: Path) -> Iterator[Path]:
    """Register the profile's plugin folder the way QGIS does at start-up (path + plugin scan)."""
    import qgis.utils

    path = profile_dir / "python" / "plugins"
    sys.path.insert(0, str(path))
    saved_paths = list(qgis.utils.plugin_paths)
    qgis.utils.plugin_paths = [str(path)]
    qgis.utils.updateAvailablePlugins()
    try:
        yield path
    finally:
        qgis.utils.plugin_paths = saved_paths
        sys.path.remove(str(path))


@pytest.fixture(scope="session")
def auth_ready(qgis_app: QgsApplication) -> None:
    """Unlock the test profile's auth database (a fresh profile needs a master password)."""
    manager = QgsApplication.authManager()
    assert manager.setMasterPassword(MASTER_PASSWORD, True), "could not set the test master password"


@pytest.fixture
def plugin(qgis_iface: Any, plugins_path: Path, auth_ready: None) -> Iterator[Any]:
    """The plugin loaded and started the way QGIS does (``qgis.utils``), unloaded afterwards."""
    import qgis.utils

    qgis_iface.messageBar().clear_messages()
    assert qgis.utils.loadPlugin(PLUGIN), "QGIS could not import the plugin"
    assert qgis.utils.startPlugin(PLUGIN), "QGIS could not start the plugin"
    instance = qgis.utils.plugins[PLUGIN]
    try:
        yield instance
    finally:
        if instance.runner is not None:
            instance.runner.cancel_all()
            QgsApplication.taskManager().cancelAll()
            _wait_tasks_gone()
        qgis.utils.unloadPlugin(PLUGIN)
        QgsProject.instance().clear()


def _wait_tasks_gone(timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while QgsApplication.taskManager().countActiveTasks() and time.monotonic() < deadline:
        QgsApplication.processEvents()
        time.sleep(0.01)


def connect(plugin: Any, sandbox: SandboxProcess, qtbot: Any) -> Any:
    """The plugin's panel, shown (floating) and connected to ``sandbox``."""
    panel = plugin.dock
    panel.setFloating(True)
    panel.show()
    qtbot.waitExposed(panel)
    panel.w.url_edit.setText(sandbox.url)
    panel.w.token_edit.setText(TOKEN)
    assert panel.save_connection()
    return panel


@pytest.fixture
def dock(plugin: Any, sandbox: SandboxProcess, qtbot: Any) -> Iterator[Any]:
    """The plugin's panel, shown (floating) and connected to the sandbox."""
    yield connect(plugin, sandbox, qtbot)
    sandbox.clear_faults()


@pytest.fixture
def big_dock(plugin: Any, big_sandbox: SandboxProcess, qtbot: Any) -> Iterator[Any]:
    """The plugin's panel connected to the sandbox with the large product."""
    yield connect(plugin, big_sandbox, qtbot)
    big_sandbox.clear_faults()


def wait_idle(qtbot: Any, dock: Any, timeout: int = 60_000) -> None:
    """Wait until every task the panel started has finished (their finished() ran)."""
    qtbot.waitUntil(lambda: not dock.runner.running(), timeout=timeout)


def messages(iface: Any, level: Any) -> list[str]:
    """Messages pushed to the (pytest-qgis) message bar at ``level``."""
    return list(iface.messageBar().get_messages(level))


@pytest.fixture
def world_canvas(qgis_canvas: Any) -> Any:
    """The map canvas in EPSG:4326 showing the whole globe (every sandbox catalog is inside)."""
    from qgis.core import QgsCoordinateReferenceSystem, QgsRectangle

    qgis_canvas.setDestinationCrs(QgsCoordinateReferenceSystem("EPSG:4326"))
    qgis_canvas.setExtent(QgsRectangle(-180, -90, 180, 90))
    return qgis_canvas


@pytest.fixture
def searched(dock: Any, world_canvas: Any, qtbot: Any) -> Any:
    """The panel after a search over the globe."""
    with qtbot.waitSignal(dock.catalogs_changed, timeout=60_000):
        dock.w.search_button.click()
    wait_idle(qtbot, dock)
    return dock


@pytest.fixture
def output_dir() -> Path:
    """``test-output/qgis/`` in the repo (gitignored) for screenshots."""
    path = REPO / "test-output" / "qgis"
    path.mkdir(parents=True, exist_ok=True)
    return path


_SKIPPED: list[str] = []


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    """Remember skipped tests (with CI=true, nothing may skip)."""
    if report.skipped:
        _SKIPPED.append(report.nodeid)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Fail the run on CI when any test skipped."""
    if os.environ.get("CI", "").lower() == "true" and _SKIPPED:
        print(f"\nCI=true: {len(_SKIPPED)} test(s) skipped, which is not allowed: {_SKIPPED}")
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
