"""``px.Client`` and ``px.AsyncClient``: the core clients, plus :meth:`~Client.download`.

The clients of :mod:`pixxel_geo.api` speak the API and nothing else (httpx and the
standard library, so the QGIS plugin can vendor them whole). Fetching a product's bytes
is this package's job, so the method that does it lives here, on subclasses that add
it and inherit everything else; ``pixxel_geo`` re-exports them as ``px.Client`` and
``px.AsyncClient``. ``isinstance(px.Client(), pixxel_geo.api.Client)`` holds, and
``from_config`` builds the subclass it is called on.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pixxel_geo.api import client as core
from pixxel_geo.api.events import EventCallback
from pixxel_geo.api.facade import awaitable
from pixxel_geo.api.validate import (
    check_callback,
    check_connections,
    check_destination,
    check_flag,
    exactly_one_id_list,
)
from pixxel_geo.transfer.products import adownload_products, download_products

__all__ = ["AsyncClient", "Client"]


def _checked(
    catalog_ids: Any, order_item_ids: Any, dest: Any, extract: Any, overwrite: Any, connections: Any, on_event: Any
) -> dict[str, Any]:
    """Every argument of ``download``, checked before the download resource is created."""
    catalogs, items = exactly_one_id_list(catalog_ids, order_item_ids)
    check_flag(extract, "extract")
    check_flag(overwrite, "overwrite")
    check_connections(connections)
    check_callback(on_event)
    return {
        "catalog_ids": catalogs or None,
        "order_item_ids": items or None,
        "dest": check_destination(dest),
        "extract": extract,
        "overwrite": overwrite,
        "connections": connections,
        "on_event": on_event,
    }


class Client(core.Client):
    """The Pixxel API client: :class:`pixxel_geo.api.Client` (same arguments) with :meth:`download`.

    Example:
        >>> import pixxel_geo as px
        >>> with px.Client() as client:  # doctest: +SKIP
        ...     catalog = next(client.catalogs.search(max_items=1))
        ...     paths = client.download(catalog_ids=[catalog.id], dest="data", extract=True)
    """

    _products = staticmethod(download_products)

    def download(
        self,
        catalog_ids: Sequence[str] | None = None,
        order_item_ids: Sequence[str] | None = None,
        dest: str | Path = ".",
        extract: bool = False,
        overwrite: bool = False,
        connections: int = 8,
        on_event: EventCallback | None = None,
    ) -> list[Path]:
        """Create a download resource, wait, and transfer it to ``dest`` (verified, resumable).

        Args:
            catalog_ids, order_item_ids: exactly one of the two.
            dest: the folder to write into.
            extract: unpack the archive (safely) next to it.
            overwrite: replace a file that is already there and verified.
            connections: parallel ranged requests.
            on_event: receives typed progress events.

        Returns:
            The archive's path, or the extracted files' paths with ``extract=True``.

        Raises:
            InvalidInputError: a bad argument (ids, ``dest`` a file or not writable, ``connections``
                outside 1–64), found before any request.
            DownloadFailedError: the download resource failed.
            WaitTimeoutError: it was not ready in time.
            TransferError: the transfer failed (subclasses: IntegrityError, TransferCancelled,
                UnsafeArchiveError).

        Example:
            >>> client.download(catalog_ids=[catalog.id], dest="data", extract=True)  # doctest: +SKIP

        See :func:`pixxel_geo.transfer.download_products`.
        """
        arguments = _checked(catalog_ids, order_item_ids, dest, extract, overwrite, connections, on_event)
        return self._products(self, **arguments)  # AsyncClient's is awaitable


class AsyncClient(core.AsyncClient):
    """The asyncio twin of :class:`Client`: :class:`pixxel_geo.api.AsyncClient` with ``download``
    (:meth:`Client.download`, awaited).

    Example:
        >>> async with px.AsyncClient() as client:  # doctest: +SKIP
        ...     paths = await client.download(catalog_ids=[catalog_id], dest="data")
    """

    _products = staticmethod(adownload_products)
    download = awaitable(Client.download)
