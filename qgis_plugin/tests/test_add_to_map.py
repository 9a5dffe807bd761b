"""Add to map: a valid multi-band layer streamed by range requests, RGB rendering, re-signing on project load."""

from __future__ import annotations

import urllib.request
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from conftest import TOKEN, wait_idle
from osgeo import gdal
from qgis.core import QgsMultiBandColorRenderer, QgsProject, QgsRasterLayer


def _signed_url(layer: QgsRasterLayer) -> str:
    source = layer.source()
    return unquote(source[source.index("url=") + 4 : source.index("}/")])


def _product_size(url: str) -> int:
    request = urllib.request.Request(url, headers={"Range": "bytes=0-0"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return int(response.headers["Content-Range"].rsplit("/", 1)[1])


def _add_first(dock: Any, qtbot: Any) -> QgsRasterLayer:
    dock.select_catalogs([dock.catalogs[0].id])
    with qtbot.waitSignal(dock.layer_added, timeout=60_000) as blocker:
        dock.w.add_button.click()
    wait_idle(qtbot, dock)
    return blocker.args[0]


def test_add_to_map_streams_a_multiband_layer(searched: Any, sandbox: Any, qtbot: Any, qgis_canvas: Any) -> None:
    dock = searched
    gdal.VSICurlClearCache()
    sandbox.reset_requests()
    catalog = dock.catalogs[0]
    layer = _add_first(dock, qtbot)

    assert layer.isValid()
    assert QgsProject.instance().mapLayer(layer.id()) is layer
    assert layer.customProperty("pixxel/catalog_id") == catalog.id
    assert layer.bandCount() == len(catalog.bands) == 16
    assert layer.crs().authid() == f"EPSG:{catalog.epsg}"
    transform = catalog.properties["proj:transform"]
    height, width = catalog.properties["proj:shape"]
    extent = layer.extent()
    assert abs(extent.xMinimum() - transform[2]) < 1e-6
    assert abs(extent.yMaximum() - transform[5]) < 1e-6
    assert abs(extent.width() - width * transform[0]) < 1e-6
    assert abs(extent.height() - height * -transform[4]) < 1e-6
    assert "/vsizip/{/vsicurl?use_head=no" in layer.source() and ".zip" not in layer.source()

    renderer = layer.renderer()
    assert isinstance(renderer, QgsMultiBandColorRenderer)
    wavelengths = [b.center_wavelength for b in catalog.bands]
    picked = [wavelengths[renderer.redBand() - 1], wavelengths[renderer.greenBand() - 1],
              wavelengths[renderer.blueBand() - 1]]  # fmt: skip
    for got, target in zip(picked, (650, 550, 470), strict=True):
        assert all(abs(got - target) <= abs(w - target) for w in wavelengths)

    # Draw it, then look at what the file server served: ranges only, far fewer bytes than the product.
    qgis_canvas.setDestinationCrs(layer.crs())
    qgis_canvas.setLayers([layer])
    qgis_canvas.setExtent(layer.extent())
    with qtbot.waitSignal(qgis_canvas.mapCanvasRefreshed, timeout=60_000):
        qgis_canvas.refresh()
    served = sandbox.requests(path_prefix="/files/")
    assert served, "GDAL read nothing from the file server"
    assert all(r["method"] == "GET" for r in served), served  # use_head=no: the URL refuses HEAD
    # GDAL learns the size with one plain GET that it drops after the headers (the sandbox logs what
    # it queued, not what GDAL read); every read of data is a range request.
    probes = [r for r in served if r["status"] == 200]
    ranged = [r for r in served if r["status"] == 206 and r["range"]]
    assert len(probes) <= 1 and len(probes) + len(ranged) == len(served), served
    total = _product_size(_signed_url(layer))
    assert ranged and sum(r["bytes"] for r in ranged) < total / 2, (sum(r["bytes"] for r in ranged), total)


def test_saved_project_is_re_signed_when_opened(searched: Any, sandbox: Any, qtbot: Any, tmp_path: Path) -> None:
    dock = searched
    layer = _add_first(dock, qtbot)
    # Simulate an expired URL in the saved project: break the signature before saving.
    expired = layer.source().replace("Signature%3D", "Signature%3D00")
    assert expired != layer.source()
    name = layer.name()
    layer.setDataSource(expired, name, "gdal")
    project_file = tmp_path / "pixxel.qgs"
    assert QgsProject.instance().write(str(project_file))
    assert TOKEN not in project_file.read_text()

    QgsProject.instance().clear()
    gdal.VSICurlClearCache()
    assert QgsProject.instance().read(str(project_file))
    reopened = next(iter(QgsProject.instance().mapLayersByName(name)))
    wait_idle(qtbot, dock)
    qtbot.waitUntil(reopened.isValid, timeout=30_000)
    assert reopened.source() != expired
    assert reopened.customProperty("pixxel/catalog_id") == dock.catalogs[0].id
    assert isinstance(reopened.renderer(), QgsMultiBandColorRenderer)
    assert reopened.bandCount() == 16
