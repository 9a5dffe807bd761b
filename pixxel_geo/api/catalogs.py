"""Catalogs: the images delivered to the workspace, searchable like STAC items."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from pixxel_geo.api._paging import paged
from pixxel_geo.api._steps import Operation
from pixxel_geo.api.errors import InvalidInputError
from pixxel_geo.api.facade import Facade, async_iterable, awaitable
from pixxel_geo.api.models import Catalog
from pixxel_geo.api.validate import check_bbox, check_ids, path_segment

if TYPE_CHECKING:
    from pixxel_geo.api._base import BaseClient

__all__ = ["AsyncCatalogs", "CatalogOperations", "Catalogs", "search_body"]


_DATE = r"\d{4}-\d{2}-\d{2}"
_RFC3339 = re.compile(rf"{_DATE}(?:[Tt ]\d{{2}}:\d{{2}}:\d{{2}}(?:\.\d+)?(?:[Zz]|[+-]\d{{2}}:\d{{2}}))?")
_DATETIME_HELP = (
    "Give an RFC 3339 date-time ('2024-01-01T00:00:00Z', with Z or an offset such as +05:30), "
    "or an interval 'start/end' with '..' for an open end ('2024-01-01T00:00:00Z/..')."
)


def _parse_rfc3339(text: str, whole: str) -> dt.datetime:
    """An RFC 3339 date-time (or full-date, taken as midnight UTC) as an aware datetime."""
    if not _RFC3339.fullmatch(text):
        raise InvalidInputError(f"datetime {whole!r}: {text!r} is not RFC 3339. {_DATETIME_HELP}")
    try:
        parsed = dt.datetime.fromisoformat(text.upper().replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInputError(f"datetime {whole!r}: {text!r} is not a real date and time. {_DATETIME_HELP}") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def check_datetime_text(value: str) -> str:
    """An RFC 3339 instant or interval, checked here rather than left to the server.

    Example:
        >>> check_datetime_text("2024-01-01T00:00:00Z/..")
        '2024-01-01T00:00:00Z/..'
    """
    text = value.strip()
    parts = text.split("/")
    if not text or len(parts) > 2:
        raise InvalidInputError(f"datetime {value!r} is not an instant or a 'start/end' interval. {_DATETIME_HELP}")
    if len(parts) == 1:
        _parse_rfc3339(text, value)
        return text
    start, end = (p.strip() for p in parts)
    if start in {"", ".."} and end in {"", ".."}:
        raise InvalidInputError(
            f"datetime {value!r} is open at both ends: give a start or an end, or leave datetime unset."
        )
    begins = None if start in {"", ".."} else _parse_rfc3339(start, value)
    ends = None if end in {"", ".."} else _parse_rfc3339(end, value)
    if begins is not None and ends is not None and ends < begins:
        raise InvalidInputError(f"datetime {value!r} ends before it starts: swap the two ends.")
    return text


def _instant(value: Any) -> str:
    """One end of a datetime filter as RFC 3339 text (naive datetimes and dates are UTC)."""
    if isinstance(value, str):
        text = value.strip()
        if text not in {"", ".."}:
            _parse_rfc3339(text, value)
        return text
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")
    if isinstance(value, dt.date):
        return f"{value.isoformat()}T00:00:00Z"  # the start of that day, UTC
    raise InvalidInputError(
        f"datetime must be an RFC 3339 string ('2024-01-01T00:00:00Z/..'), a datetime, a date, "
        f"or a (start, end) pair; got {value!r}."
    )


def _datetime_text(value: Any) -> str | None:
    """Accept an RFC 3339 string, a datetime, a date, or a (start, end) pair with ``None`` for an open end."""
    if value is None:
        return None
    if isinstance(value, tuple | list):
        if len(value) != 2:
            raise InvalidInputError(f"A datetime interval is a (start, end) pair, got {value!r}.")
        start, end = (".." if v is None else _instant(v) or ".." for v in value)
        if start == end == "..":
            raise InvalidInputError(
                "A datetime interval open at both ends filters nothing and the API refuses it: "
                "give a start or an end, or leave datetime unset."
            )
        return check_datetime_text(f"{start}/{end}")
    if isinstance(value, str):
        return check_datetime_text(value)
    return _instant(value)


def _sort_by(sort_by: Any) -> list[dict[str, str]]:
    """The schema's form of ``sort_by``: a list of ``{field: "ASC" | "DESC"}`` objects."""
    items = [sort_by] if isinstance(sort_by, str | Mapping) else sort_by
    if isinstance(items, list | tuple) and not items:
        raise InvalidInputError("sort_by is empty: give a field name such as 'datetime' or '-datetime', or None.")
    if not isinstance(items, list | tuple):
        raise InvalidInputError(f"sort_by must be a field name, a dict or a list of them, got {sort_by!r}.")
    result: list[dict[str, str]] = []
    for item in items:
        if isinstance(item, str) and item.lstrip("+-").strip():
            result.append({item.lstrip("+-").strip(): "DESC" if item.startswith("-") else "ASC"})
        elif isinstance(item, Mapping) and set(item) == {"field", "direction"}:
            result.append(dict(item))  # the form shown in the API's description; sent as given
        elif isinstance(item, Mapping) and item:
            for name, direction in item.items():
                if str(direction).upper() not in {"ASC", "DESC"}:
                    raise InvalidInputError(
                        f"sort_by direction must be 'ASC' or 'DESC', got {direction!r} for {name!r}."
                    )
                result.append({str(name): str(direction).upper()})
        else:
            raise InvalidInputError(
                f"Each sort_by item must be a field name ('-datetime' for descending) or a dict such as "
                f"{{'datetime': 'DESC'}}, got {item!r}."
            )
    return result


