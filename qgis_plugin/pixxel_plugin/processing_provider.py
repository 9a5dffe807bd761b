"""Processing algorithms (toolbox, batch mode, Model Builder): search, stream, download, deliver.

Each algorithm reads the connection the panel saved (API URL and token, cached on the GUI
thread) and reports progress and honours cancel through Processing's ``feedback``. They reuse
what the panel uses: :mod:`pixxel_plugin.service` for the API, the local range server for
streamed layers and the core's transfer engine for downloads.

Example (QGIS Python console):
    >>> import processing  # doctest: +SKIP
    >>> processing.run("pixxel:searchcatalogs", {"EXTENT": "77.5,77.7,12.9,13.1 [EPSG:4326]",
    ...                 "OUTPUT": "memory:"})  # doctest: +SKIP
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

from qgis.core import (
    QgsCoordinateReferenceSystem,
    QgsFeature,
    QgsFeatureSink,
    QgsFields,
    QgsProcessing,
    QgsProcessingAlgorithm,
    QgsProcessingContext,
    QgsProcessingException,
    QgsProcessingOutputRasterLayer,
    QgsProcessingOutputString,
    QgsProcessingParameterDateTime,
    QgsProcessingParameterExtent,
    QgsProcessingParameterFeatureSink,
    QgsProcessingParameterFolderDestination,
    QgsProcessingParameterNumber,
    QgsProcessingParameterString,
    QgsProcessingProvider,
    QgsWkbTypes,
)
from qgis.PyQt.QtGui import QIcon

from . import layers, service
from ._vendor import pixxel_geo as px
from .filefetch import download_product

__all__ = ["PixxelProvider"]

WGS84 = QgsCoordinateReferenceSystem("EPSG:4326")


def _ids(text: str) -> list[str]:
    ids = [part.strip() for part in text.replace("\n", ",").split(",") if part.strip()]
    if not ids:
        raise QgsProcessingException("Give at least one catalog id (several: separated by commas).")
    return ids


class _Algorithm(QgsProcessingAlgorithm):
    """Common parts: the provider's connection and clear errors."""

    def __init__(self, plugin: Any) -> None:
        super().__init__()
        self.plugin = plugin

    def createInstance(self) -> QgsProcessingAlgorithm:
        return type(self)(self.plugin)

    def group(self) -> str:
        return "Pixxel"

    def groupId(self) -> str:
        return "pixxel"

    def icon(self) -> QIcon:
        return QIcon(str(Path(__file__).with_name("icon.svg")))

    def target(self) -> service.ApiTarget:
        dock = getattr(self.plugin, "dock", None)
        if dock is None:
            raise QgsProcessingException("The Pixxel plugin is not loaded.")
        try:
            return dock.cached_target()
        except px.PixxelError as exc:
            raise QgsProcessingException(str(exc)) from None

    def fail(self, what: str, exc: BaseException) -> QgsProcessingException:
        text = str(exc) if isinstance(exc, px.PixxelError) else f"{type(exc).__name__}: {exc}"
        return QgsProcessingException(f"{what}: {px.redact_urls(text)}")


