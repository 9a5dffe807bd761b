"""Stores: the customer buckets (S3, GCS, Azure Blob) Pixxel delivers into."""

from __future__ import annotations

import builtins
from typing import TYPE_CHECKING, Any

from pixxel_geo.api._answers import expect_items, expect_resource
from pixxel_geo.api._creating import create_once
from pixxel_geo.api._steps import Operation
from pixxel_geo.api.errors import InvalidInputError
from pixxel_geo.api.facade import Facade, awaitable
from pixxel_geo.api.models import Store
from pixxel_geo.api.validate import check_id, check_store_type, path_segment

if TYPE_CHECKING:
    from pixxel_geo.api._base import BaseClient

__all__ = ["AsyncStores", "StoreOperations", "Stores"]


class StoreOperations:
    """The store endpoints, written once (see :mod:`pixxel_geo.api._steps`)."""

    def __init__(self, base: BaseClient) -> None:
        self._base = base

    def list(self) -> Operation[builtins.list[Store]]:
        body = yield from self._base.request("GET", "/v0/stores")
        return [Store.from_api(s) for s in expect_items(body, "stores", "GET /v0/stores", "store")]

    def create(self, body: dict[str, Any]) -> Operation[Store]:
        """Create the store ``body`` describes (checked by :meth:`Stores.create`), without duplicates."""

        def send() -> Operation[Store]:
            answer = yield from self._base.request("POST", "/v0/stores", json_body=body, idempotent=False)
            return Store.from_api(expect_resource(answer, "POST /v0/stores", "store"))

        def find() -> Operation[Store | None]:
            # Names are unique in a workspace; compare with what was sent (stripped), not the arguments.
            stores = yield from self.list()
            bucket = body["configs"]["bucket"]
            return next((s for s in stores if s.name == body["name"] and s.configs.bucket == bucket), None)

        return (yield from create_once(send, find, self._base.config.retry))

    def delete(self, store_id: str) -> Operation[None]:
        yield from self._base.request("DELETE", f"/v0/stores/{path_segment(store_id, 'store_id')}", decode=False)
        return None


class Stores(Facade):
    """``client.stores``: list, create and delete stores.

    Example:
        >>> store = client.stores.create("analysis", "S3", "my-bucket", "us-east-1",  # doctest: +SKIP
        ...                              {"access_key_id": "…", "secret_access_key": "…"})
    """

    operations = StoreOperations

    def list(self) -> builtins.list[Store]:
        """All stores of the workspace (their secrets are never returned).

        Returns:
            The stores, as :class:`Store` models.

        Example:
            >>> [s.configs.bucket for s in client.stores.list()]  # doctest: +SKIP
            ['my-bucket']
        """
        return self._client._run(self._ops.list())

    def create(
        self,
        name: str,
        type: str,
        bucket: str,
        region: str,
        secrets: dict[str, str],
        path_prefix: str | None = None,
        labels: dict[str, str] | None = None,
    ) -> Store:
        """Create a store. ``type`` is S3, GCS or AZBLOB; ``secrets`` are write-only.

        Raises:
            InvalidInputError: a bad type, empty bucket or region, non-string secrets.
        """
        configs: dict[str, Any] = {
            "bucket": check_id(bucket, "bucket"),
            "region": check_id(region, "region"),
        }
        if path_prefix is not None and not isinstance(path_prefix, str):
            raise InvalidInputError(f"path_prefix must be a string such as 'pixxel/', got {path_prefix!r}.")
        if path_prefix:
            configs["path_prefix"] = path_prefix
        if labels is not None and not (
            isinstance(labels, dict) and all(isinstance(k, str) and k and isinstance(v, str) for k, v in labels.items())
        ):
            raise InvalidInputError(f"labels must be a dict of strings such as {{'team': 'geo'}}, got {labels!r}.")
        if not isinstance(secrets, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in secrets.items()
        ):
            raise InvalidInputError(
                "secrets must be a dict of strings, e.g. {'access_key_id': ..., 'secret_access_key': ...}."
            )
        body: dict[str, Any] = {
            "name": check_id(name, "name"),
            "type": check_store_type(type),
            "configs": configs,
            "secrets": secrets,
        }
        if labels:
            body["labels"] = {str(k): str(v) for k, v in labels.items()}

        return self._client._run(self._ops.create(body))

    def delete(self, store_id: str) -> None:
        """Delete a store.

        Args:
            store_id: the store's id.

        Raises:
            NotFoundError: no such store. InvalidInputError: an empty id.

        Example:
            >>> client.stores.delete(store.id)  # doctest: +SKIP
        """
        return self._client._run(self._ops.delete(store_id))


class AsyncStores(Facade):
    """``async_client.stores``: :class:`Stores`, awaited (``list``, ``create``, ``delete``)."""

    operations = StoreOperations
    list = awaitable(Stores.list)
    create = awaitable(Stores.create)
    delete = awaitable(Stores.delete)
