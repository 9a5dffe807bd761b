"""Offset/limit paging as one generator, shared by every list endpoint."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pixxel_geo.api._answers import expect_items, expect_object
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
    where: str,
    what: str,
) -> Operation[None]:
    """Emit every item of every page until the last one (or ``max_items``).

    ``fetch_page(offset, limit)`` is the operation returning one decoded page;
    ``where`` (``"GET /v0/order-items"``) and ``what`` name it in errors.
    Stops on a short or empty page, at ``pagination.total``, or on a page that
    brings no id not seen before (a server ignoring ``offset`` repeats itself).
    Every item must carry a usable ``id``: without ids, repeated pages could not
    be told from new ones, so such a page is a
    :class:`~pixxel_geo.api.errors.MalformedResponseError`, not a reason to page on.
    """
    limit = page_size or DEFAULT_PAGE_SIZE
    offset = emitted = 0
    seen: set[str] = set()
    while True:
        body = yield from fetch_page(offset, limit)
        items = expect_items(body, items_key, where, what)
        page = Page.from_api(expect_object(body, where).get("pagination"))
        fresh = [raw for raw in items if raw["id"].strip() not in seen]
        for raw in fresh:
            key = raw["id"].strip()
            if key in seen:  # a page may repeat an id within itself
                continue
            seen.add(key)
            yield Emit(parse(raw))
            emitted += 1
            if max_items is not None and emitted >= max_items:
                return
        offset += len(items)
        if not fresh:
            return
        if page.total is not None and offset >= page.total:
            return
        if page.total is None and len(items) < (page.limit or limit):
            return
