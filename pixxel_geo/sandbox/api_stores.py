"""``/v0/stores``: list, create (secrets are write-only) and delete stores."""

from __future__ import annotations

import uuid
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from pixxel_geo.sandbox.errors import ApiError
from pixxel_geo.sandbox.handlers_common import check_uuid, json_object, runtime
from pixxel_geo.sandbox.stores import check_bucket_name, normalise_key
from pixxel_geo.sandbox.timefmt import rfc3339
from pixxel_geo.sandbox.workspace import USER_ID

BUCKET_TYPES = ("S3", "GCS", "AZBLOB")
PUBLIC_FIELDS = ("id", "name", "type", "configs", "labels", "created_at", "updated_at", "created_by")


def store_view(record: dict[str, Any]) -> dict[str, Any]:
    """Return the public Store object (never the secrets)."""
    return {k: record[k] for k in PUBLIC_FIELDS if k in record}


async def list_stores(request: Request) -> Response:
    """``GET /v0/stores`` → ``{"stores": [...]}`` in creation order."""
    state = runtime(request).state
    return JSONResponse({"stores": [store_view(s) for s in state.stores.values()]})


def _strings(value: Any, what: str) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        raise ApiError(400, f"{what} must be an object of string values")
    return dict(value)


async def create_store(request: Request) -> Response:
    """``POST /v0/stores`` → 200 with the created Store."""
    rt = runtime(request)
    body = await json_object(request)
    missing = [k for k in ("name", "type", "configs", "secrets") if body.get(k) in (None, "")]
    if missing:
        raise ApiError(400, f"missing required field(s): {', '.join(missing)}")
    name, kind, configs = body["name"], body["type"], body["configs"]
    if not isinstance(name, str) or not name.strip():
        raise ApiError(400, "name must be a non-empty string")
    if kind not in BUCKET_TYPES:
        raise ApiError(400, f"type must be one of {', '.join(BUCKET_TYPES)}, got {kind!r}")
    if not isinstance(configs, dict):
        raise ApiError(400, "configs must be an object with bucket and region")
    for key in ("bucket", "region"):
        if not isinstance(configs.get(key), str) or not configs[key]:
            raise ApiError(400, f"configs.{key} is required (a non-empty string)")
    try:
        check_bucket_name(configs["bucket"])
        prefix = normalise_key(configs.get("path_prefix"))
    except ValueError as exc:
        raise ApiError(400, str(exc)) from exc
    secrets = _strings(body["secrets"], "secrets")
    labels = _strings(body.get("labels"), "labels")
    if any(s["name"] == name for s in rt.state.stores.values()):
        raise ApiError(409, f"a store named {name!r} already exists: choose another name")
    stamp = rfc3339(rt.now())
    clean_configs = {"bucket": configs["bucket"], "region": configs["region"]}
    if prefix:
        clean_configs["path_prefix"] = prefix + "/"
    record = {
        "id": str(uuid.uuid4()),
        "name": name,
        "type": kind,
        "configs": clean_configs,
        "labels": labels,
        "created_at": stamp,
        "updated_at": stamp,
        "created_by": USER_ID,
        "secrets": secrets,
    }
    rt.state.stores[record["id"]] = record
    await rt.state.commit()
    return JSONResponse(store_view(record), status_code=200)


async def delete_store(request: Request) -> Response:
    """``DELETE /v0/stores/{id}`` → 204."""
    rt = runtime(request)
    store_id = check_uuid(request.path_params["id"], "store id")
    if store_id not in rt.state.stores:
        raise ApiError(404, f"store {store_id!r} not found")
    del rt.state.stores[store_id]
    await rt.state.commit()
    return Response(status_code=204)
