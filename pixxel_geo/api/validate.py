"""Input checks made before any request, with messages that say what to do."""

from __future__ import annotations

import math
import os
import tempfile
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import quote

from pixxel_geo.api.errors import InvalidInputError

__all__ = [
    "MAX_CONNECTIONS",
    "STORE_TYPES",
    "check_bbox",
    "check_callback",
    "check_connections",
    "check_destination",
    "check_flag",
    "check_id",
    "check_ids",
    "exactly_one_id_list",
    "path_segment",
    "safe_id",
]

MAX_CONNECTIONS = 64

STORE_TYPES = ("S3", "GCS", "AZBLOB")


def check_id(value: Any, what: str) -> str:
    """A single non-empty string id."""
    if not isinstance(value, str) or not value.strip():
        raise InvalidInputError(f"{what} must be a non-empty string, got {value!r}.")
    return value.strip()


_PATH_UNSAFE = ("/", "?", "#", "\\")


def safe_id(value: Any, what: str) -> str:
    """A non-empty id with nothing that could change which resource a URL names (see :func:`path_segment`).

    Example:
        >>> safe_id("d-1", "delivery_id")
        'd-1'
    """
    text = check_id(value, what)
    if text in {".", ".."} or any(c in _PATH_UNSAFE or c.isspace() or ord(c) < 32 for c in text):
        raise InvalidInputError(
            f"{what} {value!r} is not a valid id: ids contain no '/', '?', '#', '\\' or spaces "
            "and are not '.' or '..'. Pass the id exactly as the API returned it."
        )
    return text


def path_segment(value: Any, what: str, reserved: Iterable[str] = ()) -> str:
    """An id checked and percent-quoted for use as one segment of a URL path.

    Ids that could change which resource the URL names (``"../stores/S1"``,
    ``"deliveries"`` reached through ``"x/.."``, ``"a?b"``) are refused, and the
    rest is quoted, so an id never addresses anything but itself. ``reserved``
    names sibling endpoints (``/v0/catalogs/search``) an id must not equal.

    Example:
        >>> path_segment(" 47435e2b ", "catalog_id")
        '47435e2b'
    """
    text = check_id(value, what)
    if text in {".", ".."} or any(c in text for c in _PATH_UNSAFE) or any(c.isspace() for c in text):
        raise InvalidInputError(
            f"{what} {value!r} is not a valid id: ids contain no '/', '?', '#', '\\' or spaces "
            "and are not '.' or '..'. Pass the id exactly as the API returned it."
        )
    if text.lower() in reserved:
        raise InvalidInputError(
            f"{what} {value!r} names another endpoint, not a resource. Pass the id exactly as the API returned it."
        )
    return quote(text, safe="")


def check_ids(values: Iterable[Any] | str | None, what: str) -> list[str]:
    """A list of non-empty string ids, duplicates removed (order kept). ``None`` → ``[]``."""
    if values is None:
        return []
    if isinstance(values, str):
        values = [values]
    if isinstance(values, bytes | Mapping) or not isinstance(values, Iterable):
        raise InvalidInputError(f"{what} must be a list of ids (strings), got {type(values).__name__} {values!r}.")
    ids: list[str] = []
    for value in values:
        checked = check_id(value, f"each of {what}")
        if checked not in ids:
            ids.append(checked)
    return ids


def exactly_one_id_list(
    catalog_ids: Iterable[Any] | str | None, order_item_ids: Iterable[Any] | str | None
) -> tuple[list[str], list[str]]:
    """Exactly one of the two lists must hold ids (the API's rule for deliveries and downloads).

    Example:
        >>> exactly_one_id_list(["c1"], None)
        (['c1'], [])
    """
    catalogs = check_ids(catalog_ids, "catalog_ids")
    items = check_ids(order_item_ids, "order_item_ids")
    if catalogs and items:
        raise InvalidInputError(
            "Give exactly one of catalog_ids or order_item_ids, not both: the API takes one kind per request. "
            "Make two requests instead."
        )
    if not catalogs and not items:
        raise InvalidInputError(
            "Give exactly one of catalog_ids or order_item_ids, with at least one id "
            "(catalog_ids=[...] or order_item_ids=[...])."
        )
    return catalogs, items