class SearchCatalogs(_Algorithm):
    """Catalogs in an extent, date and cloud range -> a footprints layer."""

    def name(self) -> str:
        return "searchcatalogs"

    def displayName(self) -> str:
        return "Search catalogs (footprints)"

    def shortHelpString(self) -> str:
        return "Pixxel catalogs intersecting the extent, taken between the dates, at most this cloudy."

    def initAlgorithm(self, config: Any = None) -> None:
        self.addParameter(QgsProcessingParameterExtent("EXTENT", "Extent"))
        self.addParameter(QgsProcessingParameterDateTime("START", "Taken from", optional=True))
        self.addParameter(QgsProcessingParameterDateTime("END", "Taken until", optional=True))
        self.addParameter(
            QgsProcessingParameterNumber(
                "MAX_CLOUD", "Maximum cloud cover (%)", QgsProcessingParameterNumber.Double, 100.0, False, 0.0, 100.0
            )
        )
        self.addParameter(
            QgsProcessingParameterNumber(
                "MAX_ITEMS", "At most", QgsProcessingParameterNumber.Integer, 500, False, 1, 10_000
            )
        )
        self.addParameter(QgsProcessingParameterFeatureSink("OUTPUT", "Footprints", QgsProcessing.TypeVectorPolygon))

    def processAlgorithm(self, parameters: Any, context: QgsProcessingContext, feedback: Any) -> dict[str, Any]:
        extent = self.parameterAsExtent(parameters, "EXTENT", context, WGS84)
        start = self.parameterAsDateTime(parameters, "START", context)
        end = self.parameterAsDateTime(parameters, "END", context)
        cloud = self.parameterAsDouble(parameters, "MAX_CLOUD", context)
        max_items = self.parameterAsInt(parameters, "MAX_ITEMS", context)
        bbox = [extent.xMinimum(), extent.yMinimum(), extent.xMaximum(), extent.yMaximum()]

        def when(value: Any) -> dt.datetime | None:
            return value.toPyDateTime().replace(tzinfo=dt.UTC) if value is not None and value.isValid() else None

        try:
            catalogs = service.search_catalogs(
                self.target(), bbox, when(start), when(end), cloud if cloud < 100 else None,
                feedback, max_items=max_items,
            )  # fmt: skip
        except px.PixxelError as exc:
            raise self.fail("Search failed", exc) from None
        template = layers.footprints_layer([])
        fields: QgsFields = template.fields()
        sink, dest_id = self.parameterAsSink(parameters, "OUTPUT", context, fields, QgsWkbTypes.Polygon, WGS84)
        if sink is None:
            raise QgsProcessingException(self.invalidSinkError(parameters, "OUTPUT"))
        for number, feature in enumerate(layers.footprints_layer(catalogs).getFeatures()):
            if feedback.isCanceled():
                break
            out = QgsFeature(fields)
            out.setGeometry(feature.geometry())
            out.setAttributes(feature.attributes())
            sink.addFeature(out, QgsFeatureSink.FastInsert)
            feedback.setProgress(100.0 * (number + 1) / max(len(catalogs), 1))
        feedback.pushInfo(f"{len(catalogs)} catalog(s) found.")
        return {"OUTPUT": dest_id}


class AddStreamedLayer(_Algorithm):
    """A catalog's image as a layer streamed through the plugin's local range server."""

    def name(self) -> str:
        return "addstreamedlayer"

    def displayName(self) -> str:
        return "Add streamed product layer"

    def shortHelpString(self) -> str:
        return "Streams a catalog's image (range requests through a local server; no download, no signed URL)."

    def initAlgorithm(self, config: Any = None) -> None:
        self.addParameter(QgsProcessingParameterString("CATALOG_ID", "Catalog id"))
        self.addOutput(QgsProcessingOutputRasterLayer("OUTPUT", "Streamed layer"))

    def processAlgorithm(self, parameters: Any, context: QgsProcessingContext, feedback: Any) -> dict[str, Any]:
        catalog_id = self.parameterAsString(parameters, "CATALOG_ID", context).strip()
        dock = getattr(self.plugin, "dock", None)
        target = self.target()
        try:
            with service.make_client(target) as client:
                catalog = client.catalogs.get(catalog_id)
            member = layers.member_name(catalog, dock.stream.server.members(catalog.id))
            feedback.setProgress(30)
            if not dock.stream.stored(catalog.id, member):
                raise px.TransferError(f"{member} is compressed in the product zip: download it instead.")
        except px.PixxelError as exc:
            raise self.fail(f"Cannot stream {catalog_id}", exc) from None
        uri = dock.stream.uri(catalog.id, member, calibrated=dock.stream.calibrated(catalog.id, member))
        layer = layers.raster_layer(catalog, uri, dock.stream.download_id(catalog.id), member)
        if not layer.isValid():
            raise QgsProcessingException(
                f"QGIS could not open {catalog.item_id}: {px.redact_urls(layer.error().summary())}"
            )
        context.temporaryLayerStore().addMapLayer(layer)
        context.addLayerToLoadOnCompletion(
            layer.id(), QgsProcessingContext.LayerDetails(layer.name(), context.project(), "OUTPUT")
        )
        feedback.setProgress(100)
        return {"OUTPUT": layer.id()}


