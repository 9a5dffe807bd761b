"""Pixxel products to files: create a download resource, wait, fetch, verify, extract.

The archive is named after what was asked for, so a user recognises it:
``pixxel-<first catalog id>.zip`` for one catalog, ``pixxel-<first>+<N more>-<hash>.zip``
for several (the short hash of all ids keeps different selections apart), and
``pixxel-order-item-<id>…`` likewise for order items. With ``extract=True`` the
members go to the folder of the same name without ``.zip``; the archive is kept,
so a later run recognises the verified copy and skips both steps.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import re
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from pixxel_geo.api.errors import InvalidInputError, TransferError
from pixxel_geo.api.events import Event, EventCallback, Finished, StateChanged, emit
from pixxel_geo.transfer.engine import fetch
from pixxel_geo.transfer.extract import extract_once

if TYPE_CHECKING:
    from pixxel_geo.api.client import AsyncClient, Client

__all__ = ["adownload_products", "download_products", "product_file_name"]

_UNSAFE_CHARS = re.compile(r"[^A-Za-z0-9._-]+")


def product_file_name(catalog_ids: Sequence[str] | None = None, order_item_ids: Sequence[str] | None = None) -> str:
    """The archive's file name for a selection of catalogs or order items.

    Raises:
        InvalidInputError: both or neither of the id lists are given.

    Example:
        >>> product_file_name(catalog_ids=["cat-1"])
        'pixxel-cat-1.zip'
        >>> product_file_name(order_item_ids=["oi-7", "oi-8"])
        'pixxel-order-item-oi-7+1-4b44a1.zip'
    """
    ids, kind = _selection(catalog_ids, order_item_ids)
    first = _UNSAFE_CHARS.sub("_", ids[0]).strip("._") or "product"
    stem = f"pixxel-{kind}{first[:80]}"
    if len(ids) > 1:
        digest = hashlib.sha256("\n".join(ids).encode()).hexdigest()[:6]
        stem += f"+{len(ids) - 1}-{digest}"
    return stem + ".zip"


def _selection(catalog_ids: Sequence[str] | None, order_item_ids: Sequence[str] | None) -> tuple[list[str], str]:
    catalogs = list(catalog_ids or [])
    items = list(order_item_ids or [])
    if isinstance(catalog_ids, str) or isinstance(order_item_ids, str):
        raise InvalidInputError("catalog_ids and order_item_ids are lists of ids, not strings.")
    if bool(catalogs) == bool(items):
        raise InvalidInputError("Give exactly one of catalog_ids or order_item_ids (a non-empty list).")
    return (catalogs, "") if catalogs else (items, "order-item-")


def download_products(
    client: Client,
    *,
    catalog_ids: Sequence[str] | None = None,
    order_item_ids: Sequence[str] | None = None,
    dest: str | os.PathLike[str] = ".",
    extract: bool = False,
    overwrite: bool = False,
    connections: int = 8,
    on_event: EventCallback | None = None,
    cancel: threading.Event | None = None,
    part_size: int | None = None,
) -> list[Path]:
    """Download products to ``dest``: download resource, wait, fetch, verify, extract.

    Args:
        client: a :class:`pixxel_geo.Client`.
        catalog_ids: catalogs to download (or ``order_item_ids``, not both).
        order_item_ids: order items to download.
        dest: the folder receiving the archive (created if needed).
        extract: also unpack the archive (safely) into ``dest/<archive name>/``.
        overwrite: replace existing files instead of keeping verified copies.
        connections: parallel connections for the transfer.
        on_event: receives the wait's and the transfer's events.
        cancel: set it to stop; the partial file is kept for resuming.
        part_size: bytes per ranged request (default: automatic).

    Returns:
        ``[archive]``, or the extracted files with ``extract=True``.

    Raises:
        InvalidInputError: both or neither id lists.
        DownloadFailedError, WaitTimeoutError: from waiting for the download resource.
        TransferError, IntegrityError, SignedURLError, TransferCancelled: from the
            transfer (see :func:`pixxel_geo.transfer.fetch`).
        UnsafeArchiveError: the archive was refused for extraction.

    Example:
        >>> download_products(client, catalog_ids=["4b1c..."], dest="data")  # doctest: +SKIP
        [PosixPath('data/pixxel-4b1c....zip')]
    """
    name = product_file_name(catalog_ids, order_item_ids)
    download = client.downloads.create(catalog_ids=catalog_ids, order_item_ids=order_item_ids)
    download = client.downloads.wait(download.id, on_event=on_event)
    return _transfer(
        download.signed_url or "",
        _refresher(client, download.id),
        Path(dest) / name,
        extract=extract,
        overwrite=overwrite,
        connections=connections,
        on_event=on_event,
        cancel=cancel,
        part_size=part_size,
    )


async def adownload_products(
    client: AsyncClient,
    *,
    catalog_ids: Sequence[str] | None = None,
    order_item_ids: Sequence[str] | None = None,
    dest: str | os.PathLike[str] = ".",
    extract: bool = False,
    overwrite: bool = False,
    connections: int = 8,
    on_event: EventCallback | None = None,
    part_size: int | None = None,
) -> list[Path]:
    """The awaitable twin of :func:`download_products`.

    Creating and waiting for the download resource is awaited on the event loop;
    the transfer and extraction run in a worker thread (with a sync client built
    from ``client.config`` to renew the URL). Events are delivered on the event
    loop's thread. Cancelling the task stops the transfer (finished parts are
    kept for resuming) and waits for the thread to let go of its files.

    Example:
        >>> paths = await adownload_products(client, catalog_ids=[cid], dest="data")  # doctest: +SKIP
    """
    from pixxel_geo.api.client import Client

    name = product_file_name(catalog_ids, order_item_ids)
    download = await client.downloads.create(catalog_ids=catalog_ids, order_item_ids=order_item_ids)
    download = await client.downloads.wait(download.id, on_event=on_event)
    loop = asyncio.get_running_loop()
    cancel = threading.Event()
    forward: EventCallback | None = None
    if on_event is not None:
        callback = on_event

        def forward(event: Event) -> None:
            loop.call_soon_threadsafe(callback, event)

    def work() -> list[Path]:
        with Client.from_config(client.config) as sync_client:
            return _transfer(
                download.signed_url or "",
                _refresher(sync_client, download.id),
                Path(dest) / name,
                extract=extract,
                overwrite=overwrite,
                connections=connections,
                on_event=forward,
                cancel=cancel,
                part_size=part_size,
            )

    task = asyncio.ensure_future(asyncio.to_thread(work))
    try:
        return await asyncio.shield(task)
    except asyncio.CancelledError:
        cancel.set()
        with contextlib.suppress(BaseException):
            await task
        raise


def _refresher(client: Client, download_id: str) -> Callable[[], str]:
    def refresh() -> str:
        return client.downloads.get(download_id).signed_url or ""

    return refresh


def _transfer(
    url: str,
    refresh: Callable[[], str],
    archive: Path,
    *,
    extract: bool,
    overwrite: bool,
    connections: int,
    on_event: EventCallback | None,
    cancel: threading.Event | None,
    part_size: int | None,
) -> list[Path]:
    if not url:
        url = refresh()
    try:
        archive.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise TransferError(
            f"Cannot create the destination folder {archive.parent}: {exc.strerror}. Choose a folder you can write to.",
            path=str(archive.parent),
        ) from exc
    fetch(
        url,
        archive,
        connections=connections,
        part_size=part_size,
        refresh=refresh,
        on_event=on_event,
        cancel=cancel,
        overwrite=overwrite,
    )
    if not extract:
        return [archive]
    target = archive.with_suffix("")
    emit(on_event, StateChanged(subject=archive.name, status="extracting"))
    # Extraction moves a complete folder into place in one rename: if it is there (and holds
    # this archive's files) it is complete and kept; downloads of one product extracting at
    # once wait for each other.
    files = extract_once(archive, target, overwrite=overwrite)
    emit(on_event, Finished(subject=target.name, detail=f"{len(files)} files extracted"))
    return files
