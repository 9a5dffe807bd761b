"""A GDAL VRT that gives a product's image its calibration: scale, offset, nodata, band names.

GDAL reads a Pixxel GeoTIFF's stored values; what they mean (reflectance = DN / 50000, band
``B001`` at 470 nm…) comes from the catalog's STAC item, the ENVI header or the name
(:mod:`pixxel_geo.io.calibration`). A VRT around the image carries that to any GDAL client that
does not run this package's readers (QGIS's layers, ``gdalinfo``): per band ``<Scale>``,
``<Offset>``, ``<NoDataValue>``, a description with the wavelength, and ``wavelength`` /
``fwhm`` metadata. The VRT holds only the path it is given: hand it a path without secrets (the
local range server's, or a file's).

Pure Python (no GDAL needed to write it), so the QGIS plugin ships it as it is.

Example:
    >>> from pixxel_geo.io.calibration import calibration_from
    >>> cal = calibration_from(count=1, product_name="FF01_000001_20250101_L2A_20250102_00501001")
    >>> xml = calibrated_vrt("/vsizip/p.zip/p.tif", 10, 10, "UInt16", cal)
    >>> "<Scale>2e-05</Scale>" in xml
    True
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from typing import Any
from xml.sax.saxutils import escape, quoteattr

from pixxel_geo.api.models import stac_image_asset
from pixxel_geo.io.calibration import Calibration
from pixxel_geo.io.envi import envi_list

__all__ = ["band_label", "calibrated_vrt", "product_vrt"]

_STAC_TYPES = {"uint8": "Byte", "int16": "Int16", "uint16": "UInt16", "int32": "Int32", "uint32": "UInt32",
               "float32": "Float32", "float64": "Float64"}  # fmt: skip
_ENVI_TYPES = {"1": "Byte", "2": "Int16", "3": "Int32", "4": "Float32", "5": "Float64", "12": "UInt16", "13": "UInt32"}


def band_label(calibration: Calibration, index: int) -> str:
    """A band's name with its wavelength, e.g. ``B013 (508.5 nm)`` (0-based ``index``).

    Example:
        >>> from pixxel_geo.io.calibration import calibration_from
        >>> band_label(calibration_from(count=1), 0)
        'band_1'
    """
    name = calibration.band_names[index]
    if calibration.wavelengths is None:
        return name
    return f"{name} ({calibration.wavelengths[index]:.1f} nm)"


def calibrated_vrt(
    path: str,
    width: int,
    height: int,
    data_type: str,
    calibration: Calibration,
    *,
    crs_wkt: str | None = None,
    srs: str | None = None,
    geotransform: Sequence[float] | None = None,
    relative: bool = False,
) -> str:
    """The VRT (XML text) wrapping ``path`` with the product's calibration.

    Args:
        path: the GDAL path of the image (e.g. ``/vsizip//vsicurl/http://127.0.0.1:…/member``).
        width, height: the image's size in pixels.
        data_type: GDAL's name of the stored type (``UInt16``, ``Float32``…).
        calibration: the product's calibration (:meth:`ProductRef.calibration`).
        crs_wkt: the image's CRS as WKT (GDAL does not take it from the source).
        srs: the CRS as GDAL user input instead (``"EPSG:4326"``).
        geotransform: the image's GDAL geotransform ``(x0, dx, rx, y0, ry, dy)``.
        relative: ``path`` is relative to the VRT's own location.

    Returns:
        The VRT document; GDAL opens the text itself as a dataset name, or a ``.vrt`` file.

    Example:
        >>> calibrated_vrt("a.tif", 2, 2, "Float32", cal).startswith("<VRTDataset")  # doctest: +SKIP
        True
    """
    parts = [f'<VRTDataset rasterXSize="{int(width)}" rasterYSize="{int(height)}">']
    if crs_wkt or srs:
        # Geographic CRSs list latitude first; the geotransform gives longitude first.
        mapping = "2,1" if (srs == "EPSG:4326" or (crs_wkt and crs_wkt.startswith("GEOGCS"))) else "1,2"
        parts.append(f'  <SRS dataAxisToSRSAxisMapping="{mapping}">{escape(crs_wkt or srs or "")}</SRS>')
    if geotransform is not None:
        parts.append("  <GeoTransform>" + ", ".join(repr(float(v)) for v in geotransform) + "</GeoTransform>")
    for i in range(calibration.count):
        parts.append(f'  <VRTRasterBand dataType="{escape(data_type)}" band="{i + 1}">')
        parts.append(f"    <Description>{escape(band_label(calibration, i))}</Description>")
        if calibration.nodata is not None:
            parts.append(f"    <NoDataValue>{calibration.nodata!r}</NoDataValue>")
        parts.append(f"    <Offset>{calibration.offsets[i]!r}</Offset>")
        parts.append(f"    <Scale>{calibration.scales[i]!r}</Scale>")
        if calibration.units not in ("DN", "unknown"):
            parts.append(f"    <UnitType>{escape(calibration.units)}</UnitType>")
        metadata = {"band_name": calibration.band_names[i], "quantity": calibration.quantity}
        if calibration.wavelengths is not None:
            metadata |= {"wavelength": f"{calibration.wavelengths[i]:g}", "wavelength_units": "nm"}
        if calibration.fwhm[i] is not None:
            metadata["fwhm"] = f"{calibration.fwhm[i]:g}"
        parts.append("    <Metadata>")
        parts += [f"      <MDI key={quoteattr(k)}>{escape(v)}</MDI>" for k, v in metadata.items()]
        parts.append("    </Metadata>")
        parts.append("    <SimpleSource>")
        parts.append(f'      <SourceFilename relativeToVRT="{int(relative)}">{escape(path)}</SourceFilename>')
        parts.append(f"      <SourceBand>{i + 1}</SourceBand>")
        parts.append("    </SimpleSource>")
        parts.append("  </VRTRasterBand>")
    parts.append("</VRTDataset>")
    return "\n".join(parts) + "\n"


def _grid_from_stac(stac: dict[str, Any] | None) -> dict[str, Any]:
    props = (stac or {}).get("properties") if isinstance(stac, dict) else None
    if not isinstance(props, dict):
        return {}
    grid: dict[str, Any] = {}
    shape, transform, epsg = props.get("proj:shape"), props.get("proj:transform"), props.get("proj:epsg")
    if isinstance(shape, list) and len(shape) == 2 and all(isinstance(v, int) for v in shape):
        grid["height"], grid["width"] = shape
    if isinstance(transform, list) and len(transform) >= 6 and all(isinstance(v, int | float) for v in transform):
        a, b, c, d, e, f = (float(v) for v in transform[:6])
        grid["geotransform"] = (c, a, b, f, d, e)
    if isinstance(epsg, int):
        grid["epsg"] = epsg
    raster = stac_image_asset(stac).get("raster:bands") if isinstance(stac, dict) else None
    if isinstance(raster, list) and raster and isinstance(raster[0], dict):
        data_type = _STAC_TYPES.get(str(raster[0].get("data_type", "")).lower())
        if data_type:
            grid["data_type"] = data_type
    return grid


def _grid_from_header(header: dict[str, str] | None) -> dict[str, Any]:
    if not header:
        return {}
    grid: dict[str, Any] = {}
    with contextlib.suppress(KeyError, ValueError):
        grid["width"], grid["height"] = int(header["samples"]), int(header["lines"])
    data_type = _ENVI_TYPES.get(header.get("data type", "").strip())
    if data_type:
        grid["data_type"] = data_type
    info = envi_list(header.get("map info", ""))
    try:
        x0, y0, dx, dy = (float(v) for v in info[3:7])
        grid["geotransform"] = (x0, dx, 0.0, y0, 0.0, -dy)
        if info[0].lower().startswith("geographic"):
            grid["epsg"] = 4326
        elif info[0].upper() == "UTM" and len(info) >= 9:
            grid["epsg"] = (32600 if info[8].strip().lower() == "north" else 32700) + int(info[7])
    except (IndexError, ValueError):
        pass
    return grid


def product_vrt(
    image_name: str,
    calibration: Calibration,
    *,
    stac: dict[str, Any] | None = None,
    header: dict[str, str] | None = None,
) -> str | None:
    """The calibrated VRT of a product's image, from what its STAC item or ENVI header says of its grid.

    The image is referenced relative to the VRT (``relativeToVRT="1"``): served beside the
    image (same folder, same base URL), the VRT holds no host, port or token.

    Args:
        image_name: the image member's name (its folder is dropped: the VRT sits beside it).
        calibration: the product's calibration.
        stac: the catalog's STAC item (``proj:shape``, ``proj:transform``, ``proj:epsg``,
            ``raster:bands`` ``data_type``).
        header: the ENVI header's fields (``samples``, ``lines``, ``data type``, ``map info``).

    Returns:
        The VRT, or ``None`` when neither source gives the image's size and data type.

    Example:
        >>> product_vrt("p.tif", cal, stac=catalog.details)  # doctest: +SKIP
    """
    grid = {**_grid_from_header(header), **_grid_from_stac(stac)}
    if not {"width", "height", "data_type"} <= grid.keys():
        return None
    epsg = grid.get("epsg")
    return calibrated_vrt(
        image_name.rsplit("/", 1)[-1],
        grid["width"],
        grid["height"],
        grid["data_type"],
        calibration,
        srs=f"EPSG:{epsg}" if epsg else None,
        geotransform=grid.get("geotransform"),
        relative=True,
    )
