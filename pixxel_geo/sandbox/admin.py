"""``/_sandbox/*``: the test-control endpoints (faults, request log, info), token-protected.

- ``GET /_sandbox/faults`` → the current faults; ``POST`` sets the given fields (see
  :mod:`pixxel_geo.sandbox.faults`), ``DELETE`` clears them all.
- ``GET /_sandbox/requests?path_prefix=/files/`` → ``{"requests": [...]}``; ``DELETE`` resets.
- ``GET /_sandbox/info`` → settings, the seeded ids, the store servers (``stores``: endpoint
  and credentials by kind) and why deliveries failed (``delivery_failures``: id → reason).

Only the launch token opens these (never one listed in ``extra_tokens``).
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from pixxel_geo.sandbox.auth import token_from_header
from pixxel_geo.sandbox.errors import ApiError
from pixxel_geo.sandbox.handlers_common import json_object, runtime
from pixxel_geo.sandbox.stores import read_servers


def _authorise(request: Request) -> None:
    rt = runtime(request)
    token = token_from_header(request.headers.get("authorization"))
    if token != rt.token:
        raise ApiError(403, "the admin endpoints need the sandbox's launch token")


async def faults(request: Request) -> Response:
    """Read, set or clear the faults."""
    _authorise(request)
    rt = runtime(request)
    if request.method == "POST":
        body = await json_object(request)
        try:
            rt.faults.update(body)
        except ValueError as exc:
            raise ApiError(400, str(exc)) from exc
    elif request.method == "DELETE":
        rt.faults.clear()
    return JSONResponse({"faults": rt.faults.as_dict()})


async def requests(request: Request) -> Response:
    """Read or reset the request log."""
    _authorise(request)
    rt = runtime(request)
    if request.method == "DELETE":
        rt.requests.clear()
        return Response(status_code=204)
    prefix = request.query_params.get("path_prefix", "")
    return JSONResponse({"requests": rt.requests.entries(prefix)})


async def info(request: Request) -> Response:
    """Settings, data dir and the seeded workspace's ids."""
    _authorise(request)
    rt = runtime(request)
    return JSONResponse(
        {
            "settings": rt.settings.to_dict(),
            "data_dir": str(rt.data_dir),
            "catalog_ids": list(rt.workspace.catalogs),
            "order_item_ids": list(rt.workspace.order_items),
            "stores": read_servers(rt.data_dir),
            "delivery_failures": {
                d["delivery_id"]: d["failure"] for d in rt.state.deliveries.values() if d.get("failure")
            },
        }
    )
