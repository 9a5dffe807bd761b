"""Map layers: streamed rasters (RGB rendering, ids kept on the layer) and the footprints layer.

A product is a zip whose image member is a COG. The plugin's local range server
(:mod:`pixxel_plugin.localstream`) serves that member at a stable 127.0.0.1 URL and re-signs
behind it, so a layer's source is ``/vsicurl/http://127.0.0.1:<port>/<token>/catalogs/<id>/<member>``:
no signed URL, no ``.zip`` (which QGIS 3.20-3.38 rewrite), and GDAL 3.6 reads only what it draws.
The image member is the one the catalog's STAC ``image`` asset names, else ``<item_id>.tif``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

from osgeo import ogr
from qgis.core import (
    Qgis,
    QgsContrastEnhancement,
    QgsDataProvider,
    QgsFeature,
    QgsField,
    QgsGeometry,
    QgsMultiBandColorRenderer,
    QgsRasterLayer,
    QgsVectorLayer,
)
from qgis.PyQt.QtCore import QVariant
from qgis.PyQt.QtGui import QColor

from ._vendor.pixxel_geo.io.calibration import RGB_WAVELENGTHS, rgb_bands
from ._vendor.pixxel_geo.io.members import choose_product

__all__ = [
    "CATALOG_ID_PROPERTY",
    "DOWNLOAD_ID_PROPERTY",
    "MEMBER_PROPERTY",
    "RGB_WAVELENGTHS",
    "apply_rgb_renderer",
    "footprints_layer",
    "member_name",
    "pixxel_layers",
    "raster_layer",
    "repoint_layer",
    "rgb_band_indices",
    "stretch_maximum",
]

CATALOG_ID_PROPERTY = "pixxel/catalog_id"
DOWNLOAD_ID_PROPERTY = "pixxel/download_id"
MEMBER_PROPERTY = "pixxel/member"
# Surface reflectance 0..0.3 is a good default stretch for land. Products store reflectance x 50000
# (uint16); QGIS applies a band's scale (the calibrated VRT's 0.00002) itself and hands out reflectance.
REFLECTANCE_STRETCH = 0.3
DN_PER_REFLECTANCE = 50000.0  # Pixxel's L2A / L1C: reflectance = DN / 50000
FOOTPRINT_FIELDS = (
    ("catalog_id", QVariant.String),
    ("item_id", QVariant.String),
    ("datetime", QVariant.String),
    ("cloud_cover", QVariant.Double),
)


def member_name(catalog: Any, names: Iterable[str]) -> str:
    """The zip member holding the catalog's image, chosen as the core chooses it (never the mask).

    Args:
        catalog: the catalog (its ``item_id`` picks its product in an archive holding several).
        names: the archive's member names.
    """
    return str(choose_product(list(names), item_id=catalog.item_id or None).image)


def rgb_band_indices(wavelengths: Sequence[float | None]) -> tuple[int, int, int]:
    """1-based band numbers nearest 650 / 550 / 470 nm (red, green, blue): the core's picker.

    Falls back to bands 1, 2, 3 (or 1, 1, 1) when wavelengths are unknown.

    Example:
        >>> rgb_band_indices([400, 440, 480, 520, 560, 600, 640, 680])
        (7, 5, 3)
    """
    return rgb_bands(list(wavelengths), len(wavelengths))


def stretch_maximum(provider: Any, band: int) -> float:
    """The value shown as full brightness: reflectance 0.3 in the band's units as QGIS reads them."""
    scale = float(provider.bandScale(band) or 1.0)
    if scale != 1.0:  # QGIS applied the scale: values are reflectance
        return REFLECTANCE_STRETCH
    if provider.dataType(band) in (Qgis.Float32, Qgis.Float64):
        return REFLECTANCE_STRETCH
    return REFLECTANCE_STRETCH * DN_PER_REFLECTANCE


