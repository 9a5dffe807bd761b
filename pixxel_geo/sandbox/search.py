"""Catalog search: the filters of ``POST /v0/catalogs/search`` (``clerk.originalCatalogFilter``).

Spatial filters test intersection with each catalog's footprint: with shapely (when installed)
exactly; without it, by the bounding box of the query geometry against the footprint's bounding
box (documented approximation). Antimeridian-crossing ``bbox`` values (west > east) are split.
"""

from __future__ import annotations

import functools
import math
from typing import Any

from pixxel_geo.sandbox.errors import ApiError
from pixxel_geo.sandbox.timefmt import parse_rfc3339
from pixxel_geo.sandbox.workspace import CatalogEntry

DEFAULT_LIMIT = 2
MAX_LIMIT = 100
QUERY_ALIASES = {"cloudcover": "eo:cloud_cover", "cloud_cover": "eo:cloud_cover"}
OPERATORS = ("eq", "neq", "lt", "lte", "gt", "gte", "in")
SORT_FIELDS = {
    "datetime": "datetime",
    "properties->>'datetime'": "datetime",
    "created_at": "created_at",
    "cloudcover": "eo:cloud_cover",
    "eo:cloud_cover": "eo:cloud_cover",
    "properties->>'eo:cloud_cover'": "eo:cloud_cover",
}


