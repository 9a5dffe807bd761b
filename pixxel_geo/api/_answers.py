"""Checking the shape of 2xx answers before the models read them.

The models never fail on an odd field; what they cannot survive is the wrong
*shape*: a number where an object belongs, a list that is a string, a
resource without an id. Those raise :class:`MalformedResponseError` here,
before anything is built from them. Messages name types, never values: an
answer may carry a signed URL.
"""

from __future__ import annotations

from typing import Any

from pixxel_geo.api.errors import MalformedResponseError

__all__ = ["expect_items", "expect_object", "expect_resource", "malformed", "usable_id"]

_UNSAFE = frozenset("/?#\\")


def usable_id(value: Any) -> str | None:
    """``value`` as an id that can go into a URL path or query, or ``None`` if it cannot.

    Example:
        >>> usable_id("47435e2b"), usable_id(None), usable_id("a/b"), usable_id(5)
        ('47435e2b', None, None, None)
    """
    if not isinstance(value, str):
        return None
    text = value.strip()
    if not text or text in {".", ".."} or any(c in _UNSAFE or c.isspace() or ord(c) < 32 for c in text):
        return None
    return text


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean"}.get(
        type(value), f"a {type(value).__name__}"
    )


def _id_problem(value: Any) -> str:
    if isinstance(value, str):
        return "an empty string or one holding '/', '?', '#', '\\' or spaces"
    return _kind(value)


def malformed(where: str, problem: str) -> MalformedResponseError:
    """The error for an answer to ``where`` (``"GET /v0/stores"``) showing ``problem``."""
    method, _, path = where.partition(" ")
    return MalformedResponseError(
        f"{where} answered with {problem}, not the form the Pixxel API documents. "
        "Check the API URL (--api-url / PIXXEL_API_URL) points at the Pixxel API; if it does, try again later.",
        status_code=200,
        method=method or None,
        path=path or None,
    )


def expect_object(body: Any, where: str) -> dict[str, Any]:
    """``body`` if it is a JSON object, else a :class:`MalformedResponseError`."""
    if not isinstance(body, dict):
        raise malformed(where, f"{_kind(body)} where an object belongs")
    return body


def expect_resource(body: Any, where: str, what: str, id_key: str = "id") -> dict[str, Any]:
    """A JSON object describing one resource, with a usable ``id_key``."""
    data = expect_object(body, where)
    if usable_id(data.get(id_key)) is None:
        raise malformed(where, f"a {what} whose {id_key!r} is {_id_problem(data.get(id_key))}, not a usable id")
    return data


def expect_items(body: Any, key: str, where: str, what: str, id_key: str = "id") -> list[dict[str, Any]]:
    """The list ``body[key]`` of resources, each an object with a usable ``id_key``.

    A missing or null list is an empty one (the API omits empty lists).
    """
    data = expect_object(body, where)
    items = data.get(key)
    if items is None:
        return []
    if not isinstance(items, list):
        raise malformed(where, f"{key!r} as {_kind(items)} where a list belongs")
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            raise malformed(where, f"{key}[{index}] as {_kind(item)} where a {what} object belongs")
        if usable_id(item.get(id_key)) is None:
            raise malformed(where, f"{key}[{index}], a {what} whose {id_key!r} is {_id_problem(item.get(id_key))}")
    return items
