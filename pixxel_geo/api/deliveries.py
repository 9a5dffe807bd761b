"""Deliveries: asynchronous copies of catalogs into the customer's store."""

from __future__ import annotations

import builtins
import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from pixxel_geo.api._answers import expect_items
from pixxel_geo.api._creating import create_once
from pixxel_geo.api._steps import Operation
from pixxel_geo.api._waiting import PollSchedule, check_wait_timeout, wait_until_final
from pixxel_geo.api.errors import (
    DeliveryFailedError,
    InvalidInputError,
    NotFoundError,
    PixxelError,
    WaitTimeoutError,
)
from pixxel_geo.api.events import EventCallback
from pixxel_geo.api.facade import Facade, awaitable
from pixxel_geo.api.models import Delivery
from pixxel_geo.api.validate import check_callback, check_id, check_ids, exactly_one_id_list, safe_id

if TYPE_CHECKING:
    from pixxel_geo.api._base import BaseClient

__all__ = ["AsyncDeliveries", "Deliveries", "DeliveryOperations"]

logger = logging.getLogger("pixxel_geo.api")

DEFAULT_WAIT_TIMEOUT = 3600.0
_FILTERS = frozenset({"delivery_id", "catalog_id", "task_id", "order_item_id"})
_MISSES_BEFORE_NOT_FOUND = 2
"""A delivery id absent from this many polls in a row is unknown (one miss could be a lag)."""