def _number(value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ApiError(400, f"{what} must be a number, got {value!r}")
    return float(value)


def _boxes(bbox: Any) -> list[tuple[float, float, float, float]]:
    if not isinstance(bbox, list) or len(bbox) not in (4, 6):
        raise ApiError(400, "bbox must be [min_lon, min_lat, max_lon, max_lat] (4 numbers)")
    nums = [_number(v, "each bbox value") for v in bbox]
    west, south, east, north = (nums[0], nums[1], nums[3], nums[4]) if len(nums) == 6 else nums
    if south > north or not (-90 <= south <= 90 and -90 <= north <= 90):
        raise ApiError(400, f"bbox latitudes must satisfy -90 <= min_lat <= max_lat <= 90: {bbox}")
    if not (-180 <= west <= 180 and -180 <= east <= 180):
        raise ApiError(400, f"bbox longitudes must lie in [-180, 180]: {bbox}")
    if west > east:  # crosses the antimeridian
        return [(west, south, 180.0, north), (-180.0, south, east, north)]
    return [(west, south, east, north)]


def _coords_bbox(coords: Any) -> tuple[float, float, float, float]:
    xs: list[float] = []
    ys: list[float] = []

    def walk(node: Any) -> None:
        if isinstance(node, list) and node and not isinstance(node[0], list):
            if len(node) < 2:
                raise ApiError(400, "intersects: each position needs at least 2 numbers")
            xs.append(_number(node[0], "a coordinate"))
            ys.append(_number(node[1], "a coordinate"))
        elif isinstance(node, list):
            for child in node:
                walk(child)
        else:
            raise ApiError(400, "intersects: coordinates must be nested arrays of numbers")

    walk(coords)
    if not xs:
        raise ApiError(400, "intersects: the geometry has no coordinates")
    return min(xs), min(ys), max(xs), max(ys)


def _geometry_bbox(geometry: dict[str, Any]) -> tuple[float, float, float, float]:
    if geometry.get("type") == "GeometryCollection":
        boxes = [_geometry_bbox(g) for g in geometry.get("geometries") or []]
        if not boxes:
            raise ApiError(400, "intersects: empty GeometryCollection")
        return (
            min(b[0] for b in boxes),
            min(b[1] for b in boxes),
            max(b[2] for b in boxes),
            max(b[3] for b in boxes),
        )
    return _coords_bbox(geometry.get("coordinates"))


def _overlap(a: tuple[float, ...], b: tuple[float, ...]) -> bool:
    return a[0] <= b[2] and b[0] <= a[2] and a[1] <= b[3] and b[1] <= a[3]


def _shapely() -> Any:
    try:
        from shapely import geometry
    except ImportError:  # pragma: no cover - shapely is optional
        return None
    return geometry


class _Spatial:
    """bbox and intersects filters (exact with shapely, bounding boxes without)."""

    def __init__(self, body: dict[str, Any]) -> None:
        self.geo = _shapely()
        self.boxes = _boxes(body["bbox"]) if body.get("bbox") is not None else None
        self.geometry = body.get("intersects")
        self.shape: Any = None
        if self.geometry is not None:
            if not isinstance(self.geometry, dict) or "type" not in self.geometry:
                raise ApiError(400, "intersects must be a GeoJSON geometry object with a 'type'")
            self.geometry_box = _geometry_bbox(self.geometry)
            if self.geo is not None:
                try:
                    self.shape = self.geo.shape(self.geometry)
                except Exception as exc:
                    raise ApiError(400, f"intersects is not a valid GeoJSON geometry: {exc}") from exc

    def matches(self, footprint: dict[str, Any]) -> bool:
        if self.boxes is None and self.geometry is None:
            return True
        if self.geo is None:
            box = _geometry_bbox(footprint)
            in_boxes = self.boxes is None or any(_overlap(box, b) for b in self.boxes)
            return in_boxes and (self.geometry is None or _overlap(box, self.geometry_box))
        shape = self.geo.shape(footprint)
        if self.boxes is not None and not any(shape.intersects(self.geo.box(*b)) for b in self.boxes):
            return False
        return self.shape is None or bool(self.shape.intersects(shape))


def _interval(value: Any) -> tuple[float, float]:
    if not isinstance(value, str) or not value.strip():
        raise ApiError(400, "datetime must be an RFC 3339 date-time or an interval 'start/end'")
    parts = value.split("/")
    if len(parts) > 2:
        raise ApiError(400, f"datetime {value!r} has more than one '/'")
    try:
        if len(parts) == 1:
            instant = parse_rfc3339(parts[0])
            return instant, instant
        start_text, end_text = (p.strip() for p in parts)
        if start_text in ("", "..") and end_text in ("", ".."):
            raise ApiError(400, f"datetime interval {value!r} is open at both ends")
        start = -math.inf if start_text in ("", "..") else parse_rfc3339(start_text)
        end = math.inf if end_text in ("", "..") else parse_rfc3339(end_text)
    except ValueError as exc:
        raise ApiError(
            400,
            f"datetime {value!r} is not RFC 3339 (e.g. '2024-01-01T00:00:00Z' or '2024-01-01T00:00:00Z/..')",
        ) from exc
    if start > end:
        raise ApiError(400, f"datetime interval {value!r} ends before it starts")
    return start, end


def _property(entry: CatalogEntry, name: str) -> Any:
    key = QUERY_ALIASES.get(name, name)
    if key == "eo:cloud_cover":
        return entry.cloud_cover
    return entry.record["details"].get("properties", {}).get(key)


def _compare(actual: Any, op: str, expected: Any) -> bool:
    if actual is None:
        return False
    try:
        if op == "eq":
            return bool(actual == expected)
        if op == "neq":
            return bool(actual != expected)
        if op == "in":
            return actual in expected
        if op == "lt":
            return bool(actual < expected)
        if op == "lte":
            return bool(actual <= expected)
        if op == "gt":
            return bool(actual > expected)
        return bool(actual >= expected)
    except TypeError:
        return False


def _check_query(query: Any) -> dict[str, dict[str, Any]]:
    if not isinstance(query, dict):
        raise ApiError(400, 'query must be an object like {"cloudcover": {"lt": 10}}')
    for name, ops in query.items():
        if not isinstance(ops, dict) or not ops:
            raise ApiError(400, f"query[{name!r}] must be an object of operators, e.g. {{'lt': 10}}")
        for op, value in ops.items():
            if op not in OPERATORS:
                raise ApiError(400, f"query[{name!r}]: unknown operator {op!r}; use {OPERATORS}")
            if op == "in" and not isinstance(value, list):
                raise ApiError(400, f"query[{name!r}]['in'] must be an array")
    return query


def _sort_keys(sort_by: Any) -> list[tuple[str, bool]]:
    if sort_by is None:
        return [("datetime", True)]
    if not isinstance(sort_by, list):
        raise ApiError(400, 'sort_by must be an array like [{"datetime": "DESC"}]')
    keys: list[tuple[str, bool]] = []
    for item in sort_by:
        if not isinstance(item, dict):
            raise ApiError(400, 'each sort_by entry must be an object like {"datetime": "DESC"}')
        pairs = [(item["field"], item.get("direction", "asc"))] if "field" in item else list(item.items())
        for name, direction in pairs:
            if name not in SORT_FIELDS:
                raise ApiError(400, f"cannot sort by {name!r}; use one of {sorted(SORT_FIELDS)}")
            if not isinstance(direction, str) or direction.upper() not in ("ASC", "DESC"):
                raise ApiError(400, f"sort direction for {name!r} must be 'ASC' or 'DESC'")
            keys.append((SORT_FIELDS[name], direction.upper() == "DESC"))
    return keys or [("datetime", True)]


def _string_list(body: dict[str, Any], name: str) -> set[str] | None:
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ApiError(400, f"{name} must be an array of strings")
    return set(value) if value else None


def page_bounds(limit: Any, offset: Any) -> tuple[int, int]:
    """Validate ``limit`` / ``offset`` (``None`` means the default) and return them."""
    limit = DEFAULT_LIMIT if limit is None else limit
    offset = 0 if offset is None else offset
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_LIMIT:
        raise ApiError(400, f"limit must be an integer between 1 and {MAX_LIMIT}, got {limit!r}")
    if isinstance(offset, bool) or not isinstance(offset, int) or offset < 0:
        raise ApiError(400, f"offset must be a non-negative integer, got {offset!r}")
    return limit, offset


def search(entries: list[CatalogEntry], body: dict[str, Any]) -> tuple[list[dict], dict]:
    """Filter, sort and page the catalogs.

    Args:
        entries: every catalog of the workspace.
        body: the search request.

    Returns:
        The page of catalog records and the ``pagination`` object.

    Raises:
        ApiError: 400 with what was wrong in the request.
    """
    limit, offset = page_bounds(body.get("limit"), body.get("offset"))
    spatial = _Spatial(body)
    interval = _interval(body["datetime"]) if body.get("datetime") is not None else None
    query = _check_query(body["query"]) if body.get("query") is not None else {}
    keys = _sort_keys(body.get("sort_by"))
    ids = _string_list(body, "ids")
    order_ids = _string_list(body, "order_ids")
    order_item_ids = _string_list(body, "order_item_ids")
    item_ids = _string_list(body, "item_ids")
    collections = _string_list(body, "collections")

    selected = []
    for entry in entries:
        record = entry.record
        if ids is not None and record["id"] not in ids:
            continue
        if order_ids is not None and entry.order_id not in order_ids:
            continue
        if order_item_ids is not None and entry.order_item_id not in order_item_ids:
            continue
        if item_ids is not None and entry.item_id not in item_ids:
            continue
        if collections is not None and record["details"].get("collection") not in collections:
            continue
        if interval is not None and not interval[0] <= entry.epoch <= interval[1]:
            continue
        if not spatial.matches(entry.geometry):
            continue
        if not all(
            _compare(_property(entry, name), op, value) for name, ops in query.items() for op, value in ops.items()
        ):
            continue
        selected.append(entry)

    for name, descending in reversed(keys):
        selected.sort(key=functools.partial(_sort_value, name=name), reverse=descending)
    page = [e.record for e in selected[offset : offset + limit]]
    return page, {"limit": limit, "offset": offset, "total": len(selected)}


def _sort_value(entry: CatalogEntry, name: str) -> Any:
    if name == "datetime":
        return (entry.epoch, entry.record["id"])
    if name == "created_at":
        return (entry.record["created_at"], entry.record["id"])
    return (entry.cloud_cover, entry.record["id"])
