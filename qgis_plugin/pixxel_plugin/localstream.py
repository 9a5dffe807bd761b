"""Streamed layers through the core's local range server (``pixxel_geo.io.localserver``, vendored).

The plugin runs one :class:`LocalRangeServer` on 127.0.0.1 (a free port, a random path
token) while it is loaded. A streamed layer's source is
``/vsicurl/http://127.0.0.1:<port>/<token>/catalogs/<catalog id>/<member>``:

- GDAL (3.6 included) learns the size from ``HEAD`` and reads only the tiles it draws;
- GDAL never sees a signed URL, so none reaches stderr, QGIS's log or a project file;
- the server asks the API for a signed URL on first use and again when the file server
  answers 403 (expired): layers keep rendering past the URL's lifetime;
- the source has no ``.zip`` in it (QGIS 3.20–3.38 rewrite such paths).

Projects: a path writer stores ``http://127.0.0.1:0/pixxel-local/…`` instead of the session's
port and token, and a path preprocessor maps it (or any earlier session's URL) to the current
server when a project is read, so saved layers open in a new QGIS session without a stored
signature. All API calls go through QGIS's network stack (:class:`QgisTransport`); the range
requests to the file server use the core's httpx pool (standard proxy environment variables
apply), because QGIS's network manager logs failed requests with their full URL.
"""

from __future__ import annotations

import hashlib
import re
import threading
from collections.abc import Callable
from typing import Any

from qgis.core import QgsPathResolver

from ._vendor import pixxel_geo as px
from ._vendor.pixxel_geo.io import localserver, reader
from .service import ApiTarget, make_client

__all__ = ["SAVED_BASE", "PluginURLSource", "StreamServer", "is_local_source", "saved_form"]

SAVED_BASE = "http://127.0.0.1:0/pixxel-local"
"""What a project stores instead of the session's ``http://127.0.0.1:<port>/<token>``."""
_LOCAL = re.compile(r"http://127\.0\.0\.1:\d+/(?:[A-Za-z0-9_-]{16,128}|pixxel-local)/(catalogs|order_items|downloads)/")


class PluginURLSource:
    """Signed URLs of one catalog, asked of the API through QGIS's network stack.

    Reuses the download resource the layer was made with (``download_id``) when it still
    exists: ``GET /v0/catalogs/download/{id}`` hands out a fresh URL; otherwise creates one.

    Args:
        target: gives the API URL and token (read on the GUI thread, cached by the plugin).
        catalog_id: the catalog.
        download_id: a download resource of it, if known.
        on_download: called with the download id in use (to keep it on the layer).
    """

    def __init__(
        self,
        target: Callable[[], ApiTarget],
        catalog_id: str,
        download_id: str | None = None,
        on_download: Callable[[str, str], None] | None = None,
    ) -> None:
        self._target = target
        self.catalog_id = catalog_id
        self.download_id = download_id
        self._on_download = on_download
        self._url: str | None = None
        self._lock = threading.Lock()

    @property
    def key(self) -> str:
        return "qgis-catalog:" + hashlib.sha256(self.catalog_id.encode()).hexdigest()[:32]

    def signed_url(self, fresh: bool = False) -> str:
        with self._lock:
            if self._url and not fresh:
                return self._url
            with make_client(self._target()) as client:  # QgisTransport
                download = None
                if self.download_id:
                    try:
                        download = client.downloads.get(self.download_id)
                    except px.NotFoundError:
                        download = None
                if download is None or not download.signed_url:
                    created = client.downloads.create(catalog_ids=[self.catalog_id])
                    download = client.downloads.wait(created.id, timeout=30 * 60.0)
                if not download.signed_url:
                    raise px.SignedURLError(f"download {download.id} has no signed URL")
                self.download_id = str(download.id)
                self._url = str(download.signed_url)
            if self._on_download is not None:
                self._on_download(self.catalog_id, self.download_id)
            return self._url

    def __repr__(self) -> str:
        return f"PluginURLSource({self.catalog_id!r})"


