"""Descriptive documents of a synthetic product: STAC item, metadata, footprint, sun angles."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import Any

from affine import Affine

from pixxel_geo.sandbox.spectra import BandGrid

STAC_EXTENSIONS = [
    "https://stac-extensions.github.io/eo/v1.1.0/schema.json",
    "https://stac-extensions.github.io/projection/v1.1.0/schema.json",
    "https://stac-extensions.github.io/view/v1.0.0/schema.json",
    "https://stac-extensions.github.io/processing/v1.1.0/schema.json",
]
COG_MEDIA_TYPE = "image/tiff; application=geotiff; profile=cloud-optimized"
COLLECTION = "pixxel-firefly-l2a"
INSTRUMENTS = ["hyperspectral-imager"]


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


def eo_bands(grid: BandGrid) -> list[dict[str, Any]]:
    """STAC ``eo:bands`` entries (centre and FWHM in nanometres)."""
    out: list[dict[str, Any]] = []
    for name, centre, fwhm, common in zip(grid.names, grid.centers, grid.fwhm, grid.common_names, strict=True):
        band: dict[str, Any] = {"name": name, "center_wavelength": centre, "fwhm": fwhm}
        if common is not None:
            band["common_name"] = common
        out.append(band)
    return out


def stac_item(
    *,
    item_id: str,
    acquired: datetime,
    platform: str,
    cloud_cover: float,
    ring: list[list[float]],
    epsg: int,
    shape: tuple[int, int],
    transform: Affine,
    off_nadir: float,
    sun: tuple[float, float],
    grid: BandGrid,
    members: dict[str, str],
) -> dict[str, Any]:
    """The product's STAC item (1.0.0) as a plain dict; asset hrefs are zip member names."""
    processed = acquired + timedelta(hours=3, minutes=17)
    return {
        "type": "Feature",
        "stac_version": "1.0.0",
        "stac_extensions": list(STAC_EXTENSIONS),
        "id": item_id,
        "collection": COLLECTION,
        "geometry": {"type": "Polygon", "coordinates": [ring]},
        "bbox": bbox_of(ring),
        "properties": {
            "datetime": format_time(acquired),
            "created": format_time(processed),
            "updated": format_time(processed),
            "platform": platform,
            "constellation": "firefly",
            "instruments": list(INSTRUMENTS),
            "gsd": 5,
            "eo:cloud_cover": round(float(cloud_cover), 2),
            "proj:epsg": epsg,
            "proj:shape": [shape[0], shape[1]],
            "proj:transform": list(transform)[:6],
            "view:off_nadir": off_nadir,
            "view:sun_azimuth": sun[0],
            "view:sun_elevation": sun[1],
            "processing:level": "L2A",
        },
        "links": [],
        "assets": {
            "image": {
                "href": members["image"],
                "type": COG_MEDIA_TYPE,
                "title": "Surface reflectance (uint16, reflectance = DN x 0.0001)",
                "description": (
                    "Hyperspectral L2A surface reflectance, one band per eo:bands entry; "
                    "center_wavelength and fwhm are in nanometres; nodata 0."
                ),
                "roles": ["data"],
                "eo:bands": eo_bands(grid),
            },
            "metadata": {
                "href": members["metadata"],
                "type": "application/json",
                "title": "Acquisition and processing metadata",
                "roles": ["metadata"],
            },
            "footprint": {
                "href": members["footprint"],
                "type": "application/geo+json",
                "title": "Image footprint (EPSG:4326)",
                "roles": ["metadata"],
            },
        },
    }


def metadata_document(
    *,
    item_id: str,
    place: str,
    lon: float,
    lat: float,
    acquired: datetime,
    platform: str,
    cloud_cover: float,
    off_nadir: float,
    sun: tuple[float, float],
    epsg: int,
    shape: tuple[int, int],
    transform: Affine,
    interleave: str,
    grid: BandGrid,
    landscape: str,
) -> dict[str, Any]:
    """The ``<item_id>_metadata.json`` document."""
    processed = acquired + timedelta(hours=3, minutes=17)
    return {
        "item_id": item_id,
        "product_type": "hyperspectral",
        "processing_level": "L2A",
        "acquisition": {
            "datetime": format_time(acquired),
            "platform": platform,
            "constellation": "firefly",
            "place": place,
            "scene_center": {"lon": lon, "lat": lat},
            "cloud_cover": round(float(cloud_cover), 2),
            "off_nadir_deg": off_nadir,
            "sun_azimuth_deg": sun[0],
            "sun_elevation_deg": sun[1],
        },
        "sensor": {
            "name": "Firefly hyperspectral imager",
            "instruments": list(INSTRUMENTS),
            "type": "pushbroom",
            "gsd_m": 5,
            "spectral_range_nm": [grid.centers[0], grid.centers[-1]],
            "band_count": len(grid),
        },
        "processing": {
            "level": "L2A",
            "description": "orthorectified surface reflectance (atmospherically corrected)",
            "created": format_time(processed),
            "software": "pixxel-geo sandbox synthetic generator",
            "synthetic": True,
            "landscape": landscape,
        },
        "raster": {
            "format": "COG",
            "width": shape[1],
            "height": shape[0],
            "dtype": "uint16",
            "nodata": 0,
            "interleave": interleave,
            "tile_size": 256,
            "crs": f"EPSG:{epsg}",
            "transform": list(transform)[:6],
        },
        "radiometry": {
            "quantity": "surface reflectance",
            "scale_factor": 0.0001,
            "offset": 0.0,
            "formula": "reflectance = DN * scale_factor + offset",
        },
        "bands": [
            {
                "index": i + 1,
                "name": name,
                "wavelength": centre,
                "fwhm": fwhm,
                "unit": "nm",
            }
            for i, (name, centre, fwhm) in enumerate(zip(grid.names, grid.centers, grid.fwhm, strict=True))
        ],
    }
