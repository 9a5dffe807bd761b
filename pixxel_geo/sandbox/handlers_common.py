"""Helpers shared by the API handlers: the runtime, JSON bodies, id checks."""

from __future__ import annotations

import json
import uuid
from typing import Any

from starlette.requests import Request

from pixxel_geo.sandbox.errors import ApiError
from pixxel_geo.sandbox.runtime import Runtime

MAX_BODY = 1 << 20


def runtime(request: Request) -> Runtime:
    """Return the server's runtime."""
    value: Runtime = request.app.state.runtime
    return value


async def json_object(request: Request) -> dict[str, Any]:
    """Return the request body as a JSON object.

    Raises:
        ApiError: 400 when the body is empty, not JSON, or not an object; 413 when too large.
    """
    raw = await request.body()
    if len(raw) > MAX_BODY:
        raise ApiError(413, f"request body larger than {MAX_BODY} bytes")
    if not raw.strip():
        raise ApiError(400, "request body is empty: send a JSON object")
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ApiError(400, f"request body is not valid JSON: {exc}") from exc
    if not isinstance(body, dict):
        raise ApiError(400, "request body must be a JSON object")
    return body


def check_uuid(value: str, what: str) -> str:
    """Raise 400 unless ``value`` is a UUID (the API's ids are UUIDs)."""
    try:
        uuid.UUID(value)
    except ValueError as exc:
        raise ApiError(400, f"{what} {value!r} is not a valid UUID") from exc
    return value


def id_list(body: dict[str, Any], name: str) -> list[str]:
    """Return ``body[name]`` as a de-duplicated list of strings (missing or null = empty)."""
    value = body.get(name)
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ApiError(400, f"{name} must be an array of strings")
    return list(dict.fromkeys(value))
