"""Download resources: asynchronous signed URLs for delivered imagery."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from pixxel_geo.api._answers import expect_resource, malformed
from pixxel_geo.api._creating import create_once
from pixxel_geo.api._steps import Operation
from pixxel_geo.api._waiting import PollSchedule, check_wait_timeout, wait_until_final
from pixxel_geo.api.errors import DownloadFailedError, PixxelError, WaitTimeoutError
from pixxel_geo.api.events import EventCallback
from pixxel_geo.api.facade import Facade, awaitable
from pixxel_geo.api.models import Download
from pixxel_geo.api.validate import check_callback, check_id, exactly_one_id_list, path_segment

if TYPE_CHECKING:
    from pixxel_geo.api._base import BaseClient

__all__ = ["AsyncDownloads", "DownloadOperations", "Downloads"]

DEFAULT_WAIT_TIMEOUT = 1800.0


class DownloadOperations:
    """The download endpoints, written once."""

    def __init__(self, base: BaseClient, schedule: PollSchedule | None = None) -> None:
        self._base = base
        self._schedule = schedule or base._poll_schedule

    def create(self, catalog_ids: Sequence[str] | None, order_item_ids: Sequence[str] | None) -> Operation[Download]:
        catalogs, items = exactly_one_id_list(catalog_ids, order_item_ids)

        def send() -> Operation[Download]:
            body = {"catalog_ids": catalogs, "order_item_ids": items}
            answer = yield from self._base.request("POST", "/v0/catalogs/download", json_body=body, idempotent=False)
            return Download.from_api(expect_resource(answer, "POST /v0/catalogs/download", "download resource"))

        # Download resources cannot be listed, so a lost answer cannot be recovered (find=None);
        # re-sending could create a second one. Say so instead.
        return (yield from create_once(send, None, self._base.config.retry, _unrecoverable))

    def get(self, download_id: str, deadline: float | None = None) -> Operation[Download]:
        path = f"/v0/catalogs/download/{path_segment(download_id, 'download_id')}"
        return self._base.get_resource(path, Download.from_api, "download resource", deadline=deadline)

    def wait(self, download_id: str, timeout: float | None, on_event: EventCallback | None) -> Operation[Download]:
        download_id = check_id(download_id, "download_id")
        path_segment(download_id, "download_id")  # refuse a bad id before the first event
        timeout = check_wait_timeout(timeout)
        check_callback(on_event)

        def poll(pending: list[str], deadline: float | None) -> Operation[dict[str, Download]]:
            download = yield from self.get(download_id, deadline)
            # Only a known SUCCESS with a URL is ready: an unknown status never counts as success.
            url = download.signed_url if download.status.is_success else None
            if url and not url.startswith(("https://", "http://")):
                where = f"GET /v0/catalogs/download/{download_id}"
                raise malformed(where, "status success and a signed_url that is not an http(s) URL")
            return {download_id: download}

        def timed_out(last: dict[str, Download], cause: str) -> WaitTimeoutError:
            status = str(last[download_id].status) if download_id in last else "unknown"
            return WaitTimeoutError(
                f"Download {download_id} has no signed URL after {timeout or 0:g} s (status {status}).{cause} "
                "Wait longer (timeout=) or check it later with downloads.get().",
                resources={download_id: status},
            )

        latest = yield from wait_until_final(
            [download_id],
            poll,
            done=lambda d: d.status.is_failure or d.ready,
            schedule=self._schedule,
            timeout=timeout,
            on_event=on_event,
            timed_out=timed_out,
            finished_detail=lambda d: "signed URL ready",
        )
        download = latest[download_id]
        if download.status.is_failure:
            raise DownloadFailedError(
                f"Download {download_id} failed. Create a new download resource; if it fails "
                "again, contact Pixxel support with this id.",
                resource_id=download_id,
            )
        return download


def _unrecoverable(error: PixxelError) -> PixxelError:
    """A create whose answer was lost, for a resource the API cannot list."""
    error.message = (
        f"{error.message} The download resource may have been created, but the API "
        "offers no way to find it, so the request was not sent again. Creating another "
        "is safe; the first, if any, is simply unused."
    )
    error.args = (error.message,)
    return error


class Downloads(Facade):
    """``client.downloads``: create download resources and wait for their signed URL.

    Example:
        >>> download = client.downloads.create(catalog_ids=[catalog.id])  # doctest: +SKIP
        >>> download = client.downloads.wait(download.id)  # doctest: +SKIP
        >>> download.expires_at  # doctest: +SKIP
    """

    operations = DownloadOperations

    def create(self, catalog_ids: Sequence[str] | None = None, order_item_ids: Sequence[str] | None = None) -> Download:
        """Ask for a download resource for catalogs or order items (exactly one of the two).

        Raises:
            InvalidInputError: both or neither id lists (before any request).
        """
        return self._client._run(self._ops.create(catalog_ids, order_item_ids))

    def get(self, download_id: str) -> Download:
        """The download resource's current state; re-read it for a fresh signed URL.

        Args:
            download_id: the id :meth:`create` returned.

        Returns:
            The :class:`Download` (``signed_url`` set once it succeeded).

        Raises:
            NotFoundError: no such download resource.

        Example:
            >>> client.downloads.get(download.id).expires_at  # doctest: +SKIP
        """
        return self._client._run(self._ops.get(download_id))

    def wait(
        self,
        download_id: str,
        timeout: float | None = DEFAULT_WAIT_TIMEOUT,
        on_event: EventCallback | None = None,
    ) -> Download:
        """Poll until the signed URL is set; return the ready download.

        ``timeout`` counts from the call, retries of a failing poll included;
        ``None`` waits without a limit. Events as for :meth:`Deliveries.wait`
        (``Finished`` once the signed URL is there).

        Raises:
            DownloadFailedError: the resource ended failed.
            WaitTimeoutError: ``timeout`` seconds passed first.
            InvalidInputError: a bad id or a negative timeout (before any request).
        """
        return self._client._run(self._ops.wait(download_id, timeout, on_event))


class AsyncDownloads(Facade):
    """``async_client.downloads``: :class:`Downloads`, awaited (``create``, ``get``, ``wait``)."""

    operations = DownloadOperations
    create = awaitable(Downloads.create)
    get = awaitable(Downloads.get)
    wait = awaitable(Downloads.wait)
