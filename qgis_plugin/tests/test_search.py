"""Search by map extent, dates and cloud cover: the list, the footprints layer, selection both ways."""

from __future__ import annotations

from typing import Any

from conftest import wait_idle
from qgis.core import QgsProject, QgsRectangle
from qgis.PyQt.QtCore import QDate


def test_search_lists_catalogs_and_draws_footprints(searched: Any, sandbox: Any) -> None:
    dock = searched
    expected = set(sandbox.info()["catalog_ids"])
    assert {c.id for c in dock.catalogs} == expected
    assert dock.w.results.rowCount() == len(expected)
    assert dock.w.results.item(0, 0).text() == dock.catalogs[0].item_id

    layer = dock.footprints
    assert QgsProject.instance().mapLayer(layer.id()) is layer
    assert layer.featureCount() == len(expected)
    assert layer.crs().authid() == "EPSG:4326"
    for feature in layer.getFeatures():
        catalog = next(c for c in dock.catalogs if c.id == feature["catalog_id"])
        west, _south, _east, north = catalog.bbox
        box = feature.geometry().boundingBox()
        assert abs(box.xMinimum() - west) < 1e-6 and abs(box.yMaximum() - north) < 1e-6


def test_selection_is_synced_both_ways(searched: Any) -> None:
    dock = searched
    layer = dock.footprints
    first, third = dock.catalogs[0], dock.catalogs[2]

    dock.select_catalogs([first.id, third.id])
    assert {f["catalog_id"] for f in layer.getSelectedFeatures()} == {first.id, third.id}

    second = dock.catalogs[1]
    fid = next(f.id() for f in layer.getFeatures() if f["catalog_id"] == second.id)
    layer.selectByIds([fid])
    assert [c.id for c in dock.selected_catalogs()] == [second.id]


def test_extent_cloud_and_date_filters(searched: Any, world_canvas: Any, qtbot: Any) -> None:
    dock = searched
    everything = list(dock.catalogs)

    # Extent: only the catalogs around the first one's footprint.
    target = everything[0]
    west, south, east, north = target.bbox
    world_canvas.setExtent(QgsRectangle(west - 0.01, south - 0.01, east + 0.01, north + 0.01))
    with qtbot.waitSignal(dock.catalogs_changed, timeout=60_000):
        dock.search()
    wait_idle(qtbot, dock)
    assert target.id in {c.id for c in dock.catalogs}
    assert len(dock.catalogs) < len(everything)

    # Cloud cover.
    world_canvas.setExtent(QgsRectangle(-180, -90, 180, 90))
    limit = sorted(c.cloud_cover for c in everything)[len(everything) // 2]
    dock.w.cloud_spin.setValue(limit)
    with qtbot.waitSignal(dock.catalogs_changed, timeout=60_000):
        dock.search()
    wait_idle(qtbot, dock)
    assert {c.id for c in dock.catalogs} == {c.id for c in everything if c.cloud_cover <= limit}
    dock.w.cloud_spin.setValue(100)

    # Dates: only the newest catalog's day.
    newest = max(everything, key=lambda c: c.datetime)
    day = QDate(newest.datetime.year, newest.datetime.month, newest.datetime.day)
    dock.w.date_filter.setChecked(True)
    dock.w.start_date.setDate(day)
    dock.w.end_date.setDate(day)
    with qtbot.waitSignal(dock.catalogs_changed, timeout=60_000):
        dock.search()
    wait_idle(qtbot, dock)
    assert newest.id in {c.id for c in dock.catalogs}
    assert all(c.datetime.date() == newest.datetime.date() for c in dock.catalogs)
