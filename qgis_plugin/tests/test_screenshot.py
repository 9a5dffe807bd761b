"""A screenshot of QGIS with the Pixxel panel and a streamed layer (saved to test-output/qgis/)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from conftest import wait_idle
from qgis.PyQt.QtCore import Qt
from qgis.PyQt.QtGui import QImage


def test_screenshot_of_panel_and_streamed_layer(
    searched: Any, qtbot: Any, qgis_parent: Any, qgis_canvas: Any, output_dir: Path
) -> None:
    dock = searched
    dock.select_catalogs([dock.catalogs[0].id])
    with qtbot.waitSignal(dock.layer_added, timeout=60_000) as blocker:
        dock.add_selected_to_map()
    wait_idle(qtbot, dock)
    layer = blocker.args[0]

    qgis_parent.setCentralWidget(qgis_canvas)
    qgis_parent.addDockWidget(Qt.RightDockWidgetArea, dock)
    dock.setFloating(False)
    dock.show()
    qgis_parent.resize(1400, 900)
    qgis_parent.show()
    qtbot.waitExposed(qgis_parent)
    qgis_canvas.setDestinationCrs(layer.crs())
    qgis_canvas.setLayers([layer])
    qgis_canvas.setExtent(layer.extent())
    with qtbot.waitSignal(qgis_canvas.mapCanvasRefreshed, timeout=60_000):
        qgis_canvas.refresh()

    path = output_dir / "pixxel-panel-and-streamed-layer.png"
    assert qgis_parent.grab().save(str(path))
    image = QImage(str(path))
    assert image.width() >= 1000 and image.height() >= 600
    # The canvas shows imagery: many distinct colours in its middle, not a blank map.
    canvas_rect = qgis_canvas.geometry()
    centre = canvas_rect.center()
    colours = {image.pixel(centre.x() + dx, centre.y() + dy) for dx in range(-60, 60, 6) for dy in range(-60, 60, 6)}
    assert len(colours) > 20
    assert dock.isVisible() and not dock.isFloating() and dock.geometry().width() > 100
    qgis_parent.hide()
