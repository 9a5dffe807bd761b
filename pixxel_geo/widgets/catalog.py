"""The catalog browser: a table and a map of footprints, filters, and one shared selection."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable
from typing import Any

import ipyleaflet
import ipywidgets as widgets
import traitlets

from pixxel_geo.widgets._background import BackgroundRunner
from pixxel_geo.widgets._mapview import Box, fit_view, geometry_box, intersects, view_box
from pixxel_geo.widgets.messages import MessageArea

__all__ = ["CatalogBrowser", "make_map"]

logger = logging.getLogger(__name__)

FOOTPRINT_STYLE = {"color": "#1971c2", "weight": 3, "fillOpacity": 0.15, "opacity": 0.9}
SELECTED_STYLE = {"color": "#e8590c", "weight": 4, "fillOpacity": 0.05, "opacity": 1.0}
_TABLE_CSS = (
    "<style>.pixxel-catalog-table select, .pixxel-catalog-header "
    "{font-family: monospace; font-size: 12px; white-space: pre;}</style>"
)


def make_map(basemap_url: str | None = None, attribution: str = "") -> ipyleaflet.Map:
    """An ipyleaflet map that requests nothing from the internet unless given a basemap.

    Args:
        basemap_url: an XYZ tile URL template (``https://…/{z}/{x}/{y}.png``) for users who
            are online; ``None`` draws footprints on a blank map.
        attribution: the basemap's attribution text.

    Returns:
        The map (CSS class ``pixxel-map``).
    """
    layers: tuple[Any, ...] = ()
    if basemap_url:
        layers = (ipyleaflet.TileLayer(url=basemap_url, attribution=attribution, base=True),)
    m = ipyleaflet.Map(layers=layers, center=(20.0, 0.0), zoom=1, scroll_wheel_zoom=True)
    m.layout = widgets.Layout(height="420px", width="100%")
    m.add_class("pixxel-map")
    return m


def _row_label(catalog: Any) -> str:
    name = (catalog.item_id or catalog.id)[:30]
    when = catalog.datetime.strftime("%Y-%m-%d") if catalog.datetime else "—"
    cloud = f"{catalog.cloud_cover:5.1f}" if catalog.cloud_cover is not None else "    —"
    area = f"{catalog.area:8.2f}" if isinstance(catalog.area, int | float) else "       —"
    return f"{name:<30}  {when:<10}  {cloud}  {area}"


_HEADER = f"{'id':<30}  {'date':<10}  {'cloud':>5}  {'area km²':>8}"


class CatalogBrowser(widgets.VBox):
    """Browse catalogs: a table, a map of footprints, filters, and a selection shared by both.

    Clicking a footprint selects its row; selecting a row highlights its footprint and
    moves the map to it. Filters: a date range, a maximum cloud cover, the current map
    view, and a box drawn on the map.

    Args:
        client: a ``px.Client``.
        basemap_url: optional XYZ tile URL template; by default the map is offline (no tiles).
        messages: where errors go (a new :class:`MessageArea` when omitted).
        runner: background runner (a new one when omitted).
        autoload: load the catalogs right away (in the background).

    Example:
        >>> browser = CatalogBrowser(client)  # doctest: +SKIP
        >>> browser.selected_id = browser.visible_ids[0]  # doctest: +SKIP
    """

    selected_id = traitlets.Unicode(None, allow_none=True)
    """The selected catalog's id (``None`` when nothing is selected)."""
    visible_ids = traitlets.List(traitlets.Unicode())
    """Ids of the catalogs passing the filters, in table order."""

    def __init__(
        self,
        client: Any,
        *,
        basemap_url: str | None = None,
        messages: MessageArea | None = None,
        runner: BackgroundRunner | None = None,
        autoload: bool = True,
    ) -> None:
        self.client = client
        self.messages = messages or MessageArea()
        self.runner = runner or BackgroundRunner(on_error=self._show_load_error)
        self.catalogs: dict[str, Any] = {}
        self.drawn_box: Box | None = None
        self._syncing = False

        self.refresh_button = widgets.Button(description="Refresh", icon="refresh", tooltip="Reload catalogs")
        self.refresh_button.add_class("pixxel-refresh")
        self.start_date = widgets.DatePicker(description="From")
        self.start_date.add_class("pixxel-filter-start")
        self.end_date = widgets.DatePicker(description="To")
        self.end_date.add_class("pixxel-filter-end")
        self.max_cloud = widgets.FloatSlider(value=100.0, min=0.0, max=100.0, step=1.0, description="Cloud ≤ %")
        self.max_cloud.add_class("pixxel-filter-cloud")
        self.in_view = widgets.Checkbox(value=False, description="Only in map view", indent=False)
        self.in_view.add_class("pixxel-filter-view")
        self.clear_box_button = widgets.Button(description="Clear box", disabled=True)
        self.clear_box_button.add_class("pixxel-clear-box")
        self.count_label = widgets.Label("Loading catalogs…")
        self.count_label.add_class("pixxel-catalog-count")

        self.header = widgets.HTML(_TABLE_CSS + f'<div class="pixxel-catalog-header">{_HEADER}</div>')
        self.table = widgets.Select(options=[], rows=10, layout=widgets.Layout(width="100%"))
        self.table.add_class("pixxel-catalog-table")

        self.map = make_map(basemap_url)
        self.footprints = ipyleaflet.GeoJSON(
            data={"type": "FeatureCollection", "features": []},
            style_callback=self._style,
            hover_style={"weight": 5},
            name="footprints",
        )
        self.map.add(self.footprints)
        self.draw = ipyleaflet.DrawControl(
            rectangle={"shapeOptions": {"color": "#2f9e44", "fillOpacity": 0.05}},
            polygon={},
            polyline={},
            circlemarker={},
            circle={},
            marker={},
            edit=False,
        )
        self.map.add(self.draw)

        filters = widgets.VBox(
            [
                widgets.HBox([self.refresh_button, self.count_label]),
                widgets.HBox([self.start_date, self.end_date]),
                widgets.HBox([self.max_cloud, self.in_view, self.clear_box_button]),
            ]
        )
        filters.add_class("pixxel-catalog-filters")
        table_box = widgets.VBox([self.header, self.table], layout=widgets.Layout(width="48%"))
        map_box = widgets.VBox([self.map], layout=widgets.Layout(width="52%"))
        super().__init__([filters, widgets.HBox([table_box, map_box])])
        self.add_class("pixxel-catalog-browser")

        self.refresh_button.on_click(self.messages.guard("Refresh", self.refresh))
        self.clear_box_button.on_click(self.messages.guard("Clear box", self.clear_box))
        for control in (self.start_date, self.end_date, self.max_cloud, self.in_view):
            control.observe(self._filters_changed, names="value")
        self.map.observe(self._view_changed, names="bounds")
        self.table.observe(self._table_changed, names="value")
        self.footprints.on_click(self._footprint_clicked)
        self.draw.on_draw(self._box_drawn)
        if autoload:
            self.refresh()

    # -- loading -------------------------------------------------------------------

    def refresh(self, max_items: int = 500) -> None:
        """Reload the catalogs from the API in the background."""
        self.count_label.value = "Loading catalogs…"
        self.refresh_button.disabled = True

        def load() -> list[Any]:
            return list(self.client.catalogs.search(limit=100, max_items=max_items))

        def loaded(catalogs: list[Any]) -> None:
            self.refresh_button.disabled = False
            self.set_catalogs(catalogs)

        self.runner.submit(load, done=loaded)

    def _show_load_error(self, error: BaseException) -> None:
        self.refresh_button.disabled = False
        self.count_label.value = "Could not load catalogs."
        self.messages.show_error(error, "Loading catalogs")

    def set_catalogs(self, catalogs: Iterable[Any], fit: bool = True) -> None:
        """Show these catalogs (``px.Catalog`` objects) and reapply the filters.

        Args:
            catalogs: the catalogs.
            fit: move the map so every footprint is in view.
        """
        fresh = {c.id: c for c in catalogs}
        self.catalogs.clear()  # updated in place: other parts hold this dict
        self.catalogs.update(fresh)
        if fit:
            boxes = [b for b in (self._box(c) for c in self.catalogs.values()) if b]
            self.map.center, self.map.zoom = fit_view(boxes)
        self.apply_filters()

    # -- filtering -----------------------------------------------------------------

    @staticmethod
    def _box(catalog: Any) -> Box | None:
        bbox = catalog.bbox
        if bbox and len(bbox) >= 4:
            return (bbox[0], bbox[1], bbox[2], bbox[3])
        return geometry_box(catalog.geometry) if catalog.geometry else None

    def _passes(self, catalog: Any) -> bool:
        when = catalog.datetime
        if self.start_date.value and (when is None or when.date() < self.start_date.value):
            return False
        if self.end_date.value and (when is None or when.date() > self.end_date.value):
            return False
        if self.max_cloud.value < 100.0 and (catalog.cloud_cover is None or catalog.cloud_cover > self.max_cloud.value):
            return False
        boxes = [self.drawn_box] if self.drawn_box else []
        if self.in_view.value:
            view = view_box(self.map.bounds)
            if view:
                boxes.append(view)
        if boxes:
            footprint = self._box(catalog)
            return footprint is not None and all(intersects(footprint, b) for b in boxes)
        return True

    def apply_filters(self) -> None:
        """Recompute which catalogs show in the table and on the map."""
        if self.start_date.value and self.end_date.value and self.start_date.value > self.end_date.value:
            self.messages.show_info("The start date is after the end date: no catalog can match.")
        ordered = sorted(
            self.catalogs.values(),
            key=lambda c: c.datetime or dt.datetime.min.replace(tzinfo=dt.UTC),
            reverse=True,
        )
        visible = [c for c in ordered if self._passes(c)]
        self.visible_ids = [c.id for c in visible]
        if self.selected_id not in self.visible_ids:
            self.selected_id = None
        self._syncing = True
        try:
            self.table.options = [(_row_label(c), c.id) for c in visible]
            self.table.value = self.selected_id
        finally:
            self._syncing = False
        self.count_label.value = f"{len(visible)} of {len(self.catalogs)} catalogs"
        self._redraw_footprints()

    def _filters_changed(self, change: dict[str, Any]) -> None:
        self.apply_filters()

    def _view_changed(self, change: dict[str, Any]) -> None:
        if self.in_view.value:
            self.apply_filters()

    def _box_drawn(self, control: Any, action: str, geo_json: dict[str, Any], **_: Any) -> None:
        if action == "deleted":
            self.drawn_box = None
        else:
            self.drawn_box = geometry_box(geo_json)
        self.clear_box_button.disabled = self.drawn_box is None
        self.apply_filters()

    def filter_box(self, box: Box | None) -> None:
        """Keep only catalogs intersecting ``(west, south, east, north)`` (``None``: no box)."""
        self.drawn_box = box
        self.clear_box_button.disabled = box is None
        self.apply_filters()

    def clear_box(self) -> None:
        """Drop the drawn box filter (and the rectangle on the map)."""
        self.draw.clear()
        self.filter_box(None)

    # -- map and selection -----------------------------------------------------------

    def _style(self, feature: dict[str, Any]) -> dict[str, Any]:
        selected = feature.get("properties", {}).get("catalog_id") == self.selected_id
        return dict(SELECTED_STYLE if selected else FOOTPRINT_STYLE)

    def _redraw_footprints(self) -> None:
        features = []
        for catalog_id in self.visible_ids:
            catalog = self.catalogs[catalog_id]
            if catalog.geometry:
                features.append(
                    {
                        "type": "Feature",
                        "geometry": catalog.geometry,
                        "properties": {"catalog_id": catalog.id, "name": catalog.item_id or catalog.id},
                    }
                )
        self.footprints.data = {"type": "FeatureCollection", "features": features}

    def _table_changed(self, change: dict[str, Any]) -> None:
        new = change["new"]
        if self._syncing or new == self.selected_id:
            return
        self.selected_id = new
        catalog = self.catalogs.get(new) if new else None
        box = self._box(catalog) if catalog else None
        if box:
            self.map.center = ((box[1] + box[3]) / 2.0, (box[0] + box[2]) / 2.0)
            self.map.zoom = max(self.map.zoom, 12)

    def _footprint_clicked(self, feature: dict[str, Any] | None = None, **_: Any) -> None:
        catalog_id = (feature or {}).get("properties", {}).get("catalog_id")
        if catalog_id in self.catalogs:
            self.selected_id = catalog_id

    @traitlets.observe("selected_id")
    def _selection_changed(self, change: dict[str, Any]) -> None:
        if self.table.value != change["new"] and (change["new"] is None or change["new"] in self.visible_ids):
            self.table.value = change["new"]
        self._redraw_footprints()

    @property
    def selected(self) -> Any | None:
        """The selected ``px.Catalog``, or ``None``."""
        return self.catalogs.get(self.selected_id) if self.selected_id else None

    def catalog_box(self, catalog_id: str) -> Box | None:
        """The footprint's ``(west, south, east, north)`` of a loaded catalog."""
        catalog = self.catalogs.get(catalog_id)
        return self._box(catalog) if catalog else None
