"""Small geometry helpers for the map: bounds, views, footprints as GeoJSON."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

__all__ = ["Box", "fit_view", "intersects", "leaflet_bounds", "view_box"]

Box = tuple[float, float, float, float]
"""``(west, south, east, north)`` in degrees."""


def intersects(a: Box, b: Box) -> bool:
    """True when two boxes overlap (touching counts)."""
    return a[0] <= b[2] and b[0] <= a[2] and a[1] <= b[3] and b[1] <= a[3]


def view_box(bounds: Sequence[Sequence[float]]) -> Box | None:
    """A Leaflet ``((south, west), (north, east))`` view as a box; ``None`` if not yet known."""
    if not bounds or len(bounds) != 2:
        return None
    (south, west), (north, east) = bounds
    return (float(west), float(south), float(east), float(north))


def leaflet_bounds(box: Sequence[float]) -> list[list[float]]:
    """A box as Leaflet's ``[[south, west], [north, east]]``."""
    west, south, east, north = box[:4]
    return [[south, west], [north, east]]


def geometry_box(geometry: dict[str, Any]) -> Box | None:
    """The bounding box of a GeoJSON Polygon / MultiPolygon / Feature."""
    if geometry.get("type") == "Feature":
        geometry = geometry.get("geometry") or {}
    points: list[Sequence[float]] = []

    def walk(coords: Any) -> None:
        if isinstance(coords, list | tuple) and coords and isinstance(coords[0], int | float):
            points.append(coords)
        elif isinstance(coords, list | tuple):
            for item in coords:
                walk(item)

    walk(geometry.get("coordinates"))
    if not points:
        return None
    xs = [float(p[0]) for p in points]
    ys = [float(p[1]) for p in points]
    return (min(xs), min(ys), max(xs), max(ys))


def fit_view(boxes: Iterable[Box], width_px: int = 640, height_px: int = 420) -> tuple[tuple[float, float], int]:
    """A ``(center (lat, lon), zoom)`` showing every box (without asking the browser).

    Example:
        >>> fit_view([(70.0, 10.0, 80.0, 30.0)])
        ((20.0, 75.0), 3)
    """
    boxes = list(boxes)
    if not boxes:
        return (20.0, 0.0), 1
    west = min(b[0] for b in boxes)
    south = min(b[1] for b in boxes)
    east = max(b[2] for b in boxes)
    north = max(b[3] for b in boxes)
    lon_span = max(east - west, 1e-4)
    lat_span = max(north - south, 1e-4)
    zoom_x = math.log2(360.0 * width_px / (256.0 * lon_span))
    zoom_y = math.log2(170.0 * height_px / (256.0 * lat_span))
    zoom = int(max(1, min(16, math.floor(min(zoom_x, zoom_y)))))
    return ((south + north) / 2.0, (west + east) / 2.0), zoom