def apply_rgb_renderer(layer: QgsRasterLayer, wavelengths: Sequence[float | None]) -> tuple[int, int, int]:
    """Give ``layer`` a true-colour rendering from the bands nearest 650/550/470 nm.

    Returns:
        The (red, green, blue) band numbers used.
    """
    red, green, blue = rgb_band_indices(wavelengths)
    provider = layer.dataProvider()
    renderer = QgsMultiBandColorRenderer(provider, red, green, blue)
    for band, setter in (
        (red, renderer.setRedContrastEnhancement),
        (green, renderer.setGreenContrastEnhancement),
        (blue, renderer.setBlueContrastEnhancement),
    ):
        enhancement = QgsContrastEnhancement(provider.dataType(band))
        enhancement.setContrastEnhancementAlgorithm(QgsContrastEnhancement.StretchToMinimumMaximum)
        enhancement.setMinimumValue(0.0)
        enhancement.setMaximumValue(stretch_maximum(provider, band))
        setter(enhancement)
    layer.setRenderer(renderer)
    return red, green, blue


def raster_layer(catalog: Any, uri: str, download_id: str | None, member: str) -> QgsRasterLayer:
    """A streamed raster layer for ``catalog`` at ``uri``, RGB-rendered, its ids as custom properties.

    The layer is not added to the project; check ``layer.isValid()``.
    """
    name = catalog.item_id or catalog.id
    layer = QgsRasterLayer(uri, name, "gdal")
    layer.setCustomProperty(CATALOG_ID_PROPERTY, catalog.id)
    layer.setCustomProperty(DOWNLOAD_ID_PROPERTY, download_id or "")
    layer.setCustomProperty(MEMBER_PROPERTY, member)
    if layer.isValid():
        apply_rgb_renderer(layer, [band.center_wavelength for band in catalog.bands])
    return layer


def repoint_layer(layer: QgsRasterLayer, uri: str) -> bool:
    """Point ``layer`` at ``uri`` (this session's local server), keeping its name and rendering; return validity."""
    renderer = layer.renderer().clone() if layer.renderer() is not None else None
    layer.setDataSource(uri, layer.name(), "gdal", QgsDataProvider.ProviderOptions())
    if layer.isValid() and renderer is not None and isinstance(renderer, QgsMultiBandColorRenderer):
        renderer.setInput(layer.dataProvider())
        layer.setRenderer(renderer)
    layer.triggerRepaint()
    return layer.isValid()


def pixxel_layers(layers: Iterable[Any]) -> list[QgsRasterLayer]:
    """The raster layers among ``layers`` that the plugin added (they carry a catalog id)."""
    return [
        layer
        for layer in layers
        if isinstance(layer, QgsRasterLayer) and layer.customProperty(CATALOG_ID_PROPERTY, None)
    ]


def _geometry(geojson: dict[str, Any] | None) -> QgsGeometry:
    if not geojson:
        return QgsGeometry()
    ogr_geometry = ogr.CreateGeometryFromJson(json.dumps(geojson))
    return QgsGeometry.fromWkt(ogr_geometry.ExportToWkt()) if ogr_geometry is not None else QgsGeometry()


def footprints_layer(catalogs: Sequence[Any], name: str = "Pixxel footprints") -> QgsVectorLayer:
    """A memory layer (EPSG:4326) with one polygon per catalog; feature ids follow ``catalogs``' order + 1.

    Example:
        >>> layer = footprints_layer(list(client.catalogs.search(max_items=5)))  # doctest: +SKIP
        >>> layer.featureCount()  # doctest: +SKIP
        5
    """
    layer = QgsVectorLayer("Polygon?crs=EPSG:4326", name, "memory")
    provider = layer.dataProvider()
    provider.addAttributes([QgsField(field, kind) for field, kind in FOOTPRINT_FIELDS])
    layer.updateFields()
    features = []
    for catalog in catalogs:
        feature = QgsFeature(layer.fields())
        feature.setGeometry(_geometry(catalog.geometry))
        when = catalog.datetime.isoformat() if catalog.datetime else ""
        feature.setAttributes([catalog.id, catalog.item_id or "", when, catalog.cloud_cover])
        features.append(feature)
    provider.addFeatures(features)
    layer.updateExtents()
    symbol = layer.renderer().symbol() if layer.renderer() is not None else None
    if symbol is not None:
        symbol.setColor(QColor(124, 58, 237, 60))
    return layer