def check_bbox(bbox: Any) -> list[float]:
    """``[west, south, east, north]`` in degrees (east < west is allowed: the antimeridian)."""
    if isinstance(bbox, str | bytes | Mapping):
        raise InvalidInputError(
            f"bbox must be a sequence of 4 numbers [west, south, east, north], got {bbox!r}. "
            "Pass a list or tuple, e.g. [77.5, 12.9, 77.7, 13.1]."
        )
    try:
        values = [float(v) for v in bbox]
    except (TypeError, ValueError):
        raise InvalidInputError(f"bbox must be 4 numbers [west, south, east, north], got {bbox!r}.") from None
    if len(values) != 4 or not all(math.isfinite(v) for v in values):
        raise InvalidInputError(f"bbox must be 4 finite numbers [west, south, east, north], got {bbox!r}.")
    west, south, east, north = values
    if not (-180 <= west <= 180 and -180 <= east <= 180):
        raise InvalidInputError(f"bbox longitudes must lie in [-180, 180], got {bbox!r}.")
    if not (-90 <= south <= 90 and -90 <= north <= 90) or south > north:
        raise InvalidInputError(
            f"bbox latitudes must lie in [-90, 90] with south <= north, got {bbox!r}. "
            "The order is [west, south, east, north]."
        )
    return values


def check_store_type(value: Any) -> str:
    text = str(value or "").strip().upper()
    aliases = {"AZURE": "AZBLOB", "GS": "GCS"}
    text = aliases.get(text, text)
    if text not in STORE_TYPES:
        raise InvalidInputError(f"Store type must be one of {', '.join(STORE_TYPES)}, got {value!r}.")
    return text


def check_flag(value: Any, what: str) -> bool:
    """``True`` or ``False`` exactly (``"no"`` is truthy: refusing it avoids a surprise)."""
    if not isinstance(value, bool):
        raise InvalidInputError(f"{what} must be True or False, got {value!r}.")
    return value


def check_callback(value: Any, what: str = "on_event") -> Callable[..., Any] | None:
    """``None`` or something callable (checked before the work starts, not at the first event)."""
    if value is not None and not callable(value):
        raise InvalidInputError(f"{what} must be a function taking one event, or None; got {value!r}.")
    return value


def check_connections(value: Any) -> int:
    """Parallel connections: a whole number from 1 to :data:`MAX_CONNECTIONS`."""
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_CONNECTIONS:
        raise InvalidInputError(
            f"connections must be a whole number from 1 to {MAX_CONNECTIONS}, got {value!r} "
            "(8, the default, suits most links)."
        )
    return value


def check_destination(dest: Any) -> Path:
    """A folder that is, or can be created as, a writable folder; checked before any request.

    The nearest existing folder gets a probe file (created and removed at once), which
    also catches read-only mounts that permission bits do not show.

    Example:
        >>> check_destination(".")
        PosixPath('.')
    """
    if (isinstance(dest, str) and not dest.strip()) or not isinstance(dest, str | os.PathLike):
        raise InvalidInputError(f"dest must be a folder path (a non-empty string or Path), got {dest!r}.")
    path = Path(dest)
    existing = path
    while not existing.exists():
        if existing.parent == existing:
            break
        existing = existing.parent
    if not existing.is_dir():
        where = "is" if existing == path else f"lies inside {str(existing)!r}, which is"
        raise InvalidInputError(f"dest {str(path)!r} {where} a file, not a folder. Give a folder to write into.")
    try:
        with tempfile.TemporaryFile(dir=existing, prefix=".pixxel-probe-"):
            pass
    except OSError as exc:
        raise InvalidInputError(
            f"dest {str(path)!r}: cannot write into {str(existing)!r} ({exc.strerror or type(exc).__name__}). "
            "Give a folder you can write to."
        ) from None
    return path
