"""``/v0/catalogs/search``, ``/v0/catalogs/{id}`` and ``/v0/order-items``."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from pixxel_geo.sandbox.errors import ApiError
from pixxel_geo.sandbox.handlers_common import check_uuid, json_object, runtime
from pixxel_geo.sandbox.search import page_bounds, search

ORDER_ITEMS_DEFAULT_LIMIT = 10


async def search_catalogs(request: Request) -> Response:
    """``POST /v0/catalogs/search`` → ``{"catalogs": [...], "pagination": {...}}``."""
    rt = runtime(request)
    body = await json_object(request)
    page, pagination = search(list(rt.workspace.catalogs.values()), body)
    return JSONResponse({"catalogs": page, "pagination": pagination})


async def get_catalog(request: Request) -> Response:
    """``GET /v0/catalogs/{id}`` → the Catalog, 404 when unknown."""
    rt = runtime(request)
    catalog_id = check_uuid(request.path_params["id"], "catalog id")
    entry = rt.workspace.catalogs.get(catalog_id)
    if entry is None:
        raise ApiError(404, f"catalog {catalog_id!r} not found in this workspace")
    return JSONResponse(entry.record)


def _int_param(request: Request, name: str) -> int | None:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return None
    try:
        return int(raw)
    except ValueError as exc:
        raise ApiError(400, f"query parameter {name} must be an integer, got {raw!r}") from exc


def _csv(request: Request, name: str) -> set[str] | None:
    values = [v.strip() for raw in request.query_params.getlist(name) for v in raw.split(",")]
    values = [v for v in values if v]
    return set(values) if values else None


async def list_order_items(request: Request) -> Response:
    """``GET /v0/order-items`` → ``{"order_items": [...], "pagination": {...}}``.

    Filters: ``ids`` and ``order_ids`` (comma-separated), ``status``, ``type``; paged by
    ``limit`` (default 10) and ``offset``; newest first.
    """
    rt = runtime(request)
    limit = _int_param(request, "limit")
    limit, offset = page_bounds(ORDER_ITEMS_DEFAULT_LIMIT if limit is None else limit, _int_param(request, "offset"))
    ids, order_ids = _csv(request, "ids"), _csv(request, "order_ids")
    statuses = {s.upper() for s in _csv(request, "status") or ()} or None
    types = {t.upper() for t in _csv(request, "type") or ()} or None
    items = [
        item
        for item in rt.workspace.order_items.values()
        if (ids is None or item["id"] in ids)
        and (order_ids is None or item["order_id"] in order_ids)
        and (statuses is None or item["status"] in statuses)
        and (types is None or item["type"] in types)
    ]
    items.sort(key=lambda i: (i["created_at"], i["id"]), reverse=True)
    return JSONResponse(
        {
            "order_items": items[offset : offset + limit],
            "pagination": {"limit": limit, "offset": offset, "total": len(items)},
        }
    )


async def get_order_item(request: Request) -> Response:
    """``GET /v0/order-items/{id}`` → the order item with its tasks, 404 when unknown."""
    rt = runtime(request)
    item_id = check_uuid(request.path_params["id"], "order item id")
    item = rt.workspace.order_items.get(item_id)
    if item is None:
        raise ApiError(404, f"order item {item_id!r} not found in this workspace")
    return JSONResponse(item)
