"""The Pixxel dock panel: connection, search, add to map, deliver, download.

Every network call runs in a :class:`FunctionTask` (QGIS's task manager shows
its progress); results come back on the GUI thread. Errors go to QGIS's
message bar, never into a dialog that blocks.
"""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path
from typing import Any

from qgis.core import (
    Qgis,
    QgsApplication,
    QgsCoordinateReferenceSystem,
    QgsCoordinateTransform,
    QgsMessageLog,
    QgsProject,
    QgsVectorLayer,
)
from qgis.PyQt.QtCore import QDate, Qt, pyqtSignal
from qgis.PyQt.QtWidgets import QDockWidget, QFileDialog, QTableWidgetItem

from . import layers, service, settings
from ._vendor import pixxel_geo as px
from ._vendor.pixxel_geo import redact_urls
from .filefetch import download_product, product_path
from .localstream import StreamServer
from .tasks import FunctionTask, TaskRunner
from .ui import PanelWidgets

__all__ = ["PixxelDock"]

LOG = logging.getLogger(__name__)
TITLE = "Pixxel"
WGS84 = QgsCoordinateReferenceSystem("EPSG:4326")


def error_text(exc: BaseException) -> str:
    """A message for the user: the toolkit's own (already clear and redacted), else type and text."""
    if isinstance(exc, px.PixxelError | settings.AuthStorageError):
        return str(exc)
    return redact_urls(f"{type(exc).__name__}: {exc}")


def _qdate(value: QDate, end: bool) -> dt.datetime:
    day = dt.date(value.year(), value.month(), value.day())
    when = dt.datetime.combine(day, dt.time.max if end else dt.time.min)
    return when.replace(tzinfo=dt.UTC)