class DeliveryOperations:
    """The delivery endpoints, written once."""

    def __init__(self, base: BaseClient, schedule: PollSchedule | None = None) -> None:
        self._base = base
        self._schedule = schedule or base._poll_schedule

    def list(self, deadline: float | None = None, **filters: str | None) -> Operation[builtins.list[Delivery]]:
        """The deliveries matching ``filters`` (the API's: delivery_id, catalog_id, task_id, order_item_id)."""
        unknown = set(filters) - _FILTERS
        if unknown:
            raise TypeError(f"unknown delivery filter(s): {', '.join(sorted(unknown))}")
        params = {key: safe_id(value, key) for key, value in filters.items() if value is not None}
        body = yield from self._base.request("GET", "/v0/catalogs/deliveries", params=params, deadline=deadline)
        items = expect_items(body, "deliveries", "GET /v0/catalogs/deliveries", "delivery", "delivery_id")
        return [Delivery.from_api(d) for d in items]

    def _existing_ids(self, catalog_ids: builtins.list[str], order_item_ids: builtins.list[str]) -> Operation[set[str]]:
        ids: set[str] = set()
        for catalog_id in catalog_ids:
            ids.update(d.delivery_id for d in (yield from self.list(catalog_id=catalog_id)))
        for order_item_id in order_item_ids:
            ids.update(d.delivery_id for d in (yield from self.list(order_item_id=order_item_id)))
        return ids

    def create(
        self,
        store_id: str,
        catalog_ids: Sequence[str] | None,
        order_item_ids: Sequence[str] | None,
        path: str | None,
    ) -> Operation[builtins.list[Delivery]]:
        store_id = check_id(store_id, "store_id")
        catalogs, items = exactly_one_id_list(catalog_ids, order_item_ids)
        if path is not None and not isinstance(path, str):
            raise InvalidInputError(f"path must be a string prefix inside the store, got {path!r}.")
        kind = "catalog_ids" if catalogs else "order_item_ids"
        cloud_info: dict[str, Any] = {"config": store_id, **({"path": path} if path else {})}
        # Note what already exists, so that a create whose answer was lost is recognised, not repeated.
        before = yield from self._existing_ids(catalogs, items)
        made: builtins.list[Delivery] = []
        remaining = catalogs or items

        def send() -> Operation[builtins.list[Delivery]]:
            # The schema requires both lists; the unused one goes as [].
            request = {"catalog_ids": [], "order_item_ids": [], "cloud_info": cloud_info, kind: remaining}
            body = {"deliveries": [request]}
            answer = yield from self._base.request("POST", "/v0/catalogs/deliveries", json_body=body, idempotent=False)
            answered = expect_items(answer, "deliveries", "POST /v0/catalogs/deliveries", "delivery", "delivery_id")
            return made + [Delivery.from_api(d) for d in answered]

        def find() -> Operation[builtins.list[Delivery] | None]:
            nonlocal remaining
            created = yield from self._created_since(before, kind, remaining, store_id, path)
            for found in created.values():
                made.extend(found)
            remaining = [i for i in remaining if i not in created]
            logger.debug("create delivery: answer lost, %d created, %d missing", len(created), len(remaining))
            return None if remaining else made

        def gave_up(error: PixxelError) -> PixxelError:
            return _partly_created(error, kind, made, remaining)

        return (yield from create_once(send, find, self._base.config.retry, gave_up))

    def _created_since(
        self,
        before: set[str],
        kind: str,
        ids: builtins.list[str],
        store_id: str,
        path: str | None,
    ) -> Operation[dict[str, builtins.list[Delivery]]]:
        """New deliveries to this store and path, per requested id that has any."""
        found: dict[str, builtins.list[Delivery]] = {}
        for requested in ids:
            query = self.list(catalog_id=requested) if kind == "catalog_ids" else self.list(order_item_id=requested)
            for delivery in (yield from query):
                cloud = delivery.cloud_delivery
                # The server may normalise the path ("/a/b" is stored as "a/b/").
                same_target = (
                    cloud is not None
                    and cloud.config == store_id
                    and (cloud.path or "").strip("/") == (path or "").strip("/")
                )
                if delivery.delivery_id not in before and same_target:
                    found.setdefault(requested, []).append(delivery)
        return found

    def wait(
        self,
        delivery_ids: Sequence[str] | str,
        timeout: float | None,
        on_event: EventCallback | None,
    ) -> Operation[builtins.list[Delivery]]:
        ids = check_ids(delivery_ids, "delivery_ids")
        if not ids:
            raise InvalidInputError("Give at least one delivery id to wait for.")
        timeout = check_wait_timeout(timeout)
        check_callback(on_event)
        latest = yield from wait_until_final(
            ids,
            self._fetch,
            done=lambda d: d.status.is_final,
            schedule=self._schedule,
            timeout=timeout,
            on_event=on_event,
            timed_out=lambda last, cause: _wait_timeout(ids, last, timeout, cause),
            not_found=_not_found,
            finished_detail=lambda d: d.target_path or "",
            misses=_MISSES_BEFORE_NOT_FOUND,
        )
        failed = [latest[i] for i in ids if latest[i].status.is_failure]
        if failed:
            names = ", ".join(f"{d.delivery_id} (catalog {d.catalog_id})" for d in failed)
            raise DeliveryFailedError(
                f"Delivery failed: {names}. Check the store's bucket, region and credentials, "
                "then create the delivery again.",
                resource_id=failed[0].delivery_id,
            )
        return [latest[i] for i in ids]

    def _fetch(self, pending: builtins.list[str], deadline: float | None) -> Operation[dict[str, Delivery]]:
        """Current state of ``pending`` deliveries in as few list calls as the API allows."""
        if len(pending) == 1:
            found = yield from self.list(delivery_id=pending[0], deadline=deadline)
            return {d.delivery_id: d for d in found if d.delivery_id == pending[0]}
        # One unfiltered list answers for all of them; look up any it lacks one by one.
        everything = {d.delivery_id: d for d in (yield from self.list(deadline=deadline))}
        result = {i: everything[i] for i in pending if i in everything}
        for missing in [i for i in pending if i not in everything]:
            for delivery in (yield from self.list(delivery_id=missing, deadline=deadline)):
                if delivery.delivery_id == missing:
                    result[missing] = delivery
        return result


def _not_found(unknown: list[str]) -> NotFoundError:
    return NotFoundError(
        f"No delivery {', '.join(unknown)} in this workspace (the API listed none with "
        f"{'that id' if len(unknown) == 1 else 'those ids'} in {_MISSES_BEFORE_NOT_FOUND} polls). Check the id: "
        "`pixxel-geo deliveries list` (or client.deliveries.list()) shows the workspace's deliveries.",
        status_code=404,
        method="GET",
        path="/v0/catalogs/deliveries",
    )


