"""Descriptive documents of a synthetic product: STAC item, ENVI header, XML, GeoJSONs, sun angles."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import Any
from xml.sax.saxutils import escape

from affine import Affine

from pixxel_geo.sandbox.spectra import BandGrid

STAC_EXTENSIONS = [
    "https://stac-extensions.github.io/eo/v1.1.0/schema.json",
    "https://stac-extensions.github.io/raster/v1.1.0/schema.json",
    "https://stac-extensions.github.io/projection/v1.1.0/schema.json",
    "https://stac-extensions.github.io/view/v1.0.0/schema.json",
    "https://stac-extensions.github.io/processing/v1.1.0/schema.json",
]
COG_MEDIA_TYPE = "image/tiff; application=geotiff; profile=cloud-optimized"
INSTRUMENTS = ["hyperspectral-imager"]
RADIANCE_UNITS = "W m-2 sr-1 um-1"
_QUANTITY = {
    "L2A": "bottom-of-atmosphere (surface) reflectance",
    "L1C": "top-of-atmosphere reflectance",
    "L1B": "top-of-atmosphere radiance",
}


def collection_id(level: str) -> str:
    """The STAC collection of a product level, shaped like the API's example ``pixxel-td-l2a``."""
    return f"pixxel-ff-{level.lower()}"


def parse_time(text: str) -> datetime:
    """Parse an RFC 3339 timestamp (``Z`` or offset) into an aware UTC datetime.

    Raises:
        ValueError: if ``text`` is not RFC 3339.
    """
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise ValueError(f"datetime {text!r} is not RFC 3339; use e.g. '2025-03-14T06:15:12.345678Z'") from exc
    if value.tzinfo is None:
        raise ValueError(f"datetime {text!r} has no time zone; append 'Z' for UTC")
    return value.astimezone(UTC)