class PixxelDock(QDockWidget):
    """The plugin's panel. Public methods are what the buttons do (and what tests call).

    Args:
        iface: QGIS's ``QgisInterface``.
        runner: keeps tasks alive until they finish.
    """

    catalogs_changed = pyqtSignal()
    layer_added = pyqtSignal(object)
    deliveries_changed = pyqtSignal()
    download_finished = pyqtSignal(str)

    def __init__(self, iface: Any, runner: TaskRunner) -> None:
        super().__init__(TITLE, iface.mainWindow())
        self.setObjectName("PixxelDock")
        self.iface = iface
        self.runner = runner
        self.w = PanelWidgets(self)
        self.setWidget(self.w)
        self.catalogs: list[Any] = []
        self.footprints: QgsVectorLayer | None = None
        self._fid_by_catalog: dict[str, int] = {}
        self._syncing = False
        self._download_ids: dict[str, str] = {}
        self._delivery_rows: dict[str, int] = {}
        self._target: service.ApiTarget | None = None
        self._load()
        self.stream = StreamServer(self.cached_target)
        w = self.w
        w.save_button.clicked.connect(self.save_connection)
        w.test_button.clicked.connect(self.test_connection)
        w.search_button.clicked.connect(self.search)
        w.add_button.clicked.connect(self.add_selected_to_map)
        w.refresh_stores_button.clicked.connect(self.refresh_stores)
        w.deliver_button.clicked.connect(self.deliver_selected)
        w.download_button.clicked.connect(self.download_selected)
        w.browse_button.clicked.connect(self._browse_folder)
        w.results.itemSelectionChanged.connect(self._table_selection_changed)

    # -- messages ---------------------------------------------------------------------------
    def notify(self, text: str, level: Qgis.MessageLevel = Qgis.Info, duration: int = 5) -> None:
        """Show ``text`` in QGIS's message bar (and its log)."""
        self.iface.messageBar().pushMessage(TITLE, text, level=level, duration=duration)
        QgsMessageLog.logMessage(text, TITLE, level)

    def show_error(self, what: str, exc: BaseException) -> None:
        """Report a failure in the message bar (kept until dismissed)."""
        self.notify(f"{what}: {error_text(exc)}", Qgis.Critical, 0)

    # -- connection -------------------------------------------------------------------------
    def _load(self) -> None:
        current = settings.load_settings()
        self.w.url_edit.setText(current.api_url)
        self.w.folder_edit.setText(current.download_folder)
        self.w.connection_status.setText("Token stored." if current.authcfg else "No token stored yet.")
        self._refresh_target()

    def _refresh_target(self) -> None:
        try:
            self._target = self.target()
        except settings.AuthStorageError:
            self._target = None

    def cached_target(self) -> service.ApiTarget:
        """The API target as last read on the GUI thread (the local server's threads use it).

        Raises:
            px.ConfigurationError: no connection is saved yet.
        """
        if self._target is None:
            raise px.ConfigurationError(
                "No Pixxel connection is saved: enter the API URL and token in the Pixxel panel and press Save."
            )
        return self._target

    def close_stream(self) -> None:
        """Stop the local range server (plugin unload)."""
        self.stream.close()

    def save_connection(self) -> bool:
        """Save the URL; store a newly entered token in the auth database (the field is then cleared)."""
        current = settings.load_settings()
        authcfg = current.authcfg
        token = self.w.token_edit.text().strip()
        if token:
            try:
                authcfg = settings.store_token(token, current.authcfg)
            except settings.AuthStorageError as exc:
                self.show_error("Could not store the token", exc)
                return False
            self.w.token_edit.clear()
        url = self.w.url_edit.text().strip().rstrip("/") or settings.DEFAULT_API_URL
        if not url.startswith(("http://", "https://")):
            self.notify(
                f"The API URL {url!r} must start with https:// (or http:// for a local sandbox).",
                Qgis.Critical,
                0,
            )
            return False
        settings.save_settings(
            settings.ConnectionSettings(
                api_url=url,
                authcfg=authcfg,
                download_folder=self.w.folder_edit.text().strip(),
                store_id=str(self.w.store_combo.currentData() or current.store_id),
            )
        )
        self.w.connection_status.setText("Token stored." if authcfg else "No token stored yet.")
        self._refresh_target()
        return True

    def target(self) -> service.ApiTarget:
        """The API URL and token to use now (read on the GUI thread)."""
        current = settings.load_settings()
        return service.ApiTarget(current.api_url, settings.read_token(current.authcfg))

    def _submit(
        self, description: str, work: Any, on_done: Any, failure: str, on_error: Any = None
    ) -> FunctionTask | None:
        try:
            target = self.target()
        except settings.AuthStorageError as exc:
            self.show_error(failure, exc)
            return None
        task = FunctionTask(
            description,
            lambda t: work(target, t),
            on_done,
            on_error or (lambda e: self.show_error(failure, e)),
        )
        task.reported.connect(self.w.results_status.setText)
        return self.runner.submit(task)

    def test_connection(self) -> FunctionTask | None:
        """Ping the API and check the token (a task); the result goes to the message bar."""
        if not self.save_connection():
            return None

        def done(count: int) -> None:
            self.w.connection_status.setText(f"Connected: {count} store(s) in the workspace.")
            self.notify(f"Connected to {settings.load_settings().api_url}.", Qgis.Success)

        return self._submit(
            "Pixxel: test connection",
            lambda target, t: service.check_connection(target, t.feedback),
            done,
            "Connection failed",
        )

    # -- search -----------------------------------------------------------------------------
    def search_bbox(self) -> list[float]:
        """The map canvas extent in degrees (west, south, east, north), clamped to the globe."""
        canvas = self.iface.mapCanvas()
        source_crs = canvas.mapSettings().destinationCrs()
        extent = canvas.extent()
        if source_crs.isValid() and source_crs != WGS84:
            extent = QgsCoordinateTransform(source_crs, WGS84, QgsProject.instance()).transformBoundingBox(extent)
        return [
            max(-180.0, extent.xMinimum()),
            max(-90.0, extent.yMinimum()),
            min(180.0, extent.xMaximum()),
            min(90.0, extent.yMaximum()),
        ]

    def search(self) -> FunctionTask | None:
        """Search catalogs in the map extent with the panel's filters (a task)."""
        w = self.w
        bbox = self.search_bbox()
        start = _qdate(w.start_date.date(), False) if w.date_filter.isChecked() else None
        end = _qdate(w.end_date.date(), True) if w.date_filter.isChecked() else None
        cloud = w.cloud_spin.value() if w.cloud_spin.value() < 100.0 else None
        w.results_status.setText("Searching…")

        def work(target: service.ApiTarget, task: FunctionTask) -> list[Any]:
            return service.search_catalogs(target, bbox, start, end, cloud, task.feedback)

        return self._submit("Pixxel: search catalogs", work, self.show_catalogs, "Search failed")

    def show_catalogs(self, catalogs: list[Any]) -> None:
        """Fill the list and (re)draw the footprints layer."""
        self.catalogs = list(catalogs)
        table = self.w.results
        self._syncing = True
        table.setRowCount(0)
        for row, catalog in enumerate(self.catalogs):
            table.insertRow(row)
            when = catalog.datetime.strftime("%Y-%m-%d %H:%M") if catalog.datetime else ""
            cloud = "" if catalog.cloud_cover is None else f"{catalog.cloud_cover:.0f}"
            for column, text in enumerate((catalog.item_id or catalog.id, when, cloud)):
                item = QTableWidgetItem(text)
                item.setData(Qt.UserRole, catalog.id)
                table.setItem(row, column, item)
        self._syncing = False
        self._draw_footprints()
        self.w.results_status.setText(f"{len(self.catalogs)} catalog(s) found.")
        self.catalogs_changed.emit()

    def _draw_footprints(self) -> None:
        project = QgsProject.instance()
        if self.footprints is not None and project.mapLayer(self.footprints.id()) is not None:
            project.removeMapLayer(self.footprints.id())
        self.footprints = layers.footprints_layer(self.catalogs)
        self._fid_by_catalog = {f["catalog_id"]: f.id() for f in self.footprints.getFeatures()}
        project.addMapLayer(self.footprints)
        self.footprints.selectionChanged.connect(self._layer_selection_changed)

    def selected_catalogs(self) -> list[Any]:
        """The catalogs selected in the list (in list order)."""
        rows = sorted({index.row() for index in self.w.results.selectionModel().selectedRows()})
        return [self.catalogs[row] for row in rows if row < len(self.catalogs)]

    def select_catalogs(self, catalog_ids: list[str]) -> None:
        """Select these catalogs in the list (the footprints follow)."""
        table = self.w.results
        mode = table.selectionMode()
        table.clearSelection()
        table.setSelectionMode(table.MultiSelection)
        for row, catalog in enumerate(self.catalogs):
            if catalog.id in catalog_ids:
                table.selectRow(row)
        table.setSelectionMode(mode)

    def _table_selection_changed(self) -> None:
        if self._syncing or self.footprints is None:
            return
        self._syncing = True
        try:
            ids = [self._fid_by_catalog[c.id] for c in self.selected_catalogs() if c.id in self._fid_by_catalog]
            self.footprints.selectByIds(ids)
        finally:
            self._syncing = False

    def _layer_selection_changed(self, selected: list[int], *_: Any) -> None:
        if self._syncing or self.footprints is None:
            return
        chosen = [f["catalog_id"] for f in self.footprints.getSelectedFeatures()]
        self._syncing = True
        try:
            self.select_catalogs(chosen)
        finally:
            self._syncing = False

    # -- add to map -------------------------------------------------------------------------
    def _need_selection(self) -> list[Any]:
        chosen = self.selected_catalogs()
        if not chosen:
            self.notify("Select one or more catalogs in the Pixxel panel first.", Qgis.Warning)
        return chosen

    def add_selected_to_map(self) -> list[FunctionTask]:
        """Stream each selected catalog onto the map (one task each)."""
        return [t for c in self._need_selection() if (t := self.add_to_map(c)) is not None]

    def add_to_map(self, catalog: Any) -> FunctionTask | None:
        """Add a layer streaming ``catalog`` through the plugin's local range server (a task).

        The task asks the API for the product (creating or reusing a download resource) and
        reads the zip's directory; the layer's source is a stable local URL without a signature.
        """
        known = self._download_ids.get(catalog.id)
        if known:
            self.stream.remember_download(catalog.id, known)

        def work(target: service.ApiTarget, task: FunctionTask) -> Any:
            task.report(f"Preparing {catalog.item_id}…")
            member = layers.member_name(catalog, self.stream.server.members(catalog.id))
            if not self.stream.stored(catalog.id, member):
                raise px.TransferError(
                    f"{member} is compressed in the product zip (DEFLATE): it cannot be streamed; download it instead."
                )
            download_id = self.stream.download_id(catalog.id)
            uri = self.stream.uri(catalog.id, member, calibrated=self.stream.calibrated(catalog.id, member))
            layer = layers.raster_layer(catalog, uri, download_id, member)
            layer.moveToThread(QgsApplication.instance().thread())
            return download_id, layer

        def done(result: Any) -> None:
            download_id, layer = result
            if download_id:
                self._download_ids[catalog.id] = download_id
            if not layer.isValid():
                self.notify(
                    f"QGIS could not open {catalog.item_id}: {redact_urls(layer.error().summary())}",
                    Qgis.Critical,
                    0,
                )
                return
            QgsProject.instance().addMapLayer(layer)
            self.w.results_status.setText(f"Added {catalog.item_id} (streamed).")
            self.layer_added.emit(layer)

        return self._submit(f"Pixxel: add {catalog.item_id} to the map", work, done, "Add to map failed")

    def restore_layers(self, raster_layers: list[Any]) -> int:
        """Point saved Pixxel layers at this session's local server (after a project is read).

        The project path preprocessor already maps saved local URLs; this also repairs layers
        saved by older versions of the plugin (signed-URL sources) and keeps their download ids.

        Returns:
            How many layers had to be re-pointed.
        """
        repointed = 0
        for layer in raster_layers:
            catalog_id = str(layer.customProperty(layers.CATALOG_ID_PROPERTY))
            download_id = str(layer.customProperty(layers.DOWNLOAD_ID_PROPERTY, "") or "")
            member = str(layer.customProperty(layers.MEMBER_PROPERTY, "") or "")
            if download_id:
                self.stream.remember_download(catalog_id, download_id)
                self._download_ids.setdefault(catalog_id, download_id)
            if not member:
                continue
            uri = self.stream.uri(catalog_id, member, calibrated=layer.source().endswith(".vrt"))
            if layer.source() != uri or not layer.isValid():
                repointed += 1
                if not layers.repoint_layer(layer, uri):
                    self.notify(f"{layer.name()}: the Pixxel product could not be opened.", Qgis.Critical, 0)
        return repointed

    # -- deliver ----------------------------------------------------------------------------
    def refresh_stores(self) -> FunctionTask | None:
        """Reload the store picker from the API (a task)."""

        def done(stores: list[Any]) -> None:
            combo = self.w.store_combo
            wanted = str(combo.currentData() or settings.load_settings().store_id)
            combo.clear()
            for store in stores:
                combo.addItem(f"{store.name} ({store.type}: {store.configs.bucket})", store.id)
            index = combo.findData(wanted)
            combo.setCurrentIndex(max(index, 0))
            if not stores:
                self.notify("No stores in this workspace: create one on the Pixxel platform.", Qgis.Warning)

        return self._submit(
            "Pixxel: list stores",
            lambda target, t: service.list_stores(target, t.feedback),
            done,
            "Listing stores failed",
        )

    def _set_delivery_row(self, key: str, item: str, delivery_id: str, status: str) -> None:
        table = self.w.deliveries
        row = self._delivery_rows.get(key)
        if row is None:
            row = table.rowCount()
            table.insertRow(row)
            self._delivery_rows[key] = row
        for column, text in enumerate((item, delivery_id, status)):
            table.setItem(row, column, QTableWidgetItem(text))
        self.deliveries_changed.emit()

    def delivery_statuses(self) -> dict[str, str]:
        """Item id -> status text shown in the deliveries list."""
        table = self.w.deliveries
        return {table.item(r, 0).text(): table.item(r, 2).text() for r in range(table.rowCount())}

    def deliver_selected(self) -> FunctionTask | None:
        """Deliver the selected catalogs into the chosen store; statuses appear in the panel."""
        chosen = self._need_selection()
        store_id = self.w.store_combo.currentData()
        if not chosen:
            return None
        if not store_id:
            self.notify("Choose a store first (press Refresh to load the workspace's stores).", Qgis.Warning)
            return None
        names = {c.id: c.item_id or c.id for c in chosen}
        for catalog_id, name in names.items():
            self._set_delivery_row(catalog_id, name, "", "REQUESTED")

        def work(target: service.ApiTarget, task: FunctionTask) -> list[Any]:
            def on_event(event: Any) -> None:
                if isinstance(event, px.StateChanged):
                    task.report(f"Delivery {event.subject[:8]}: {event.status}")

            return service.deliver(target, str(store_id), list(names), on_event, task.feedback)

        def done(deliveries: list[Any]) -> None:
            for delivery in deliveries:
                name = names.get(delivery.catalog_id, delivery.catalog_id)
                self._set_delivery_row(delivery.catalog_id, name, delivery.delivery_id, delivery.status.value)
            self.notify(f"{len(deliveries)} delivery(ies) completed.", Qgis.Success)

        def failed(exc: BaseException) -> None:
            for catalog_id, name in names.items():
                self._set_delivery_row(catalog_id, name, "", "FAILED")
            self.show_error("Delivery failed", exc)

        task = self._submit("Pixxel: deliver to store", work, done, "Delivery failed", failed)
        if task is not None:
            task.reported.connect(lambda text: self._mark_running(names, text))
        return task

    def _mark_running(self, names: dict[str, str], text: str) -> None:
        for catalog_id, name in names.items():
            row = self._delivery_rows.get(catalog_id)
            if row is not None and self.w.deliveries.item(row, 2).text() == "REQUESTED":
                self._set_delivery_row(catalog_id, name, "", "IN PROGRESS")
        self.w.results_status.setText(text)

    # -- download ---------------------------------------------------------------------------
    def _browse_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Download folder", self.w.folder_edit.text())
        if folder:
            self.w.folder_edit.setText(folder)

    def download_selected(self) -> list[FunctionTask]:
        """Download each selected product to ``<folder>/pixxel-<catalog id>.zip`` (one task each)."""
        folder = Path(self.w.folder_edit.text().strip()).expanduser()
        if not self.w.folder_edit.text().strip() or not folder.is_dir():
            self.notify(f"Choose an existing download folder first (got {str(folder)!r}).", Qgis.Warning)
            return []
        chosen = self._need_selection()
        self.save_connection()
        return [t for c in chosen if (t := self.download(c, folder)) is not None]

    def download(self, catalog: Any, folder: Path) -> FunctionTask | None:
        """Download one product into ``folder`` with the core's transfer engine, with progress.

        Resumable (run it again after a failure or cancel), verified against the server's
        SHA-256, re-signed when the URL expires, placed atomically; see :mod:`pixxel_plugin.filefetch`.
        """
        dest = product_path(folder, catalog.id)

        def work(target: service.ApiTarget, task: FunctionTask) -> Any:
            known = self._download_ids.get(catalog.id)
            task.setProgress(1.0)

            def progress(done: int, total: int) -> None:
                task.setProgress(1.0 + 99.0 * done / max(total, 1))

            def remember(download_id: str) -> None:  # from the worker: a resume reuses it, even after a failure
                self._download_ids[catalog.id] = download_id

            result = download_product(target, catalog.id, folder, known, progress, task.feedback, remember)
            task.setProgress(100.0)
            return result

        def done(result: Any) -> None:
            self._download_ids[catalog.id] = result.download_id
            self.notify(f"Downloaded {result.path.name} to {result.path.parent}.", Qgis.Success)
            self.download_finished.emit(str(result.path))

        return self._submit(f"Pixxel: download {dest.name}", work, done, f"Download of {dest.name} failed")
