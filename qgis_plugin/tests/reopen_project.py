"""Run by test_add_to_map.py in a fresh QGIS process (not collected on its own: no ``test_`` prefix).

Opens the project saved by the parent process, with the plugin loaded and connected, and checks
that its Pixxel layer points at this process's local server, is valid and renders.
"""

from __future__ import annotations

import os
from typing import Any

from conftest import wait_idle
from qgis.core import QgsProject


def test_reopened_project_renders(dock: Any, sandbox: Any, qtbot: Any, qgis_canvas: Any) -> None:
    sandbox.reset_requests()
    assert QgsProject.instance().read(os.environ["PIXXEL_REOPEN_PROJECT"])
    wait_idle(qtbot, dock)
    layer = QgsProject.instance().mapLayersByName(os.environ["PIXXEL_REOPEN_LAYER"])[0]
    assert layer.isValid(), layer.error().summary()
    assert layer.source().startswith(f"/vsicurl/{dock.stream.server.base_url}/catalogs/")
    assert layer.customProperty("pixxel/catalog_id")
    qgis_canvas.setDestinationCrs(layer.crs())
    qgis_canvas.setLayers([layer])
    qgis_canvas.setExtent(layer.extent())
    with qtbot.waitSignal(qgis_canvas.mapCanvasRefreshed, timeout=60_000):
        qgis_canvas.refresh()
    served = sandbox.requests(path_prefix="/files/")
    assert [r for r in served if r["status"] == 206], served
