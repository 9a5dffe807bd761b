"""Order items: what was ordered, and the catalogs it produced."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from pixxel_geo.api._paging import paged
from pixxel_geo.api._steps import Operation
from pixxel_geo.api.errors import InvalidInputError
from pixxel_geo.api.facade import Facade, async_iterable, awaitable
from pixxel_geo.api.models import OrderItem
from pixxel_geo.api.validate import path_segment

if TYPE_CHECKING:
    from pixxel_geo.api._base import BaseClient

__all__ = ["AsyncOrderItems", "OrderItemOperations", "OrderItems"]

_FILTERS = {
    "user_id", "type", "status", "order_ids", "created_by", "created_at", "project_ids", "ids", "area",
}  # fmt: skip


def _query(filters: dict[str, Any]) -> dict[str, Any]:
    unknown = set(filters) - _FILTERS
    if unknown:
        raise InvalidInputError(
            f"Unknown order item filter(s): {', '.join(sorted(unknown))}. Known: {', '.join(sorted(_FILTERS))}."
        )
    query: dict[str, Any] = {}
    for key, value in filters.items():
        if value is None:
            continue
        values = list(value) if isinstance(value, list | tuple | set | frozenset) else [value]
        if not values or not all(_filter_value(v) for v in values):
            raise InvalidInputError(
                f"Order item filter {key} must be a string or number, or a list of them, got {value!r}."
            )
        # The API takes lists as comma-separated strings.
        query[key] = ",".join(str(v).strip() for v in values)
    return query


def _filter_value(value: Any) -> bool:
    if isinstance(value, str):
        return bool(value.strip()) and "," not in value
    return isinstance(value, int | float) and not isinstance(value, bool)


class OrderItemOperations:
    """The order item endpoints, written once."""

    def __init__(self, base: BaseClient) -> None:
        self._base = base

    def list(self, query: dict[str, Any], page_size: int | None) -> Operation[None]:
        return paged(
            self._base, "GET", "/v0/order-items", "order_items", OrderItem.from_api,
            what="order item", page_size=page_size, params=query,
        )  # fmt: skip

    def get(self, order_item_id: str) -> Operation[OrderItem]:
        path = f"/v0/order-items/{path_segment(order_item_id, 'order_item_id')}"
        return self._base.get_resource(path, OrderItem.from_api, "order item")


class OrderItems(Facade):
    """``client.order_items``: list (all pages) and get order items.

    Example:
        >>> [item.id for item in client.order_items.list(status="FULFILLED")]  # doctest: +SKIP
    """

    operations = OrderItemOperations

    def list(self, **filters: Any) -> Iterator[OrderItem]:
        """Iterate over order items. Filters: user_id, type, status, order_ids, created_by,
        created_at, project_ids, ids, area (lists are sent comma-separated)."""
        return self._client._iterate(self._ops.list(_query(filters), None))

    def get(self, order_item_id: str) -> OrderItem:
        """One order item by id, with its tasks and images.

        Args:
            order_item_id: the order item's id.

        Raises:
            NotFoundError: no such order item.

        Example:
            >>> client.order_items.get(item_id).status  # doctest: +SKIP
            'FULFILLED'
        """
        return self._client._run(self._ops.get(order_item_id))


class AsyncOrderItems(Facade):
    """``async_client.order_items``: :class:`OrderItems`, asynchronous (``async for`` over ``list``, ``await get``)."""

    operations = OrderItemOperations
    list = async_iterable(OrderItems.list)
    get = awaitable(OrderItems.get)
