"""``/v0/catalogs/deliveries`` and ``/v0/catalogs/download``: creating and reading them."""

from __future__ import annotations

import uuid
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from pixxel_geo.sandbox import lifecycle
from pixxel_geo.sandbox.errors import ApiError
from pixxel_geo.sandbox.handlers_common import check_uuid, id_list, json_object, runtime
from pixxel_geo.sandbox.runtime import Runtime
from pixxel_geo.sandbox.signing import sign
from pixxel_geo.sandbox.stores import normalise_key
from pixxel_geo.sandbox.workspace import USER_ID


def _resolve_catalogs(rt: Runtime, body: dict[str, Any], where: str) -> list[str]:
    """Return the catalog ids a request names (directly or through order items)."""
    catalog_ids = id_list(body, "catalog_ids")
    order_item_ids = id_list(body, "order_item_ids")
    if bool(catalog_ids) == bool(order_item_ids):
        raise ApiError(
            400,
            f"{where}: give exactly one of catalog_ids or order_item_ids (non-empty), "
            "and send the other as an empty list",
        )
    if catalog_ids:
        unknown = [c for c in catalog_ids if c not in rt.workspace.catalogs]
        if unknown:
            raise ApiError(400, f"{where}: unknown catalog id(s): {', '.join(unknown)}")
        return catalog_ids
    resolved: list[str] = []
    for item_id in order_item_ids:
        if item_id not in rt.workspace.order_items:
            raise ApiError(400, f"{where}: unknown order item id {item_id!r}")
        catalogs = rt.workspace.catalogs_of_order_item(item_id)
        if not catalogs:
            raise ApiError(400, f"{where}: order item {item_id!r} has no catalogs to deliver yet")
        resolved.extend(c for c in catalogs if c not in resolved)
    return resolved


async def create_deliveries(request: Request) -> Response:
    """``POST /v0/catalogs/deliveries`` → 201 ``{"deliveries": [...]}``, one per catalog."""
    rt = runtime(request)
    body = await json_object(request)
    requests = body.get("deliveries")
    if not isinstance(requests, list) or not requests:
        raise ApiError(400, "deliveries must be a non-empty array of delivery requests")
    planned: list[tuple[str, str, str]] = []
    for index, entry in enumerate(requests):
        where = f"deliveries[{index}]"
        if not isinstance(entry, dict):
            raise ApiError(400, f"{where} must be an object")
        cloud = entry.get("cloud_info")
        if not isinstance(cloud, dict) or not isinstance(cloud.get("config"), str):
            raise ApiError(400, f"{where}.cloud_info.config (the store id) is required")
        if cloud["config"] not in rt.state.stores:
            raise ApiError(400, f"{where}: unknown store {cloud['config']!r} in cloud_info.config")
        path = cloud.get("path")
        if path is not None and not isinstance(path, str):
            raise ApiError(400, f"{where}.cloud_info.path must be a string")
        try:
            normalise_key(path)
        except ValueError as exc:
            raise ApiError(400, f"{where}.cloud_info.path: {exc}") from exc
        for catalog_id in _resolve_catalogs(rt, entry, where):
            planned.append((catalog_id, cloud["config"], path or ""))

    now, seconds = rt.now(), rt.delivery_seconds()
    created = []
    for catalog_id, store_id, path in planned:
        catalog = rt.workspace.catalogs[catalog_id]
        delivery_id = str(uuid.uuid4())
        record: dict[str, Any] = {
            "delivery_id": delivery_id,
            "catalog_id": catalog_id,
            "order_item_id": catalog.order_item_id,
            "store_id": store_id,
            "cloud_path": path,
            "target_path": f"{catalog.order_id}/{catalog.item_id}/catalogs.zip",
            "task_id": None,
            "created": now,
            "seconds": seconds,
            "fail": rt.faults.take("fail_next_deliveries"),
            "done_at": None,
            "failed_at": None,
            "created_by": USER_ID,
        }
        rt.state.deliveries[delivery_id] = record
        rt.watch_delivery(delivery_id)
        created.append(record)
    await rt.state.commit()
    return JSONResponse({"deliveries": [lifecycle.delivery_view(r, now) for r in created]}, status_code=201)


async def list_deliveries(request: Request) -> Response:
    """``GET /v0/catalogs/deliveries`` filtered by delivery_id, catalog_id, task_id, order_item_id."""
    rt = runtime(request)
    params = request.query_params
    filters = {
        name: params[name] for name in ("delivery_id", "catalog_id", "task_id", "order_item_id") if params.get(name)
    }
    now = rt.now()
    if "delivery_id" in filters:  # by id: one lookup, not a scan of every delivery ever made
        candidate = rt.state.deliveries.get(filters["delivery_id"])
        candidates = [candidate] if candidate is not None else []
    else:
        candidates = list(rt.state.deliveries.values())
    found = [
        lifecycle.delivery_view(r, now)
        for r in candidates
        if all(r.get(name) == value for name, value in filters.items())
    ]
    return JSONResponse({"deliveries": found})


def download_view(rt: Runtime, request: Request, record: dict[str, Any], at: float | None = None) -> dict[str, Any]:
    """Return the public DownloadResponse; ``signed_url`` only once it succeeded (fresh each read).

    ``at`` is the moment described (default: now); a create answers for the moment of creation,
    however long saving the state took.
    """
    status = lifecycle.download_status(record, rt.now() if at is None else at)
    view: dict[str, Any] = {"id": record["id"], "status": status}
    if status == "success":
        base = f"{request.url.scheme}://{request.url.netloc}"
        path = f"/files/{record['id']}/catalogs.zip"
        view["signed_url"] = sign(rt.secret, base, path, rt.url_lifetime())
    return view


async def create_download(request: Request) -> Response:
    """``POST /v0/catalogs/download`` → 201 ``{"id", "status"[, "signed_url"]}``."""
    rt = runtime(request)
    body = await json_object(request)
    catalog_ids = _resolve_catalogs(rt, body, "download request")
    download_id = str(uuid.uuid4())
    record: dict[str, Any] = {
        "id": download_id,
        "catalog_ids": catalog_ids,
        "created": rt.now(),
        "seconds": rt.download_seconds(),
        "fail": rt.faults.take("fail_next_downloads"),
    }
    rt.state.downloads[download_id] = record
    await rt.state.commit()
    return JSONResponse(download_view(rt, request, record, at=record["created"]), status_code=201)


async def get_download(request: Request) -> Response:
    """``GET /v0/catalogs/download/{download_id}`` → the download, 404 when unknown."""
    rt = runtime(request)
    download_id = check_uuid(request.path_params["download_id"], "download id")
    record = rt.state.downloads.get(download_id)
    if record is None:
        raise ApiError(404, f"download {download_id!r} not found")
    return JSONResponse(download_view(rt, request, record))
