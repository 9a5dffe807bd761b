"""Every public call of the client, as (name, sync call, async call), for the fuzzing passes.

Waits get tiny timeouts, listings a cap on items, so a malformed answer that is
merely *odd* (valid but pending) ends quickly; what matters is how a call ends.
"""

from __future__ import annotations

import itertools
from collections.abc import Awaitable, Callable
from typing import Any

import pixxel_geo as px

Sync = Callable[[px.Client], Any]
Async = Callable[[px.AsyncClient], Awaitable[Any]]


async def _alist(iterator: Any, limit: int = 300) -> list[Any]:
    items = []
    async for item in iterator:
        items.append(item)
        if len(items) >= limit:
            break
    return items


CALLS: list[tuple[str, Sync, Async]] = [
    ("ping", lambda c: c.ping(), lambda a: a.ping()),
    ("stores.list", lambda c: c.stores.list(), lambda a: a.stores.list()),
    (
        "stores.create",
        lambda c: c.stores.create("n", "S3", "b", "r", {"k": "v"}),
        lambda a: a.stores.create("n", "S3", "b", "r", {"k": "v"}),
    ),
    ("stores.delete", lambda c: c.stores.delete("s1"), lambda a: a.stores.delete("s1")),
    (
        "catalogs.search",
        lambda c: list(itertools.islice(c.catalogs.search(limit=2), 300)),
        lambda a: _alist(a.catalogs.search(limit=2)),
    ),
    ("catalogs.get", lambda c: c.catalogs.get("c1"), lambda a: a.catalogs.get("c1")),
    (
        "order_items.list",
        lambda c: list(itertools.islice(c.order_items.list(), 300)),
        lambda a: _alist(a.order_items.list()),
    ),
    ("order_items.get", lambda c: c.order_items.get("o1"), lambda a: a.order_items.get("o1")),
    (
        "deliveries.create",
        lambda c: c.deliveries.create("s1", catalog_ids=["c1"]),
        lambda a: a.deliveries.create("s1", catalog_ids=["c1"]),
    ),
    ("deliveries.list", lambda c: c.deliveries.list(), lambda a: a.deliveries.list()),
    (
        "deliveries.wait",
        lambda c: c.deliveries.wait(["d1"], timeout=0.02),
        lambda a: a.deliveries.wait(["d1"], timeout=0.02),
    ),
    (
        "deliveries.wait-many",
        lambda c: c.deliveries.wait(["d1", "d2"], timeout=0.02),
        lambda a: a.deliveries.wait(["d1", "d2"], timeout=0.02),
    ),
    (
        "downloads.create",
        lambda c: c.downloads.create(catalog_ids=["c1"]),
        lambda a: a.downloads.create(catalog_ids=["c1"]),
    ),
    ("downloads.get", lambda c: c.downloads.get("dl"), lambda a: a.downloads.get("dl")),
    ("downloads.wait", lambda c: c.downloads.wait("dl", timeout=0.02), lambda a: a.downloads.wait("dl", timeout=0.02)),
]
"""``client.download`` is left out: past the wait it is the transfer engine's (tests/transfer)."""

NAMES = [name for name, _, _ in CALLS]