_GEOMETRY_TYPES = ("Point", "MultiPoint", "LineString", "MultiLineString", "Polygon", "MultiPolygon")


def _geometry(value: Any) -> dict[str, Any]:
    """A GeoJSON geometry dict (RFC 7946), checked for its type and coordinates."""
    if not isinstance(value, dict) or "type" not in value:
        raise InvalidInputError("intersects must be a GeoJSON geometry dict with a 'type'.")
    kind = value["type"]
    if kind == "GeometryCollection":
        parts = value.get("geometries")
        if not isinstance(parts, list) or not parts:
            raise InvalidInputError("intersects: a GeoJSON GeometryCollection needs a non-empty 'geometries' list.")
        for part in parts:
            _geometry(part)
        return value
    if kind not in _GEOMETRY_TYPES:
        raise InvalidInputError(
            f"intersects: {kind!r} is not a GeoJSON geometry type; use one of {', '.join(_GEOMETRY_TYPES)} "
            "or GeometryCollection (a Feature's geometry, not the Feature)."
        )
    coordinates = value.get("coordinates")
    if not isinstance(coordinates, list) or not coordinates:
        raise InvalidInputError(f"intersects: a GeoJSON {kind} needs a non-empty 'coordinates' list.")
    return value


def search_body(
    *,
    bbox: Sequence[float] | None = None,
    intersects: dict[str, Any] | None = None,
    datetime: Any = None,
    ids: Sequence[str] | None = None,
    order_ids: Sequence[str] | None = None,
    order_item_ids: Sequence[str] | None = None,
    query: dict[str, Any] | None = None,
    sort_by: Any = None,
) -> dict[str, Any]:
    """The JSON body of ``POST /v0/catalogs/search`` (without paging), checked.

    ``sort_by`` may be the API's list form (``[{"datetime": "DESC"}]``), one such
    dict, or a shorthand: ``"datetime"``, ``"-datetime"`` (descending).
    ``datetime`` takes RFC 3339 text, a datetime (naive means UTC), a date (the
    start of that day, UTC) or a (start, end) pair with ``None`` for one open end.

    Example:
        >>> search_body(datetime=(dt.date(2024, 1, 1), None), sort_by={"datetime": "desc"})
        {'datetime': '2024-01-01T00:00:00Z/..', 'sort_by': [{'datetime': 'DESC'}]}
    """
    body: dict[str, Any] = {}
    if bbox is not None:
        body["bbox"] = check_bbox(bbox)
    if intersects is not None:
        body["intersects"] = _geometry(intersects)
    when = _datetime_text(datetime)
    if when:
        body["datetime"] = when
    for key, values in (("ids", ids), ("order_ids", order_ids), ("order_item_ids", order_item_ids)):
        checked = check_ids(values, key)
        if checked:
            body[key] = checked
    if query is not None:
        if not isinstance(query, dict) or not all(
            isinstance(k, str) and k and isinstance(v, dict) and v for k, v in query.items()
        ):
            raise InvalidInputError(
                f"query must map property names to {{operator: value}} dicts, such as "
                f"{{'cloudcover': {{'lt': 10}}}}; got {query!r}."
            )
        if query:
            body["query"] = query
    if sort_by is not None:
        body["sort_by"] = _sort_by(sort_by)
    return body


