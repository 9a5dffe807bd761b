"""What the plugin asks of the Pixxel API, as plain functions run inside tasks (worker threads).

Each builds its client on QGIS's network stack (:class:`QgisTransport`) with the
task's feedback, so cancelling the task aborts the request in flight.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from qgis.core import QgsFeedback

from ._vendor import pixxel_geo as px
from .transport import QgisTransport

__all__ = [
    "ApiTarget",
    "SignedProduct",
    "check_connection",
    "deliver",
    "make_client",
    "search_catalogs",
    "signed_url",
]

# A signed URL with less than this left is not reused for a new layer.
MIN_URL_LIFETIME = dt.timedelta(minutes=10)
WAIT_TIMEOUT = 30 * 60.0


@dataclass(frozen=True)
class ApiTarget:
    """Where and as whom to call the API (built on the GUI thread, used on worker threads)."""

    base_url: str
    token: str | None

    def __repr__(self) -> str:
        return f"ApiTarget(base_url={self.base_url!r}, token={'set' if self.token else 'unset'})"


@dataclass(frozen=True)
class SignedProduct:
    """A download resource that is ready: its id and signed URL."""

    download_id: str
    signed_url: str


def make_client(target: ApiTarget, feedback: QgsFeedback | None = None) -> px.Client:
    """A core client whose requests go through QGIS's network stack.

    Raises:
        px.ConfigurationError: no token is set (the message says where to set it).
    """
    if not target.token:
        raise px.ConfigurationError(
            "No Pixxel API token is set: enter it in the Pixxel panel's Connection section and press Save."
        )
    return px.Client(api_key=target.token, base_url=target.base_url, transport=QgisTransport(feedback))


def check_connection(target: ApiTarget, feedback: QgsFeedback | None = None) -> int:
    """Ping the API and make one authenticated call; return the number of stores.

    Raises:
        px.PixxelError: unreachable URL, rejected token, ... (clear messages).
    """
    with make_client(target, feedback) as client:
        client.ping()
        return len(client.stores.list())


def search_catalogs(
    target: ApiTarget,
    bbox: Sequence[float],
    start: dt.datetime | None,
    end: dt.datetime | None,
    max_cloud_cover: float | None,
    feedback: QgsFeedback | None = None,
    max_items: int = 500,
) -> list[Any]:
    """Catalogs intersecting ``bbox`` (degrees), taken between ``start`` and ``end``, newest first."""
    query = {"cloudcover": {"lte": float(max_cloud_cover)}} if max_cloud_cover is not None else None
    when = (start, end) if (start or end) else None
    with make_client(target, feedback) as client:
        found = []
        for catalog in client.catalogs.search(
            bbox=list(bbox), datetime=when, query=query, sort_by="-datetime", max_items=max_items
        ):
            found.append(catalog)
            if feedback is not None and feedback.isCanceled():
                break
        return found


def _usable(download: Any) -> bool:
    if not download.signed_url:
        return False
    expires = download.expires_at
    return expires is None or expires - dt.datetime.now(dt.UTC) > MIN_URL_LIFETIME


def signed_url(
    target: ApiTarget,
    catalog_id: str,
    download_id: str | None = None,
    on_event: Callable[[Any], None] | None = None,
    feedback: QgsFeedback | None = None,
) -> SignedProduct:
    """A fresh signed URL for a catalog: reuse ``download_id`` when it still works, else create one.

    Raises:
        px.DownloadFailedError, px.WaitTimeoutError, px.PixxelError.
    """
    with make_client(target, feedback) as client:
        if download_id:
            try:
                existing = client.downloads.get(download_id)
            except px.NotFoundError:
                existing = None
            if existing is not None and _usable(existing):
                return SignedProduct(existing.id, str(existing.signed_url))
        created = client.downloads.create(catalog_ids=[catalog_id])
        ready = client.downloads.wait(created.id, timeout=WAIT_TIMEOUT, on_event=on_event)
        return SignedProduct(ready.id, str(ready.signed_url))


def deliver(
    target: ApiTarget,
    store_id: str,
    catalog_ids: Sequence[str],
    on_event: Callable[[Any], None] | None = None,
    feedback: QgsFeedback | None = None,
) -> list[Any]:
    """Deliver catalogs into a store and wait until every delivery is final; return them."""
    with make_client(target, feedback) as client:
        created = client.deliveries.create(store_id, catalog_ids=list(catalog_ids))
        return client.deliveries.wait([d.delivery_id for d in created], timeout=WAIT_TIMEOUT, on_event=on_event)


def list_stores(target: ApiTarget, feedback: QgsFeedback | None = None) -> list[Any]:
    """The workspace's stores."""
    with make_client(target, feedback) as client:
        return client.stores.list()