class DownloadCatalogs(_Algorithm):
    """Catalogs' products into a folder with the core's transfer engine."""

    def name(self) -> str:
        return "downloadcatalogs"

    def displayName(self) -> str:
        return "Download catalogs to a folder"

    def shortHelpString(self) -> str:
        return "Downloads products as pixxel-<catalog id>.zip: resumable, verified (SHA-256), re-signed on expiry."

    def initAlgorithm(self, config: Any = None) -> None:
        self.addParameter(QgsProcessingParameterString("CATALOG_IDS", "Catalog ids (comma separated)"))
        self.addParameter(QgsProcessingParameterFolderDestination("FOLDER", "Folder"))
        self.addOutput(QgsProcessingOutputString("FILES", "Downloaded files (separated by ';')"))

    def processAlgorithm(self, parameters: Any, context: QgsProcessingContext, feedback: Any) -> dict[str, Any]:
        ids = _ids(self.parameterAsString(parameters, "CATALOG_IDS", context))
        folder = Path(self.parameterAsString(parameters, "FOLDER", context))
        folder.mkdir(parents=True, exist_ok=True)
        target = self.target()
        files = []
        for number, catalog_id in enumerate(ids):
            if feedback.isCanceled():
                break

            def progress(done: int, total: int, n: int = number) -> None:
                feedback.setProgress(100.0 * (n + done / max(total, 1)) / len(ids))

            try:
                result = download_product(target, catalog_id, folder, None, progress, feedback)
            except px.PixxelError as exc:
                raise self.fail(f"Download of {catalog_id} failed", exc) from None
            feedback.pushInfo(f"Downloaded {result.path.name}.")
            files.append(str(result.path))
        return {"FILES": ";".join(files)}


class DeliverCatalogs(_Algorithm):
    """Deliver catalogs into a store and wait until every delivery is final."""

    def name(self) -> str:
        return "delivercatalogs"

    def displayName(self) -> str:
        return "Deliver catalogs to a store and wait"

    def shortHelpString(self) -> str:
        return "Delivers products into one of the workspace's stores (S3, GCS, Azure) and waits for the outcome."

    def initAlgorithm(self, config: Any = None) -> None:
        self.addParameter(QgsProcessingParameterString("CATALOG_IDS", "Catalog ids (comma separated)"))
        self.addParameter(QgsProcessingParameterString("STORE_ID", "Store id"))
        self.addOutput(QgsProcessingOutputString("DELIVERY_IDS", "Delivery ids (separated by ';')"))
        self.addOutput(QgsProcessingOutputString("STATUSES", "Statuses (separated by ';')"))

    def processAlgorithm(self, parameters: Any, context: QgsProcessingContext, feedback: Any) -> dict[str, Any]:
        ids = _ids(self.parameterAsString(parameters, "CATALOG_IDS", context))
        store_id = self.parameterAsString(parameters, "STORE_ID", context).strip()

        def on_event(event: Any) -> None:
            if isinstance(event, px.StateChanged):
                feedback.pushInfo(f"Delivery {event.subject}: {event.status}")

        try:
            deliveries = service.deliver(self.target(), store_id, ids, on_event, feedback)
        except px.PixxelError as exc:
            raise self.fail("Delivery failed", exc) from None
        feedback.setProgress(100)
        return {
            "DELIVERY_IDS": ";".join(d.delivery_id for d in deliveries),
            "STATUSES": ";".join(d.status.value for d in deliveries),
        }


class PixxelProvider(QgsProcessingProvider):
    """The "Pixxel" group of the Processing toolbox.

    Args:
        plugin: the loaded :class:`~pixxel_plugin.plugin.PixxelPlugin` (its panel holds the
            connection and the local range server).
    """

    ALGORITHMS: tuple[Callable[[Any], _Algorithm], ...] = (
        SearchCatalogs,
        AddStreamedLayer,
        DownloadCatalogs,
        DeliverCatalogs,
    )

    def __init__(self, plugin: Any) -> None:
        super().__init__()
        self.plugin = plugin

    def id(self) -> str:
        return "pixxel"

    def name(self) -> str:
        return "Pixxel"

    def icon(self) -> QIcon:
        return QIcon(str(Path(__file__).with_name("icon.svg")))

    def loadAlgorithms(self) -> None:
        for make in self.ALGORITHMS:
            self.addAlgorithm(make(self.plugin))