# Paths next to /v0/catalogs/{id}: an id equal to one of them would reach that endpoint.
_SIBLINGS = frozenset({"deliveries", "download", "search"})


class CatalogOperations:
    """The catalog endpoints, written once."""

    def __init__(self, base: BaseClient) -> None:
        self._base = base

    def search(self, page_size: int | None, max_items: int | None, **criteria: Any) -> Operation[None]:
        """The search, its arguments checked now (before iteration starts): see :meth:`Catalogs.search`."""
        _check_limit(page_size, max_items)
        body = search_body(**criteria)
        return paged(
            self._base, "POST", "/v0/catalogs/search", "catalogs", Catalog.from_api,
            what="catalog", page_size=page_size, max_items=max_items, json_body=body,
        )  # fmt: skip

    def get(self, catalog_id: str) -> Operation[Catalog]:
        path = f"/v0/catalogs/{path_segment(catalog_id, 'catalog_id', reserved=_SIBLINGS)}"
        return self._base.get_resource(path, Catalog.from_api, "catalog")


def _check_limit(limit: int | None, max_items: int | None) -> None:
    for name, value in (("limit", limit), ("max_items", max_items)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
            raise InvalidInputError(f"{name} must be a positive integer, got {value!r}.")


class Catalogs(Facade):
    """``client.catalogs``: search and get catalogs.

    Example:
        >>> for catalog in client.catalogs.search(bbox=[77.5, 12.9, 77.7, 13.1]):  # doctest: +SKIP
        ...     print(catalog.id, catalog.datetime, catalog.cloud_cover)
    """

    operations = CatalogOperations

    def search(
        self,
        bbox: Sequence[float] | None = None,
        intersects: dict[str, Any] | None = None,
        datetime: Any = None,
        ids: Sequence[str] | None = None,
        order_ids: Sequence[str] | None = None,
        order_item_ids: Sequence[str] | None = None,
        query: dict[str, Any] | None = None,
        sort_by: Any = None,
        limit: int | None = None,
        max_items: int | None = None,
    ) -> Iterator[Catalog]:
        """Iterate over every matching catalog, page after page.

        Args:
            bbox: ``[west, south, east, north]`` in degrees.
            intersects: a GeoJSON geometry.
            datetime: an instant or interval (``"2024-01-01T00:00:00Z/.."``), a datetime
                (naive means UTC), a date (start of day, UTC) or a (start, end) pair
                with ``None`` for one open end.
            ids, order_ids, order_item_ids: restrict to these.
            query: STAC-style property filter, e.g. ``{"cloudcover": {"lt": 10}}``.
            sort_by: the API's list form, one ``{"field": "ASC" | "DESC"}`` dict, or
                ``"datetime"`` / ``"-datetime"``.
            limit: page size asked of the API (default 50; the API's own default is 2).
            max_items: stop after this many catalogs.

        Raises:
            InvalidInputError: bad bbox, ids or limits (before any request).
        """
        return self._client._iterate(self._ops.search(
            limit, max_items, bbox=bbox, intersects=intersects, datetime=datetime, ids=ids, order_ids=order_ids,
            order_item_ids=order_item_ids, query=query, sort_by=sort_by,
        ))  # fmt: skip

    def get(self, catalog_id: str) -> Catalog:
        """One catalog by id.

        Args:
            catalog_id: the catalog's id.

        Returns:
            The :class:`Catalog` (its STAC item in ``details``).

        Raises:
            NotFoundError: no such catalog. InvalidInputError: an empty id.

        Example:
            >>> client.catalogs.get("47435e2b-…").bands[0].center_wavelength  # doctest: +SKIP
            470.0
        """
        return self._client._run(self._ops.get(catalog_id))


class AsyncCatalogs(Facade):
    """``async_client.catalogs``: :class:`Catalogs`, asynchronous (``async for`` over ``search``, ``await get``)."""

    operations = CatalogOperations
    search = async_iterable(Catalogs.search)
    get = awaitable(Catalogs.get)
