"""The sandbox ASGI application: routing, error envelopes, and the outer layer that applies
faults, authentication and the request log before a request reaches a handler.

Every 4xx/5xx from ``/v0`` carries ``{"error": {"code", "message", "details"}}`` (never a
traceback); ``/files`` errors are S3-style XML. See :mod:`pixxel_geo.sandbox.faults` for the
faults and :mod:`pixxel_geo.sandbox.files` for the file server.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import Message, Receive, Scope, Send

from pixxel_geo.sandbox import admin, api_catalogs, api_stores, api_transfers
from pixxel_geo.sandbox.auth import check_token
from pixxel_geo.sandbox.errors import PROXY_HTML, ApiError, envelope, error_response, s3_error
from pixxel_geo.sandbox.files import serve_file
from pixxel_geo.sandbox.runtime import Runtime
from pixxel_geo.sandbox.settings import SandboxSettings
from pixxel_geo.sandbox.state import State
from pixxel_geo.sandbox.workspace import build_workspace

log = logging.getLogger(__name__)
Handler = Callable[[Request], Awaitable[Response]]
CREATE_PATHS = ("/v0/stores", "/v0/catalogs/deliveries", "/v0/catalogs/download")
RESERVED_CATALOG_IDS = ("search", "deliveries", "download")


def _by_method(handlers: dict[str, Handler]) -> Handler:
    async def endpoint(request: Request) -> Response:
        return await handlers[request.method](request)

    return endpoint


async def ping(request: Request) -> Response:
    """``GET /ping`` → ``"pong"`` (no token needed)."""
    return JSONResponse("pong")


async def _catalog_or_reserved(request: Request) -> Response:
    if request.path_params["id"] in RESERVED_CATALOG_IDS:
        raise ApiError(405, f"{request.method} is not allowed on {request.url.path}")
    return await api_catalogs.get_catalog(request)


ROUTES = [
    Route("/ping", ping, methods=["GET"]),
    Route(
        "/v0/stores",
        _by_method({"GET": api_stores.list_stores, "POST": api_stores.create_store}),
        methods=["GET", "POST"],
    ),
    Route("/v0/stores/{id}", api_stores.delete_store, methods=["DELETE"]),
    Route("/v0/catalogs/search", api_catalogs.search_catalogs, methods=["POST"]),
    Route(
        "/v0/catalogs/deliveries",
        _by_method({"GET": api_transfers.list_deliveries, "POST": api_transfers.create_deliveries}),
        methods=["GET", "POST"],
    ),
    Route("/v0/catalogs/download", api_transfers.create_download, methods=["POST"]),
    Route("/v0/catalogs/download/{download_id}", api_transfers.get_download, methods=["GET"]),
    Route("/v0/catalogs/{id}", _catalog_or_reserved, methods=["GET"]),
    Route("/v0/order-items", api_catalogs.list_order_items, methods=["GET"]),
    Route("/v0/order-items/{id}", api_catalogs.get_order_item, methods=["GET"]),
    Route("/_sandbox/faults", admin.faults, methods=["GET", "POST", "DELETE"]),
    Route("/_sandbox/requests", admin.requests, methods=["GET", "DELETE"]),
    Route("/_sandbox/info", admin.info, methods=["GET"]),
]


async def _api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return error_response(exc.status, exc.message, exc.details, exc.code, exc.headers)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    message = {
        404: f"no such endpoint: {request.method} {request.url.path}",
        405: f"{request.method} is not allowed on {request.url.path}",
    }.get(exc.status_code, str(exc.detail))
    return error_response(exc.status_code, message, headers=dict(exc.headers or {}))


async def _server_error(request: Request, exc: Exception) -> Response:
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return error_response(500, "internal error in the sandbox (see its log)")


class SandboxApp:
    """The outer ASGI layer: request log, faults, auth, then files or the API routes."""

    def __init__(self, runtime: Runtime, api: Starlette) -> None:
        self.runtime = runtime
        self.api = api

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith("/_sandbox"):
            await self.api(scope, receive, send)
            return
        seen = {"status": 0, "bytes": 0}

        async def logged_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                seen["status"] = message["status"]
            elif message["type"] == "http.response.body":
                seen["bytes"] += len(message.get("body", b""))
            await send(message)

        try:
            await self._handle(scope, receive, logged_send)
        finally:
            headers = dict(scope.get("headers") or [])
            range_value = headers.get(b"range")
            self.runtime.requests.add(
                method=scope["method"],
                path=scope["path"],
                status=seen["status"],
                range=range_value.decode("latin-1") if range_value else None,
                bytes=seen["bytes"],
            )

    async def _handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        rt = self.runtime
        faults = rt.faults
        path: str = scope["path"]
        is_api = path == "/v0" or path.startswith("/v0/")
        is_file = path.startswith("/files/")
        if (is_api or is_file) and faults.faults.latency > 0:
            await asyncio.sleep(faults.faults.latency)
        if is_api and faults.take("non_json_errors"):
            await Response(PROXY_HTML, 502, media_type="text/html")(scope, receive, send)
            return
        if is_api and faults.take("rate_limit"):
            seconds = str(math.ceil(faults.faults.retry_after))
            response: Response = error_response(
                429, "rate limit exceeded: retry later", headers={"Retry-After": seconds}
            )
            await response(scope, receive, send)
            return
        status = faults.server_error_for(path)
        if status is not None:
            if is_file:
                response = s3_error(status, "SlowDown", "Please reduce your request rate.")
            else:
                response = error_response(status, "the service is temporarily unavailable")
            await response(scope, receive, send)
            return
        if is_file:
            await serve_file(rt, scope, receive, send)
            return
        if is_api:
            headers = dict(scope.get("headers") or [])
            raw = headers.get(b"authorization")
            try:
                check_token(
                    raw.decode("latin-1") if raw is not None else None,
                    rt.valid_tokens(),
                    faults.faults.expired_tokens,
                )
            except ApiError as exc:
                await error_response(exc.status, exc.message)(scope, receive, send)
                return
            creating = scope["method"] == "POST" and path in CREATE_PATHS
            if creating and faults.take("drop_create_response"):
                await self.api(scope, receive, _dropping(send))
                return
        await self.api(scope, receive, send)


def _dropping(send: Send) -> Send:
    """Forward the response head and part of the body, then nothing (the connection breaks)."""
    state = {"sent": False}

    async def dropping_send(message: Message) -> None:
        if message["type"] == "http.response.start":
            await send(message)
        elif message["type"] == "http.response.body" and not state["sent"]:
            state["sent"] = True
            body = message.get("body", b"")
            await send({"type": "http.response.body", "body": body[: len(body) // 2], "more_body": True})

    return dropping_send


def create_app(settings: SandboxSettings, data_dir: Path, token: str) -> SandboxApp:
    """Build the sandbox application (generating the workspace's products when missing).

    Args:
        settings: product sizes and lifecycle durations.
        data_dir: where products, state and buckets live (created when missing).
        token: the API token the server accepts.

    Returns:
        An ASGI application.

    Example:
        >>> app = create_app(SandboxSettings(bands=4, width=64, height=64), tmp, "tok")  # doctest: +SKIP
    """
    data_dir.mkdir(parents=True, exist_ok=True)
    rt = Runtime(
        settings=settings,
        data_dir=data_dir,
        token=token,
        workspace=build_workspace(settings, data_dir),
        state=State(data_dir),
    )

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        ticker = asyncio.ensure_future(rt.run_ticker())
        try:
            yield
        finally:
            ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await ticker
            rt.state.close()

    api = Starlette(
        routes=ROUTES,
        lifespan=lifespan,
        exception_handlers={
            ApiError: _api_error,
            HTTPException: _http_error,
            Exception: _server_error,
        },
    )
    api.state.runtime = rt
    return SandboxApp(rt, api)


__all__ = ["SandboxApp", "create_app", "envelope"]
