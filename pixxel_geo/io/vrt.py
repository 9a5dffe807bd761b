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

from collections.abc import Sequence
from xml.sax.saxutils import escape, quoteattr

from pixxel_geo.io.calibration import Calibration

__all__ = ["band_label", "calibrated_vrt"]


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
    geotransform: Sequence[float] | None = None,
) -> str:
    """The VRT (XML text) wrapping ``path`` with the product's calibration.

    Args:
        path: the GDAL path of the image (e.g. ``/vsizip//vsicurl/http://127.0.0.1:…/member``).
        width, height: the image's size in pixels.
        data_type: GDAL's name of the stored type (``UInt16``, ``Float32``…).
        calibration: the product's calibration (:meth:`ProductRef.calibration`).
        crs_wkt: the image's CRS as WKT (GDAL does not take it from the source).
        geotransform: the image's GDAL geotransform ``(x0, dx, rx, y0, ry, dy)``.

    Returns:
        The VRT document; GDAL opens the text itself as a dataset name, or a ``.vrt`` file.

    Example:
        >>> calibrated_vrt("a.tif", 2, 2, "Float32", cal).startswith("<VRTDataset")  # doctest: +SKIP
        True
    """
    parts = [f'<VRTDataset rasterXSize="{int(width)}" rasterYSize="{int(height)}">']
    if crs_wkt:
        parts.append(f'  <SRS dataAxisToSRSAxisMapping="2,1">{escape(crs_wkt)}</SRS>')
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
        parts.append(f'      <SourceFilename relativeToVRT="0">{escape(path)}</SourceFilename>')
        parts.append(f"      <SourceBand>{i + 1}</SourceBand>")
        parts.append("    </SimpleSource>")
        parts.append("  </VRTRasterBand>")
    parts.append("</VRTDataset>")
    return "\n".join(parts) + "\n"
