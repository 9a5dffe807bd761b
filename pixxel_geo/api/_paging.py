"""Offset/limit paging as one generator, shared by every list endpoint."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pixxel_geo.api._steps import Emit, Operation
from pixxel_geo.api.models import Page

__all__ = ["DEFAULT_PAGE_SIZE", "paginate"]

DEFAULT_PAGE_SIZE = 50
"""The API's own default page size is 2; asking for more saves many round trips."""


def paginate(
    fetch_page: Callable[[int, int], Operation[Any]],
    items_key: str,
    parse: Callable[[Any], Any],
    *,
    page_size: int | None,
    max_items: int | None,
) -> Operation[None]:
    """Emit every item of every page until the last one (or ``max_items``).

    ``fetch_page(offset, limit)`` is the operation returning one decoded page.
    Stops on a short or empty page, at ``pagination.total``, or if the server
    ignores ``offset`` and repeats itself.
    """
    limit = page_size or DEFAULT_PAGE_SIZE
    offset = emitted = 0
    seen: set[str] = set()
    while True:
        body = yield from fetch_page(offset, limit)
        body = body if isinstance(body, dict) else {}
        items = body.get(items_key) or []
        page = Page.from_api(body.get("pagination"))
        fresh = 0
        for raw in items:
            key = str(raw.get("id")) if isinstance(raw, dict) and raw.get("id") else None
            if key is not None:
                if key in seen:
                    continue
                seen.add(key)
            fresh += 1
            yield Emit(parse(raw))
            emitted += 1
            if max_items is not None and emitted >= max_items:
                return
        offset += len(items)
        if not items or fresh == 0:
            return
        if page.total is not None and offset >= page.total:
            return
        if page.total is None and len(items) < (page.limit or limit):
            return
