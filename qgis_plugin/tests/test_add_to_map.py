"""Add to map: layers stream through the plugin's local range server (GDAL 3.6 reads only what it
draws), render in true colour, keep rendering after the signed URL expires, save no signature, reopen
in a fresh QGIS process, and never let a signature reach stderr, the log or the message bar."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import time
import urllib.request
import zipfile
from pathlib import Path
from typing import Any

import pytest
from conftest import PLUGIN_ROOT, TOKEN, messages, sandbox_python, wait_idle
from osgeo import gdal
from qgis.core import Qgis, QgsMultiBandColorRenderer, QgsProject, QgsRasterLayer, QgsRectangle

SIGNATURE = "Signature"


def _add_first(dock: Any, qtbot: Any) -> QgsRasterLayer:
    dock.select_catalogs([dock.catalogs[0].id])
    with qtbot.waitSignal(dock.layer_added, timeout=60_000) as blocker:
        dock.w.add_button.click()
    wait_idle(qtbot, dock)
    return blocker.args[0]


def _search(dock: Any, qtbot: Any) -> None:
    with qtbot.waitSignal(dock.catalogs_changed, timeout=60_000):
        dock.w.search_button.click()
    wait_idle(qtbot, dock)


def _render(canvas: Any, qtbot: Any, layer: QgsRasterLayer, extent: QgsRectangle | None = None) -> Any:
    canvas.setDestinationCrs(layer.crs())
    canvas.setLayers([layer])
    canvas.setExtent(extent or layer.extent())
    with qtbot.waitSignal(canvas.mapCanvasRefreshed, timeout=60_000):
        canvas.refresh()
    return canvas.grab().toImage()


def _drawn_pixels(image: Any) -> int:
    """Pixels that are neither background white nor transparent (a sample grid)."""
    drawn = 0
    for x in range(0, image.width(), 7):
        for y in range(0, image.height(), 7):
            color = image.pixelColor(x, y)
            drawn += color.alpha() > 0 and (color.red(), color.green(), color.blue()) != (255, 255, 255)
    return drawn


def _archive_size(server_base: str, catalog_id: str) -> int:
    request = urllib.request.Request(f"{server_base}/catalogs/{catalog_id}/catalogs.zip", method="HEAD")
    with urllib.request.urlopen(request, timeout=30) as response:  # the plugin's own server
        return int(response.headers["Content-Length"])


def _reference_digest(sandbox: Any, catalog_id: str, band: int, window: tuple[int, int, int, int]) -> str:
    """SHA-256 of a window of ``band`` as px.open_raster reads it (in the sandbox's interpreter)."""
    x, y, w, h = window
    script = (
        "import hashlib, pixxel_geo as px\n"
        f"with px.Client(api_key={TOKEN!r}, base_url={sandbox.url!r}) as c, "
        f"px.open_raster({catalog_id!r}, client=c) as r:\n"
        f"    a = r.read({band}, window=(({y}, {y + h}), ({x}, {x + w})))\n"
        "print(a.dtype.str, hashlib.sha256(a.astype(a.dtype.newbyteorder('<')).tobytes()).hexdigest())\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "QT_QPA_PLATFORM"}
    run = subprocess.run([sandbox_python(), "-c", script], capture_output=True, text=True, env=env,
                         cwd=PLUGIN_ROOT.parent, timeout=120, check=True)  # fmt: skip
    return run.stdout.split()[1]


@pytest.mark.timeout(120)
def test_streamed_layer_reads_a_small_part_and_equals_open_raster(
    big_dock: Any, big_sandbox: Any, qtbot: Any, qgis_canvas: Any, world_canvas: Any
) -> None:
    dock = big_dock
    _search(dock, qtbot)
    catalog = dock.catalogs[0]
    gdal.VSICurlClearCache()
    big_sandbox.reset_requests()
    layer = _add_first(dock, qtbot)

    assert layer.isValid()
    source = layer.source()
    assert source.startswith(f"/vsicurl/{dock.stream.server.base_url}/catalogs/{catalog.id}/")
    assert "?" not in source and SIGNATURE not in source and ".zip" not in source
    # The calibrated VRT beside the image: reflectance scale, and band names with wavelengths.
    assert source.endswith(".vrt")
    provider = layer.dataProvider()
    assert provider.bandScale(1) == pytest.approx(1 / 50000) and provider.bandOffset(1) == 0
    first = catalog.bands[0]
    assert f"{first.name} ({first.center_wavelength:.1f} nm)" in layer.bandName(1)
    assert layer.customProperty("pixxel/catalog_id") == catalog.id
    assert layer.bandCount() == len(catalog.bands)
    assert layer.crs().authid() == f"EPSG:{catalog.epsg}"
    transform = catalog.properties["proj:transform"]
    width = catalog.properties["proj:shape"][1]
    extent = layer.extent()
    assert abs(extent.xMinimum() - transform[2]) < 1e-6 and abs(extent.yMaximum() - transform[5]) < 1e-6
    assert abs(extent.width() - width * transform[0]) < 1e-6
    renderer = layer.renderer()
    assert isinstance(renderer, QgsMultiBandColorRenderer)
    wavelengths = [b.center_wavelength for b in catalog.bands]
    picked = [wavelengths[renderer.redBand() - 1], wavelengths[renderer.greenBand() - 1],
              wavelengths[renderer.blueBand() - 1]]  # fmt: skip
    for got, target in zip(picked, (650, 550, 470), strict=True):
        assert all(abs(got - target) <= abs(w - target) for w in wavelengths)

    image = _render(qgis_canvas, qtbot, layer)
    assert _drawn_pixels(image) > 100
    served = big_sandbox.requests(path_prefix="/files/")
    total = _archive_size(dock.stream.server.base_url, catalog.id)
    assert total >= 25_000_000
    moved = sum(r["bytes"] for r in served)
    assert served and moved <= 0.05 * total, (len(served), moved, total)
    assert all(r["method"] == "GET" and r["status"] == 206 for r in served), served

    # Pixels: GDAL (QGIS's) through the local server equals px.open_raster straight from the sandbox.
    window = (300, 200, 64, 48)
    dataset = gdal.Open(source)
    raw = dataset.GetRasterBand(renderer.redBand()).ReadRaster(*window)
    dataset = None
    assert hashlib.sha256(raw).hexdigest() == _reference_digest(big_sandbox, catalog.id, renderer.redBand(), window)


@pytest.mark.timeout(120)
def test_layer_keeps_rendering_after_the_url_expires(
    big_dock: Any, big_sandbox: Any, qtbot: Any, qgis_canvas: Any, world_canvas: Any
) -> None:
    dock, sandbox = big_dock, big_sandbox
    _search(dock, qtbot)
    sandbox.set_faults(url_lifetime=1.0)  # URLs handed out from now on live 1 s
    layer = _add_first(dock, qtbot)
    assert layer.isValid()
    _render(qgis_canvas, qtbot, layer)
    time.sleep(1.5)
    gdal.VSICurlClearCache()
    sandbox.reset_requests()
    full = layer.extent()
    # A corner at full resolution: tiles the first (overview) drawing did not read.
    corner = QgsRectangle(full.xMinimum(), full.yMinimum(), full.xMinimum() + full.width() / 5,
                          full.yMinimum() + full.height() / 5)  # fmt: skip
    image = _render(qgis_canvas, qtbot, layer, corner)
    statuses = [r["status"] for r in sandbox.requests(path_prefix="/files/")]
    assert 403 in statuses and statuses[-1] == 206, statuses  # expired, re-signed, served
    assert layer.isValid() and _drawn_pixels(image) > 100
    assert not messages(dock.iface, Qgis.Critical)


def test_saved_project_holds_no_signature_and_reopens_in_a_fresh_qgis(
    searched: Any, sandbox: Any, qtbot: Any, tmp_path: Path
) -> None:
    dock = searched
    layer = _add_first(dock, qtbot)
    name = layer.name()
    project_file = tmp_path / "pixxel.qgz"
    assert QgsProject.instance().write(str(project_file))
    with zipfile.ZipFile(project_file) as zf:
        text = "".join(zf.read(n).decode("utf-8", "replace") for n in zf.namelist() if n.endswith(".qgs"))
    assert "http://127.0.0.1:0/pixxel-local/catalogs/" in text
    assert SIGNATURE not in text and TOKEN not in text and dock.stream.server.token not in text
    assert "/files/" not in text

    # A fresh QGIS process (its own plugin, server port and token), with a new URL lifetime.
    sandbox.set_faults(url_lifetime=30.0)
    env = {**os.environ, "PIXXEL_REOPEN_PROJECT": str(project_file), "PIXXEL_REOPEN_LAYER": name,
           "PIXXEL_REUSE_SANDBOX_URL": sandbox.url}  # fmt: skip
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-c", "pytest.ini", "tests/reopen_project.py", "-q", "-p", "no:cacheprovider"],
        cwd=PLUGIN_ROOT, env=env, capture_output=True, text=True, timeout=240,
    )  # fmt: skip
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    assert "1 passed" in run.stdout
    assert SIGNATURE not in run.stdout + run.stderr


@pytest.mark.timeout(120)
def test_a_failing_product_url_shows_no_signature(
    searched: Any, sandbox: Any, qtbot: Any, qgis_canvas: Any, capfd: Any
) -> None:
    from qgis.core import QgsApplication

    dock = searched
    logged: list[str] = []
    QgsApplication.messageLog().messageReceived.connect(lambda text, *_: logged.append(text))
    layer = _add_first(dock, qtbot)
    sandbox.set_faults(server_errors=100_000, server_error_status=503, server_error_prefix="/files/")
    gdal.VSICurlClearCache()
    full = layer.extent()
    _render(qgis_canvas, qtbot, layer, QgsRectangle(full.xMinimum(), full.yMinimum(),
                                                     full.center().x(), full.center().y()))  # fmt: skip
    # And a new layer whose product cannot be read at all.
    dock.stream.server._products.clear()
    dock.stream._sources.clear()
    dock.select_catalogs([dock.catalogs[1].id])
    dock.w.add_button.click()
    wait_idle(qtbot, dock, timeout=90_000)
    sandbox.clear_faults()  # the server's retries in flight end, so unloading the plugin is quick
    out, err = capfd.readouterr()
    failures = messages(dock.iface, Qgis.Critical)
    assert failures, "the failure was not reported"
    everything = out + err + "".join(logged) + "".join(failures)
    assert "503" in everything  # the failure is explained ...
    for secret in (SIGNATURE, "X-Pixxel-Expires", TOKEN):  # ... without the signed URL's query or the token
        assert secret not in everything, everything
