"""Offset/limit paging as one generator, shared by every list endpoint."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from pixxel_geo.api._answers import expect_items, expect_object
from pixxel_geo.api._steps import Emit, Operation
from pixxel_geo.api.models import Page

if TYPE_CHECKING:
    from pixxel_geo.api._base import BaseClient

__all__ = ["DEFAULT_PAGE_SIZE", "paged", "paginate"]

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


def paged(
    base: BaseClient,
    method: str,
    path: str,
    items_key: str,
    parse: Callable[[Any], Any],
    *,
    what: str,
    page_size: int | None,
    max_items: int | None = None,
    json_body: Mapping[str, Any] | None = None,
    params: Mapping[str, Any] | None = None,
) -> Operation[None]:
    """Every item of the list endpoint ``method path`` (see :func:`paginate`).

    ``offset`` and ``limit`` go into ``json_body`` when there is one (a search sent as POST),
    else into the query ``params``. Reading a page changes nothing, so each is retried as
    idempotent whatever its method.
    """

    def fetch(offset: int, limit: int) -> Operation[Any]:
        page = {"offset": offset, "limit": limit}
        if json_body is not None:
            return base.request(method, path, json_body={**json_body, **page}, idempotent=True)
        return base.request(method, path, params={**(params or {}), **page}, idempotent=True)

    where = f"{method} {path}"
    return paginate(fetch, items_key, parse, page_size=page_size, max_items=max_items, where=where, what=what)
