"""Signed URLs from the Pixxel API: a catalog's (or order item's) download resource, or a Download's.

:class:`CatalogURLSource` and :class:`DownloadURLSource` are the
:class:`~pixxel_geo.io.reader.URLSource` of products opened through the API. They pickle as ids
plus the client's :class:`~pixxel_geo.ClientConfig` (and, for a catalog, the id of the download
resource already made for it) and their :class:`~pixxel_geo.io.session.IOSession`; a dask worker
that unpickles one asks the API for its own URL of that same download. In the process that made
it, a source asks the API with the caller's own ``px.Client`` (its transport: QGIS's network, a
proxy, a mock; its poll schedule) as long as that client is open. The download id made for a
catalog is kept in the session, so every reader of that catalog shares one download.

Example:
    >>> source = CatalogURLSource("cat_123", client.config, client=client)  # doctest: +SKIP
    >>> source.signed_url()  # doctest: +SKIP
"""

from __future__ import annotations

import hashlib
import time
from typing import TYPE_CHECKING, Any

from pixxel_geo.api.errors import InvalidInputError, SignedURLError
from pixxel_geo.io.session import IOSession, client_for, default_session

if TYPE_CHECKING:
    from pixxel_geo.api.config import ClientConfig

__all__ = ["CatalogURLSource", "DownloadURLSource", "client_for", "config_of", "wait_new_download"]

DOWNLOAD_WAIT_SECONDS = 600.0

FRESH_POLL_SECONDS = 0.05
"""Pause before the first poll of a download this process just created; each next pause is twice
as long until it reaches the client's own first interval (``PollSchedule.first``, 1 s by default),
from where the client's schedule takes over. A download is often ready well within a second."""

_sleep = time.sleep


def _ready(download: Any) -> bool:
    url = download.signed_url
    return bool(download.status.is_success and url and url.startswith(("https://", "http://")))


def wait_new_download(client: Any, download: Any) -> Any:
    """Wait for a download resource just created: polled soon at first, then on the client's schedule.

    Args:
        client: the ``px.Client`` that created it.
        download: the ``Download`` that ``client.downloads.create`` returned.

    Returns:
        The ready ``Download`` (status success, with its signed URL).

    Raises:
        DownloadFailedError: the resource ended failed.
        WaitTimeoutError: no signed URL after :data:`DOWNLOAD_WAIT_SECONDS`.

    Example:
        >>> ready = wait_new_download(client, client.downloads.create(catalog_ids=[cid]))  # doctest: +SKIP
    """
    first = getattr(getattr(client, "_poll_schedule", None), "first", 1.0)
    pause = FRESH_POLL_SECONDS
    while pause < first and not _ready(download) and not download.status.is_failure:
        _sleep(pause)
        download = client.downloads.get(download.id)
        pause *= 2
    if _ready(download):
        return download
    # Failed, unknown, or still preparing: the client's wait says so, or waits on its own schedule.
    return client.downloads.wait(download.id, timeout=DOWNLOAD_WAIT_SECONDS)


def _account_tag(config: ClientConfig) -> str:
    """A short fingerprint of the config's API key (never the key), for cache keys.

    Sources, their archives and the download resources made for them are shared per
    API and *account*: another key (e.g. one set after a call without any) never
    reuses what an earlier one made or could not make.
    """
    if not config.api_key:
        return "nokey"
    return hashlib.sha256(config.api_key.encode()).hexdigest()[:8]


def _is_open(client: Any) -> bool:
    return not getattr(client, "closed", False)


def config_of(client: Any | None) -> ClientConfig:
    from pixxel_geo.api.config import resolve_config

    return client.config if client is not None else resolve_config()


class _ClientMixin:
    """The API client a source asks with (the caller's while it is open, else a shared one),
    and equality by the source's ``key``."""

    config: ClientConfig
    client: Any
    session: IOSession

    @property
    def key(self) -> str:
        raise NotImplementedError

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and other.key == self.key

    def __hash__(self) -> int:
        return hash(self.key)

    def _api(self) -> Any:
        client = self.client
        if client is not None and _is_open(client):
            return client
        return self.session.client(self.config)