def format_time(value: datetime) -> str:
    """RFC 3339 in UTC with microseconds, as the Pixxel API writes timestamps."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def sun_angles(when: datetime, lon: float, lat: float) -> tuple[float, float]:
    """Solar azimuth and elevation in degrees (NOAA's approximate algorithm, ~0.1 deg).

    Returns:
        (azimuth clockwise from north, elevation above the horizon).
    """
    when = when.astimezone(UTC)
    day = when.timetuple().tm_yday
    hour = when.hour + when.minute / 60 + when.second / 3600
    g = 2 * math.pi / 365 * (day - 1 + (hour - 12) / 24)
    eqtime = 229.18 * (
        0.000075
        + 0.001868 * math.cos(g)
        - 0.032077 * math.sin(g)
        - 0.014615 * math.cos(2 * g)
        - 0.040849 * math.sin(2 * g)
    )
    decl = (
        0.006918
        - 0.399912 * math.cos(g)
        + 0.070257 * math.sin(g)
        - 0.006758 * math.cos(2 * g)
        + 0.000907 * math.sin(2 * g)
        - 0.002697 * math.cos(3 * g)
        + 0.00148 * math.sin(3 * g)
    )
    true_solar_min = hour * 60 + eqtime + 4 * lon
    hour_angle = math.radians(true_solar_min / 4 - 180)
    phi = math.radians(lat)
    cos_zen = math.sin(phi) * math.sin(decl) + math.cos(phi) * math.cos(decl) * math.cos(hour_angle)
    zen = math.acos(max(-1.0, min(1.0, cos_zen)))
    az = math.degrees(
        math.atan2(
            math.sin(hour_angle),
            math.cos(hour_angle) * math.sin(phi) - math.tan(decl) * math.cos(phi),
        )
    )
    return round((az + 180.0) % 360.0, 3), round(90.0 - math.degrees(zen), 3)


def footprint_collection(item_id: str, ring: list[list[float]]) -> dict[str, Any]:
    """GeoJSON FeatureCollection holding the footprint polygon (EPSG:4326, lon/lat)."""
    return {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "id": item_id,
                "properties": {"item_id": item_id, "kind": "footprint"},
                "geometry": {"type": "Polygon", "coordinates": [ring]},
            }
        ],
    }


def bbox_of(ring: list[list[float]]) -> list[float]:
    """[west, south, east, north] of a lon/lat ring."""
    lons = [p[0] for p in ring]
    lats = [p[1] for p in ring]
    return [min(lons), min(lats), max(lons), max(lats)]


def eo_bands(grid: BandGrid, irradiance: Any = None, wavelength_units: str = "nm") -> list[dict[str, Any]]:
    """STAC ``eo:bands`` entries: name, centre and FWHM, common name, solar irradiance.

    Args:
        grid: the bands.
        irradiance: solar irradiance per band (W m-2 um-1), or ``None``.
        wavelength_units: ``"nm"`` as in Pixxel's own example (``"center_wavelength": 493``), or
            ``"um"`` as the STAC eo extension and the OpenAPI field description say.
    """
    factor = 0.001 if wavelength_units == "um" else 1.0
    digits = 6 if wavelength_units == "um" else 3
    out: list[dict[str, Any]] = []
    for i, (name, centre, fwhm, common) in enumerate(
        zip(grid.names, grid.centers, grid.fwhm, grid.common_names, strict=True)
    ):
        band: dict[str, Any] = {
            "name": name,
            "center_wavelength": round(centre * factor, digits),
            "fwhm": round(fwhm * factor, digits),
        }
        if common is not None:
            band["common_name"] = common
        if irradiance is not None:
            band["solar_irradiance"] = round(float(irradiance[i]), 2)
        out.append(band)
    return out


def raster_bands(count: int, level: str, gsd: float) -> list[dict[str, Any]]:
    """STAC ``raster:bands`` entries as the API's examples give them (scale 0.00002, offset 0, nodata 0)."""
    if level == "L1B":
        return [
            {"nodata": 0, "data_type": "float32", "unit": RADIANCE_UNITS, "spatial_resolution": gsd}
            for _ in range(count)
        ]
    return [
        {"scale": 0.00002, "offset": 0, "nodata": 0, "data_type": "uint16", "spatial_resolution": gsd}
        for _ in range(count)
    ]


def stac_item(
    *,
    item_id: str,
    acquired: datetime,
    platform: str,
    level: str,
    cloud_cover: float,
    ring: list[list[float]],
    epsg: int,
    shape: tuple[int, int],
    transform: Affine,
    off_nadir: float,
    sun: tuple[float, float],
    grid: BandGrid,
    irradiance: Any,
    members: dict[str, str],
    gsd: float,
    stac_bands: bool = True,
    wavelength_units: str = "nm",
) -> dict[str, Any]:
    """The product's STAC item (1.0.0) as a plain dict; asset hrefs are zip member names.

    With ``stac_bands`` the image asset carries ``eo:bands`` and ``raster:bands`` like the
    OpenAPI document's examples; without, a product whose catalog describes no bands.
    """
    processed = acquired + timedelta(hours=3, minutes=17)
    collection = collection_id(level)
    dtype = "float32" if level == "L1B" else "uint16"
    image: dict[str, Any] = {
        "href": members["image"],
        "type": COG_MEDIA_TYPE,
        "title": (
            f"{level} {_QUANTITY[level]}, "
            + (f"float32 in {RADIANCE_UNITS}" if level == "L1B" else "uint16 scaled 0-50000 (divide by 50000)")
        ),
        "roles": ["data"],
    }
    if stac_bands:
        image["eo:bands"] = eo_bands(grid, irradiance, wavelength_units)
        image["raster:bands"] = raster_bands(len(grid), level, gsd)
    assets: dict[str, Any] = {"image": image}
    extra = {
        "mask": ("image/tiff; application=geotiff", "Quality mask (bit-encoded flags)", ["metadata", "data-mask"]),
        "thumbnail": ("image/jpeg", "RGB thumbnail", ["thumbnail"]),
        "footprint": ("application/geo+json", "Footprint (EPSG:4326)", ["metadata"]),
        "bbox": ("application/geo+json", "Bounding box (EPSG:4326)", ["metadata"]),
        "header": ("text/plain", "ENVI header", ["metadata"]),
        "xml": ("application/xml", "Product metadata", ["metadata"]),
    }
    for key, (media, title, roles) in extra.items():
        if key in members:
            assets[key] = {"href": members[key], "type": media, "title": title, "roles": roles}
    return {
        "type": "Feature",
        "stac_version": "1.0.0",
        "stac_extensions": list(STAC_EXTENSIONS),
        "id": item_id,
        "collection": collection,
        "geometry": {"type": "Polygon", "coordinates": [ring]},
        "bbox": bbox_of(ring),
        "properties": {
            "datetime": format_time(acquired),
            "created": format_time(processed),
            "updated": format_time(processed),
            "platform": platform,
            "constellation": "firefly",
            "instruments": list(INSTRUMENTS),
            "gsd": gsd,
            "eo:cloud_cover": round(float(cloud_cover), 2),
            "proj:epsg": epsg,
            "proj:shape": [shape[0], shape[1]],
            "proj:transform": [float(v) for v in list(transform)[:6]],
            "view:off_nadir": off_nadir,
            "view:sun_azimuth": sun[0],
            "view:sun_elevation": sun[1],
            "processing:level": level,
            "rd:product_level": level,
            "rd:sat_id": platform,
            "rd:type": "VNIR",
            "rd:earth_sun_distance": 1.0,
            "rd:data_type": dtype,
        },
        "links": [{"rel": "collection", "href": f"../{collection}/collection.json", "type": "application/json"}],
        "assets": assets,
    }


def envi_header(
    *,
    item_id: str,
    level: str,
    shape: tuple[int, int],
    transform: Affine,
    epsg: int,
    interleave: str,
    grid: BandGrid,
    wavelength_units: str = "nm",
) -> str:
    """An ENVI header describing the product's GeoTIFF (Pixxel ships a ``.hdr``; its contents are not
    published: this follows ENVI's header format as Pixxel's own public processing code writes it)."""
    factor, unit_name = (0.001, "Micrometers") if wavelength_units == "um" else (1.0, "Nanometers")

    def block(values: list[str]) -> str:
        return "{" + ", ".join(values) + "}"

    lines = [
        "ENVI",
        f"description = {{Pixxel {item_id} {level} {_QUANTITY[level]}}}",
        f"samples = {shape[1]}",
        f"lines = {shape[0]}",
        f"bands = {len(grid)}",
        "header offset = 0",
        "file type = TIFF",
        f"data type = {4 if level == 'L1B' else 12}",
        f"interleave = {'bip' if interleave == 'pixel' else 'bsq'}",
        "byte order = 0",
    ]
    if epsg == 4326:
        lines.append(
            f"map info = {{Geographic Lat/Lon, 1.0, 1.0, {transform.c:.9f}, {transform.f:.9f}, "
            f"{transform.a:.12g}, {-transform.e:.12g}, WGS-84, units=Degrees}}"
        )
    else:
        zone, north = epsg % 100, epsg // 100 == 326
        lines.append(
            f"map info = {{UTM, 1.0, 1.0, {transform.c:.3f}, {transform.f:.3f}, {transform.a:.6g}, "
            f"{-transform.e:.6g}, {zone}, {'North' if north else 'South'}, WGS-84, units=Meters}}"
        )
    lines += [
        f"wavelength units = {unit_name}",
        "wavelength = " + block([f"{c * factor:.6g}" for c in grid.centers]),
        "fwhm = " + block([f"{f * factor:.6g}" for f in grid.fwhm]),
        "band names = " + block(list(grid.names)),
        "data ignore value = 0",
    ]
    if level != "L1B":
        lines.append("reflectance scale factor = 50000")
    return "\n".join(lines) + "\n"


def product_xml(
    *, item_id: str, platform: str, level: str, acquired: datetime, grid: BandGrid, shape: tuple[int, int]
) -> str:
    """A small product-metadata XML document (Pixxel ships an ``.xml``; its contents are not published)."""
    bands = "".join(
        f'    <Band name="{escape(n)}" centerWavelengthNm="{c}" fwhmNm="{f}"/>\n'
        for n, c, f in zip(grid.names, grid.centers, grid.fwhm, strict=True)
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        "<PixxelProduct>\n"
        f"  <ProductId>{escape(item_id)}</ProductId>\n"
        f"  <Satellite>{escape(platform)}</Satellite>\n"
        f"  <ProcessingLevel>{level}</ProcessingLevel>\n"
        f"  <AcquisitionTime>{format_time(acquired)}</AcquisitionTime>\n"
        f"  <Lines>{shape[0]}</Lines>\n  <Samples>{shape[1]}</Samples>\n"
        f'  <Bands count="{len(grid)}">\n{bands}  </Bands>\n'
        "</PixxelProduct>\n"
    )


def bbox_collection(item_id: str, bbox: list[float]) -> dict[str, Any]:
    """GeoJSON FeatureCollection holding the bounding box polygon (EPSG:4326), counterclockwise."""
    west, south, east, north = bbox
    ring = [[west, south], [east, south], [east, north], [west, north], [west, south]]
    return {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "id": item_id,
                "properties": {"item_id": item_id, "kind": "bbox"},
                "geometry": {"type": "Polygon", "coordinates": [ring]},
            }
        ],
    }