def _wait_timeout(
    ids: list[str], latest: dict[str, Delivery], timeout: float | None, cause: str = ""
) -> WaitTimeoutError:
    states = {i: (str(latest[i].status) if i in latest else "NOT_FOUND") for i in ids}
    waiting = ", ".join(f"{i} ({s})" for i, s in states.items() if s != "SUCCESS")
    return WaitTimeoutError(
        f"Deliveries not finished after {timeout or 0:g} s: {waiting}.{cause} "
        "Wait longer (timeout=) or check them later with deliveries.list().",
        resources=states,
    )


def _partly_created(error: PixxelError, kind: str, made: list[Delivery], missing: list[str]) -> PixxelError:
    """The last failure, saying which deliveries were made and which ids still have none."""
    done = ", ".join(f"{d.delivery_id} (catalog {d.catalog_id})" for d in made) or "none"
    error.message = (
        f"{error.message} Deliveries found created: {done}. No delivery was found for "
        f"{kind} {', '.join(missing)}: create those again (only those, to avoid duplicates)."
    )
    error.args = (error.message,)
    return error


class Deliveries(Facade):
    """``client.deliveries``: create, list and wait for deliveries into a store.

    Example:
        >>> deliveries = client.deliveries.create(store.id, catalog_ids=[catalog.id])  # doctest: +SKIP
        >>> client.deliveries.wait([d.delivery_id for d in deliveries], timeout=600)  # doctest: +SKIP
    """

    operations = DeliveryOperations

    def create(
        self,
        store_id: str,
        catalog_ids: Sequence[str] | None = None,
        order_item_ids: Sequence[str] | None = None,
        path: str | None = None,
    ) -> builtins.list[Delivery]:
        """Deliver catalogs (or an order item's catalogs) into a store; one Delivery per catalog.

        Args:
            store_id: the store's id (``client.stores.list()``).
            catalog_ids, order_item_ids: exactly one of the two.
            path: a prefix inside the store (after its own ``path_prefix``).

        Raises:
            InvalidInputError: both or neither id lists, empty ids (before any request).

        A create whose answer is lost (timeout, 5xx, dropped connection) is not
        repeated blindly: the client first looks for what it created, and sends
        again only the ids that have no new delivery yet. If retries run out
        with some ids still missing, the error names the deliveries made and
        the ids to create again.
        """
        return self._client._run(self._ops.create(store_id, catalog_ids, order_item_ids, path))

    def list(
        self,
        delivery_id: str | None = None,
        catalog_id: str | None = None,
        task_id: str | None = None,
        order_item_id: str | None = None,
    ) -> builtins.list[Delivery]:
        """Deliveries of the workspace, optionally filtered (the API takes one value per filter).

        Args:
            delivery_id, catalog_id, task_id, order_item_id: keep only matching deliveries.

        Returns:
            The matching :class:`Delivery` models.

        Example:
            >>> [d.status for d in client.deliveries.list(catalog_id=catalog.id)]  # doctest: +SKIP
        """
        return self._client._run(
            self._ops.list(delivery_id=delivery_id, catalog_id=catalog_id, task_id=task_id, order_item_id=order_item_id)
        )

    def wait(
        self,
        delivery_ids: Sequence[str] | str,
        timeout: float | None = DEFAULT_WAIT_TIMEOUT,
        on_event: EventCallback | None = None,
    ) -> builtins.list[Delivery]:
        """Wait until every delivery is final; return them in the order asked.

        Polls every 1–1.5 s (jittered) for the first minute, then backs off to 8–12 s.
        ``timeout`` counts from the call, retries of a failing poll included;
        ``None`` waits without a limit.

        Events, as for every wait: ``Started`` per id, ``StateChanged`` when a delivery is
        first seen and whenever its status changes (a new canonical status, or a new raw
        text of an unknown one; a new spelling of the same status is no change), and
        ``Finished`` when it succeeds.

        Raises:
            DeliveryFailedError: one ended FAILED (after all are final).
            NotFoundError: an id the API does not list, in two polls in a row (no long wait
                for a mistyped id).
            WaitTimeoutError: ``timeout`` seconds passed first.
        """
        return self._client._run(self._ops.wait(delivery_ids, timeout, on_event))


class AsyncDeliveries(Facade):
    """``async_client.deliveries``: :class:`Deliveries`, awaited (``create``, ``list``, ``wait``)."""

    operations = DeliveryOperations
    create = awaitable(Deliveries.create)
    list = awaitable(Deliveries.list)
    wait = awaitable(Deliveries.wait)