class DownloadURLSource(_ClientMixin):
    """Signed URLs of one download resource, re-read from the API when asked.

    Args:
        download_id: the download resource's id.
        config: the client configuration to ask the API with (pickled, no live client).
        signed_url: a URL already known (used first; not pickled).
        client: the ``px.Client`` to ask with while it is open (not pickled; default:
            the session's client for ``config``).
        session: where the URL is kept (default: the process's session).
    """

    def __init__(
        self, download_id: str, config: ClientConfig, signed_url: str | None = None, client: Any | None = None,
        session: IOSession | None = None,
    ) -> None:  # fmt: skip
        self.download_id = download_id
        self.config = config
        self.client = client
        self.session = session or default_session()
        if signed_url:
            self.session.urls.setdefault(self.key, signed_url)

    def __getstate__(self) -> dict[str, Any]:
        return {"download_id": self.download_id, "config": self.config, "session": self.session}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.download_id = state["download_id"]
        self.config = state["config"]
        self.client = None
        self.session = state.get("session") or default_session()

    @property
    def key(self) -> str:
        return f"download:{self.config.base_url}:{_account_tag(self.config)}:{self.download_id}"

    def signed_url(self, fresh: bool = False) -> str:
        """The download's signed URL; ``fresh=True`` asks the API again."""
        if not fresh:
            known = self.session.urls.get(self.key)
            if known:
                return known
        client = self._api()
        download = client.downloads.get(self.download_id)
        if not download.signed_url:
            download = client.downloads.wait(self.download_id, timeout=DOWNLOAD_WAIT_SECONDS)
        if not download.signed_url:
            raise SignedURLError(f"download {self.download_id} has no signed URL")
        self.session.urls.put(self.key, download.signed_url)
        return str(download.signed_url)

    def __repr__(self) -> str:
        return f"DownloadURLSource({self.download_id!r})"


class CatalogURLSource(_ClientMixin):
    """Signed URLs for a catalog (or order item): one download resource made per session (per process by default).

    Args:
        resource_id: the catalog id (or order item id).
        config: the client configuration.
        kind: ``"catalog"`` or ``"order_item"``.
        client: the ``px.Client`` to ask with while it is open (not pickled; default:
            the session's client for ``config``).
        session: where the download id is kept (default: the process's session).
    """

    def __init__(
        self, resource_id: str, config: ClientConfig, kind: str = "catalog", client: Any | None = None,
        session: IOSession | None = None,
    ) -> None:  # fmt: skip
        if kind not in ("catalog", "order_item"):
            raise InvalidInputError(f"kind must be 'catalog' or 'order_item', not {kind!r}")
        self.resource_id = resource_id
        self.config = config
        self.kind = kind
        self.client = client
        self.session = session or default_session()

    def __getstate__(self) -> dict[str, Any]:
        state: dict[str, Any] = {
            "resource_id": self.resource_id, "config": self.config, "kind": self.kind, "session": self.session,
        }  # fmt: skip
        known = self.session.download_ids.get(self._cache_key)
        if known:
            # The download this process made travels with the source: a dask worker that
            # unpickles it re-signs with GET /v0/catalogs/download/{id}, never a new POST.
            state["download_id"] = known
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        state = dict(state)
        download_id = state.pop("download_id", None)
        self.__init__(**state)  # type: ignore[misc]  # no client: a new process uses its own
        if download_id:
            self.session.download_ids.setdefault(self._cache_key, download_id)

    @property
    def key(self) -> str:
        return f"{self.kind}:{self.config.base_url}:{_account_tag(self.config)}:{self.resource_id}"

    @property
    def _cache_key(self) -> tuple[str, str, str, str]:
        return (self.config.base_url, _account_tag(self.config), self.kind, self.resource_id)

    def download_id(self) -> str:
        """The download resource serving this catalog (created on first use in the process).

        Concurrent first calls for one catalog create a single download: the others wait
        for it (one lock per catalog, so other catalogs are not held up). A source
        unpickled in another process (a dask worker) reuses the download its sender made.
        """
        cache_key = self._cache_key
        known = self.session.download_ids.get(cache_key)
        if known:
            return known
        key_lock = self.session.key_lock(cache_key)
        with key_lock:
            known = self.session.download_ids.get(cache_key)
            if known:
                return known
            client = self._api()
            if self.kind == "catalog":
                download = client.downloads.create(catalog_ids=[self.resource_id])
            else:
                download = client.downloads.create(order_item_ids=[self.resource_id])
            download = wait_new_download(client, download)
            self.session.download_ids.put(cache_key, download.id)
            if download.signed_url:
                self.session.urls.put(DownloadURLSource(download.id, self.config).key, download.signed_url)
            return str(download.id)

    def signed_url(self, fresh: bool = False) -> str:
        """The catalog's current signed URL; ``fresh=True`` asks the API again."""
        url_source = DownloadURLSource(self.download_id(), self.config, client=self.client, session=self.session)
        return url_source.signed_url(fresh=fresh)

    def __repr__(self) -> str:
        return f"CatalogURLSource({self.kind}={self.resource_id!r})"