class StreamServer:
    """The plugin's local range server, its URL sources and the project path hooks.

    Args:
        target: gives the current API target (the dock caches it on the GUI thread).
    """

    def __init__(self, target: Callable[[], ApiTarget]) -> None:
        self._target = target
        self._download_ids: dict[str, str] = {}
        self._sources: dict[str, PluginURLSource] = {}
        self._lock = threading.Lock()
        # API calls go through QGIS's network stack (PluginURLSource); the file server's ranges do
        # not: QGIS logs every failed request's full URL (signature included) in its message log.
        self.server = localserver.LocalRangeServer(self._resolve, stac=self._stac).start()
        self._preprocessor = QgsPathResolver.setPathPreprocessor(self.current_form)
        self._writer = QgsPathResolver.setPathWriter(saved_form)

    def close(self) -> None:
        """Stop serving and remove the project path hooks."""
        QgsPathResolver.removePathPreprocessor(self._preprocessor)
        QgsPathResolver.removePathWriter(self._writer)
        self.server.close()
        reader._close_shared_pools()  # the range reader's connections, before the plugin's modules go

    def remember_download(self, catalog_id: str, download_id: str) -> None:
        """Reuse ``download_id`` for ``catalog_id`` (e.g. from a saved layer)."""
        with self._lock:
            self._download_ids[catalog_id] = download_id

    def download_id(self, catalog_id: str) -> str | None:
        """The download resource serving ``catalog_id`` (once it was used)."""
        with self._lock:
            source = self._sources.get(catalog_id)
            return (source.download_id if source else None) or self._download_ids.get(catalog_id)

    def _resolve(self, kind: str, resource_id: str) -> PluginURLSource:
        if kind != "catalog":
            raise px.InvalidInputError("the plugin streams catalogs only")
        with self._lock:
            source = self._sources.get(resource_id)
            if source is None:
                source = self._sources[resource_id] = PluginURLSource(
                    self._target, resource_id, self._download_ids.get(resource_id), self.remember_download
                )
            return source

    def _stac(self, kind: str, resource_id: str) -> dict[str, Any] | None:
        """The catalog's STAC item, asked of the API through QGIS's network stack (calibrates the VRT)."""
        if kind != "catalogs":
            return None
        with make_client(self._target()) as client:
            return dict(client.catalogs.get(resource_id).details) or None

    def uri(self, catalog_id: str, member: str, *, calibrated: bool = False) -> str:
        """The layer source for a STORED member of the catalog's product.

        With ``calibrated``, the server's VRT beside the image: the layer gets the product's
        scale and offset (reflectance = DN / 50000), nodata, and band names with wavelengths.
        """
        if calibrated:
            member = self.server.vrt_name(member)
        return self.server.gdal_path(catalog_id, member)

    def calibrated(self, catalog_id: str, member: str) -> bool:
        """Whether the server can give the image a calibrated VRT (asks the API once per product)."""
        try:
            return self.server.vrt(catalog_id, member) is not None
        except px.PixxelError:
            return False

    def stored(self, catalog_id: str, member: str) -> bool:
        """Whether ``member`` is STORED (asks the API and reads the zip directory on first use).

        Raises:
            px.PixxelError: the product could not be reached; px.MemberNotFoundError: no such member.
        """
        members = self.server.members(catalog_id)
        if member not in members:
            raise px.MemberNotFoundError(
                f"the product has no member {member!r}", member=member, members=sorted(members)
            )
        return members[member]

    def current_form(self, path: str) -> str:
        """Map a saved (or earlier session's) local URL in ``path`` to this session's server."""
        return _LOCAL.sub(lambda m: f"{self.server.base_url}/{m.group(1)}/", path)


def saved_form(path: str) -> str:
    """``path`` with the session's port and token replaced by :data:`SAVED_BASE` (for project files)."""
    return _LOCAL.sub(lambda m: f"{SAVED_BASE}/{m.group(1)}/", path)


def is_local_source(source: str) -> bool:
    """Whether a layer source reads through a plugin local server (this session's or another's)."""
    return bool(_LOCAL.search(source))
