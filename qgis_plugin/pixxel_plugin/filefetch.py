"""Download a product with the core's transfer engine (``pixxel_geo.transfer``, vendored).

The plugin has no downloader of its own: :func:`download_product` hands the signed URL to
``pixxel_geo.transfer.fetch``, which downloads in parallel ranged parts, resumes an
interrupted transfer from ``<file>.part`` (run it again), verifies the size and the server's
SHA-256 digest, retries transient failures, asks for a fresh signed URL when one is refused
(403, expired) and renames the file into place only when complete. The file name is the
core's ``product_file_name`` (the same as ``pixxel-geo download``), so an API-supplied id
cannot leave the chosen folder.

The engine's range requests use httpx (standard proxy environment variables apply), not
QGIS's network manager, which logs failed requests with their full (signed) URL; the API
calls (creating the download, re-signing) go through QGIS's network stack.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from qgis.core import QgsFeedback

from ._vendor import pixxel_geo as px
from ._vendor.pixxel_geo.transfer import engine, products
from .service import ApiTarget, make_client, signed_url

__all__ = ["Downloaded", "download_product", "product_path"]

CONNECTIONS = 4
PART_SIZE: int | None = None
"""Bytes per ranged request (``None``: the engine's tapering plan)."""


@dataclass(frozen=True)
class Downloaded:
    """A finished download: the file and the download resource it came from."""

    path: Path
    download_id: str


def product_path(folder: Path, catalog_id: str) -> Path:
    """Where a catalog's product goes in ``folder``: the core's ``pixxel-<catalog id>.zip``.

    Example:
        >>> product_path(Path("/data"), "cat-1")
        PosixPath('/data/pixxel-cat-1.zip')
    """
    return folder / products.product_file_name(catalog_ids=[catalog_id])


def download_product(
    target: ApiTarget,
    catalog_id: str,
    folder: Path,
    download_id: str | None = None,
    progress: Callable[[int, int], None] | None = None,
    feedback: QgsFeedback | None = None,
    on_download: Callable[[str], None] | None = None,
) -> Downloaded:
    """Download a catalog's product into ``folder`` (resumable, verified, re-signed, atomic).

    Args:
        target: the API URL and token.
        catalog_id: the catalog.
        folder: an existing folder.
        download_id: a download resource of the catalog to reuse, if known.
        progress: called with ``(bytes_done, bytes_total)`` from worker threads.
        feedback: cancelling it stops the transfer (finished parts are kept for a resume).
        on_download: called with the download id before the transfer starts (keep it: a resume
            must read the same download resource).

    Returns:
        The file and the download id.

    Raises:
        px.TransferError, px.IntegrityError, px.SignedURLError, px.TransferCancelled,
        px.PixxelError: with messages that hold no signed URL.
    """
    product = signed_url(target, catalog_id, download_id, feedback=feedback)
    if on_download is not None:
        on_download(product.download_id)
    cancel = threading.Event()
    finished = threading.Event()

    def watch() -> None:  # a task's feedback is cancelled from the GUI thread: poll it
        while feedback is not None and not finished.wait(0.1):
            if feedback.isCanceled():
                cancel.set()
                return

    threading.Thread(target=watch, name="pixxel-download-cancel", daemon=True).start()

    def refresh() -> str:
        with make_client(target) as client:
            fresh = client.downloads.get(product.download_id).signed_url
        if not fresh:
            raise px.SignedURLError(f"download {product.download_id} has no signed URL any more")
        return str(fresh)

    def on_event(event: Any) -> None:
        if isinstance(event, px.Progress) and progress is not None and event.total:
            progress(event.done, event.total)

    dest = product_path(folder, catalog_id)
    try:
        engine.fetch(
            product.signed_url,
            dest,
            connections=CONNECTIONS,
            part_size=PART_SIZE,
            refresh=refresh,
            on_event=on_event,
            cancel=cancel,
            overwrite=True,
        )
    finally:
        finished.set()
    return Downloaded(dest, product.download_id)
