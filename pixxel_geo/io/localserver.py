"""A range server on 127.0.0.1: stable local URLs in front of Pixxel's expiring signed URLs.

Any GDAL (3.6 included), ``curl`` or QGIS reads a product through it by plain HTTP range
requests, and never sees a signed URL:

- ``http://127.0.0.1:<port>/<token>/catalogs/<id>/catalogs.zip`` is the product archive;
- ``http://127.0.0.1:<port>/<token>/catalogs/<id>/<member>`` is one STORED member of it
  (e.g. the image ``.tif``), served from its offset in the archive: GDAL reads it as a
  plain GeoTIFF, with no zip parsing and no ``.zip`` in the path (QGIS 3.20–3.38 rewrite
  such paths).

``<token>`` is random (chosen when the server starts, or given), so other local users and
web pages cannot guess the URLs; ``order_items/<id>`` and ``downloads/<id>`` work like
``catalogs/<id>``. The server answers ``HEAD`` with ``Content-Length`` (GDAL 3.6 otherwise
reads a whole body to learn the size), ``GET`` with ``Range`` (one range: ``206``; several:
``multipart/byteranges``; none: ``200``), and refuses query strings. Behind each URL a
:class:`~pixxel_geo.io.reader.RangeReader` asks the API for a signed URL on first use and
again whenever the file server answers 403 (expired), so a layer or a long
``gdal_translate`` keeps working past the URL's lifetime. Errors are answered with a status
and a short text without URLs; the access log goes to the ``pixxel_geo.io.localserver``
logger at DEBUG level, with the token elided.

This module imports only the standard library, httpx and the core client at module level
(the QGIS plugin ships it).

Example:
    >>> import pixxel_geo as px
    >>> server = px.serve()  # doctest: +SKIP
    >>> path = server.gdal_path(catalog_id, "scene.tif")  # doctest: +SKIP
    >>> subprocess.run(["gdalinfo", path])  # doctest: +SKIP
"""

from __future__ import annotations

import logging
import re
import secrets
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, unquote, urlsplit

from pixxel_geo.api.errors import (
    AuthenticationError,
    BadRequestError,
    InvalidInputError,
    MemberNotFoundError,
    NotFoundError,
    PermissionDeniedError,
    PixxelError,
    SignedURLError,
    TransferError,
)
from pixxel_geo.api.redact import redact_urls
from pixxel_geo.io.reader import RangeReader, URLSource
from pixxel_geo.io.zipindex import (
    LOCAL_HEADER_SIZE,
    ZipFormatError,
    ZipMember,
    local_data_offset,
    read_central_directory,
)

if TYPE_CHECKING:
    import httpx

__all__ = ["ARCHIVE_NAME", "LocalRangeServer", "local_gdal_path", "serve"]

logger = logging.getLogger(__name__)

ARCHIVE_NAME = "catalogs.zip"
"""The archive's file name in local URLs (``…/catalogs/<id>/catalogs.zip``)."""
KINDS = {"catalogs": "catalog", "order_items": "order_item", "downloads": "download"}
"""URL path segment -> the kind of id passed to the resolver."""
CHUNK = 4 * 1024 * 1024
"""Bytes asked of the file server per request when answering a large range."""
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$")
_RANGE = re.compile(r"^\s*(\d*)\s*-\s*(\d*)\s*$")

Resolver = Callable[[str, str], URLSource]
"""``resolver(kind, resource_id)``: a URL source for ``kind`` ``"catalog"``, ``"order_item"`` or ``"download"``."""


class _Unsatisfiable(ValueError):
    pass


def parse_range_header(header: str, size: int) -> list[tuple[int, int]] | None:
    """The ``[start, end)`` ranges of an HTTP ``Range`` header for a file of ``size`` bytes.

    Args:
        header: e.g. ``"bytes=0-99,200-"`` or ``"bytes=-500"``.
        size: the file's size.

    Returns:
        The ranges (cut at the end of the file), or ``None`` when the header is not a
        ``bytes`` range (the whole file is then sent, as RFC 9110 asks).

    Raises:
        ValueError: no range can be satisfied (answer 416).

    >>> parse_range_header("bytes=0-9,-5", 100)
    [(0, 10), (95, 100)]
    """
    unit, sep, spec = header.partition("=")
    if not sep or unit.strip().lower() != "bytes":
        return None
    ranges = []
    for part in spec.split(","):
        match = _RANGE.match(part)
        if not match or not (match.group(1) or match.group(2)):
            return None
        first, last = match.group(1), match.group(2)
        if first:
            start = int(first)
            end = min(int(last) + 1, size) if last else size
            if last and int(last) < start:
                return None
        else:
            start, end = max(size - int(last), 0), size
        if start < size and end > start:
            ranges.append((start, end))
    if not ranges:
        raise _Unsatisfiable(header)
    return ranges


@dataclass
class _Member:
    offset: int
    size: int


class _Product:
    """One archive behind the server: its reader and (on first use) its member index."""

    def __init__(self, reader: RangeReader) -> None:
        self.reader = reader
        self._members: dict[str, ZipMember] | None = None
        self._data: dict[str, _Member] = {}
        self._lock = threading.Lock()

    def size(self) -> int:
        return self.reader.get_size()

    def members(self) -> dict[str, ZipMember]:
        with self._lock:
            if self._members is None:
                self._members = read_central_directory(self.reader)
            return self._members

    def member(self, name: str) -> _Member:
        with self._lock:
            known = self._data.get(name)
        if known is not None:
            return known
        entry = self.members().get(name)
        if entry is None or entry.is_dir:
            raise MemberNotFoundError(
                f"the product has no member {name!r}", member=name, members=list(self._members or {})
            )
        if not entry.is_stored:
            raise TransferError(
                f"member {name!r} is compressed (DEFLATE): read it through the archive URL "
                f"(/vsizip//vsicurl/…/{ARCHIVE_NAME}/{name}) instead"
            )
        header = self.reader.read(entry.header_offset, entry.header_offset + LOCAL_HEADER_SIZE + 1024)
        found = _Member(local_data_offset(entry, header), entry.file_size)
        with self._lock:
            self._data[name] = found
        return found


StacLookup = Callable[[str, str], "dict[str, Any] | None"]
"""``(kind, id) -> STAC item`` (``None`` when there is none)."""


def _default_stac(client: Any | None) -> StacLookup:
    def lookup(kind: str, resource_id: str) -> dict[str, Any] | None:
        if kind != "catalogs":
            return None
        from pixxel_geo.io.session import client_for

        api = client if client is not None and not getattr(client, "closed", False) else client_for(None)
        return dict(api.catalogs.get(resource_id).details) or None

    return lookup


def _band_count(stac: dict[str, Any] | None, header: dict[str, str] | None) -> int | None:
    """The image's band count, from the ENVI header or the STAC item's band lists."""
    from pixxel_geo.api.models import stac_bands, stac_image_asset

    if header and header.get("bands", "").strip().isdigit():
        return int(header["bands"])
    if stac:
        bands = stac_bands(stac)
        if bands:
            return len(bands)
        raster = stac_image_asset(stac).get("raster:bands")
        if isinstance(raster, list) and len(raster) > 1:
            return len(raster)
    return None


class _BytesReader:
    def __init__(self, data: bytes) -> None:
        self.data = data

    def read(self, start: int, end: int) -> bytes:
        return self.data[start:end]

    def read_ranges(self, ranges: list[tuple[int, int]]) -> list[bytes]:
        return [self.data[start:end] for start, end in ranges]


class _Memory:
    """A small file made here (a calibrated VRT), served like a member."""

    def __init__(self, data: bytes) -> None:
        self.reader = _BytesReader(data)


def _default_resolver(client: Any | None) -> Resolver:
    def resolve(kind: str, resource_id: str) -> URLSource:
        from pixxel_geo.io.api_sources import CatalogURLSource, DownloadURLSource, config_of

        config = config_of(client)
        if kind == "download":
            return DownloadURLSource(resource_id, config, client=client)
        return CatalogURLSource(resource_id, config, kind, client=client)

    return resolve


class LocalRangeServer:
    """An HTTP server on 127.0.0.1 serving Pixxel products by range, re-signing as needed.

    Args:
        resolver: gives a :class:`~pixxel_geo.io.reader.URLSource` for ``(kind, id)``
            (default: the core's catalog / order item / download sources on ``client``).
        client: the ``px.Client`` the default resolver asks the API with (default: one
            configured from the environment).
        host: the address to bind (loopback only: ``127.0.0.1`` or ``::1``).
        port: the port (0: a free one).
        token: the URL path prefix (default: 32 random characters); keep it secret.
        transport: an httpx transport for the file server requests (e.g. QGIS's network
            stack); default: the core's shared connection pool.
        stac: gives a catalog's STAC item for ``(kind, id)`` (``None`` when unknown); it
            calibrates the ``<image>.vrt`` served beside each image. Default: asked of the API
            with ``client`` (with a custom ``resolver`` and no ``stac``: none).

    Raises:
        InvalidInputError: ``host`` is not a loopback address, or ``token`` is too short or
            has characters other than letters, digits, ``-`` and ``_``.

    Example:
        >>> with LocalRangeServer(client=client) as server:  # doctest: +SKIP
        ...     print(server.url(catalog_id, "scene.tif"))
        http://127.0.0.1:41234/3k…/catalogs/<id>/scene.tif
    """

    def __init__(
        self,
        resolver: Resolver | None = None,
        *,
        client: Any | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        token: str | None = None,
        transport: httpx.BaseTransport | None = None,
        stac: StacLookup | None = None,
    ) -> None:
        if host not in ("127.0.0.1", "::1", "localhost"):
            raise InvalidInputError(f"the local range server binds loopback only (127.0.0.1), not {host!r}")
        if token is not None and not re.fullmatch(r"[A-Za-z0-9_-]{16,128}", token):
            raise InvalidInputError(
                "the server token must be 16 to 128 letters, digits, '-' or '_' (it is the URLs' secret path)"
            )
        self.resolver = resolver or _default_resolver(client)
        self.stac = stac if stac is not None else (_default_stac(client) if resolver is None else None)
        self.token = token or secrets.token_urlsafe(24)
        self._transport = transport
        self._products: dict[tuple[str, str], _Product] = {}
        self._vrts: dict[tuple[str, str, str], bytes | None] = {}
        self._lock = threading.Lock()
        self._httpd = _Server((host, port), _Handler, self)
        self._thread: threading.Thread | None = None
        self._inflight = 0
        self._idle = threading.Condition()

    # -- life cycle -------------------------------------------------------------------------
    @property
    def port(self) -> int:
        """The port the server listens on."""
        return int(self._httpd.server_address[1])

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:<port>/<token>`` (a local secret: anyone on this machine holding it can read)."""
        host = str(self._httpd.server_address[0])
        host = f"[{host}]" if ":" in host else host
        return f"http://{host}:{self.port}/{self.token}"

    def start(self) -> LocalRangeServer:
        """Serve in a daemon thread (idempotent); return ``self``."""
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._httpd.serve_forever, name="pixxel-local-range-server", daemon=True
            )
            self._thread.start()
        return self

    def serve_forever(self) -> None:
        """Serve in this thread until :meth:`close` is called from another (the CLI)."""
        self._httpd.serve_forever()

    def close(self, timeout: float = 10.0) -> None:
        """Stop serving, wait up to ``timeout`` s for requests being answered, release the port."""
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join(timeout=10)
            self._thread = None
        self._httpd.server_close()
        with self._idle:
            self._idle.wait_for(lambda: self._inflight == 0, timeout=timeout)

    def _track(self, delta: int) -> None:
        with self._idle:
            self._inflight += delta
            if not self._inflight:
                self._idle.notify_all()

    def __enter__(self) -> LocalRangeServer:
        return self.start()

    def __exit__(self, *_: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"LocalRangeServer(port={self.port})"

    # -- URLs -------------------------------------------------------------------------------
    def url(self, resource_id: str, member: str | None = None, *, kind: str = "catalogs") -> str:
        """The local URL of a product's archive (``member=None``) or of one STORED member.

        Args:
            resource_id: a catalog id (or order item / download id with ``kind``).
            member: a member name (``None``: the whole archive, ``catalogs.zip``).
            kind: ``"catalogs"``, ``"order_items"`` or ``"downloads"``.

        Returns:
            ``http://127.0.0.1:<port>/<token>/<kind>/<id>/<member or catalogs.zip>``.

        Raises:
            InvalidInputError: an unknown kind or a malformed id.
        """
        if kind not in KINDS:
            raise InvalidInputError(f"kind must be one of {sorted(KINDS)}, not {kind!r}")
        if not _ID.match(resource_id):
            raise InvalidInputError(f"{resource_id!r} is not a Pixxel id")
        tail = quote(member, safe="/") if member else ARCHIVE_NAME
        return f"{self.base_url}/{kind}/{resource_id}/{tail}"

    def gdal_path(self, resource_id: str, member: str, *, kind: str = "catalogs", stored: bool = True) -> str:
        """The GDAL path of a member through this server (no signature in it).

        Args:
            resource_id: a catalog id (or order item / download id with ``kind``).
            member: the member, e.g. the product's ``.tif``.
            kind: as for :meth:`url`.
            stored: the member is STORED (``/vsicurl/`` on the member URL: the fewest
                requests); ``False``: ``/vsizip//vsicurl/…/catalogs.zip/<member>``.

        Returns:
            A path for ``gdalinfo``, ``gdal_translate``, rasterio, QGIS.

        Example:
            >>> server.gdal_path("cat_1", "a.tif")  # doctest: +SKIP
            '/vsicurl/http://127.0.0.1:41234/…/catalogs/cat_1/a.tif'
        """
        if stored:
            return f"/vsicurl/{self.url(resource_id, member, kind=kind)}"
        return f"/vsizip//vsicurl/{self.url(resource_id, kind=kind)}/{member}"

    def members(self, resource_id: str, *, kind: str = "catalogs") -> dict[str, bool]:
        """The product's members: name -> STORED (readable through a member URL).

        Raises:
            PixxelError: the API or the file server refused (clear message).
        """
        return {m.name: m.is_stored for m in self._product(kind, resource_id).members().values() if not m.is_dir}

    def vrt(self, resource_id: str, member: str, *, kind: str = "catalogs") -> bytes | None:
        """The calibrated VRT served as ``<image stem>.vrt`` beside the image ``member`` (``.tif``).

        It gives GDAL clients (QGIS) the product's scale, offset, nodata and band names with
        wavelengths (:func:`pixxel_geo.io.vrt.product_vrt`), from the catalog's STAC item and
        the product's ENVI header, and refers to the image relatively (no port, no token).

        Returns:
            The VRT, or ``None`` when the product does not say enough (no size or data type).
        """
        key = (kind, resource_id, member)
        with self._lock:
            if key in self._vrts:
                return self._vrts[key]
        data = self._make_vrt(kind, resource_id, member)
        with self._lock:
            self._vrts[key] = data
        return data

    def vrt_name(self, member: str) -> str:
        """The name the calibrated VRT of image ``member`` is served under."""
        stem = member[: -len(".tiff")] if member.lower().endswith(".tiff") else member[: -len(".tif")]
        return stem + ".vrt"

    def _make_vrt(self, kind: str, resource_id: str, member: str) -> bytes | None:
        from pixxel_geo.io.calibration import calibration_from
        from pixxel_geo.io.envi import parse_envi_header
        from pixxel_geo.io.members import products_in
        from pixxel_geo.io.vrt import product_vrt

        product = self._product(kind, resource_id)
        names = [m.name for m in product.members().values() if not m.is_dir]
        files = next((p for p in products_in(names) if p.image == member), None)
        if files is None:
            return None
        header = None
        if files.header:
            found = product.member(files.header)
            text = product.reader.read(found.offset, found.offset + min(found.size, 1 << 20))
            header = parse_envi_header(text.decode("utf-8", errors="replace"))
        stac = None
        if self.stac is not None:
            try:
                stac = self.stac(kind, resource_id)
            except PixxelError as exc:
                logger.info("local range server: no STAC item for the VRT: %s", redact_urls(str(exc)))
        count = _band_count(stac, header)
        if count is None:
            return None
        calibration = calibration_from(
            count=count, stac=stac, header=header, product_name=files.name, image_name=files.image
        )
        xml = product_vrt(files.image, calibration, stac=stac, header=header)
        return xml.encode() if xml is not None else None

    def _product(self, kind: str, resource_id: str) -> _Product:
        key = (kind, resource_id)
        with self._lock:
            product = self._products.get(key)
            if product is None:
                source = self.resolver(KINDS[kind], resource_id)
                product = self._products[key] = _Product(RangeReader(source, transport=self._transport))
            return product


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], handler: type, owner: LocalRangeServer) -> None:
        self.owner = owner
        if ":" in address[0]:
            import socket

            self.address_family = socket.AF_INET6
        super().__init__(address, handler)


def _status_of(exc: BaseException) -> int:
    if isinstance(exc, MemberNotFoundError | NotFoundError | BadRequestError):
        return 404  # no such member, or an id the API does not know
    if isinstance(exc, SignedURLError | AuthenticationError | PermissionDeniedError):
        return 403
    if isinstance(exc, TransferError) and "compressed" in str(exc):
        return 409
    if isinstance(exc, PixxelError | ZipFormatError):
        return 502
    return 500


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"
    server_version = "pixxel-geo-local"
    sys_version = ""

    def log_message(self, format: str, *args: Any) -> None:
        message = format % args
        logger.debug("%s", message.replace(self.server.owner.token, "…"))

    def _plain(self, status: int, text: str, headers: dict[str, str] | None = None) -> None:
        body = (text + "\n").encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _target(self) -> tuple[_Product, int, int, str] | None:
        """(product, offset of the served bytes in the archive, their size, content type) or None (answered)."""
        owner = self.server.owner
        parts = urlsplit(self.path)
        if parts.query or "?" in self.path:
            self._plain(400, "query strings are not accepted: the local URLs carry no signature")
            return None
        segments = parts.path.split("/")
        # "", token, kind, id, member...
        if len(segments) < 5 or not secrets.compare_digest(segments[1], owner.token):
            self._plain(404, "not found")
            return None
        kind, resource_id, member = segments[2], unquote(segments[3]), unquote("/".join(segments[4:]))
        if kind not in KINDS or not _ID.match(resource_id) or not member or ".." in member.split("/"):
            self._plain(404, "not found")
            return None
        product = owner._product(kind, resource_id)
        if member == ARCHIVE_NAME:
            return product, 0, product.size(), "application/zip"
        if member.lower().endswith(".vrt") and member not in product.members():
            image = member[: -len(".vrt")] + ".tif"
            data = owner.vrt(resource_id, image, kind=kind) if image in product.members() else None
            if data is None:
                raise MemberNotFoundError(f"no calibrated VRT for {member!r}", member=member, members=[])
            return _Memory(data), 0, len(data), "application/xml"  # type: ignore[return-value]
        found = product.member(member)
        kind_type = "image/tiff" if member.lower().endswith((".tif", ".tiff")) else "application/octet-stream"
        return product, found.offset, found.size, kind_type

    def _serve(self) -> None:
        try:
            target = self._target()
            if target is None:
                return
            product, offset, size, content_type = target
            header = self.headers.get("Range")
            ranges = parse_range_header(header, size) if header else None
        except _Unsatisfiable:
            self._plain(416, "range not satisfiable", {"Content-Range": f"bytes */{size}"})
            return
        except Exception as exc:
            status = _status_of(exc)
            logger.info("local range server: %s: %s (%d)", type(exc).__name__, redact_urls(str(exc)), status)
            self._plain(status, redact_urls(str(exc)) if isinstance(exc, PixxelError) else "internal error")
            return
        try:
            if ranges is None:
                self._send_whole(product, offset, size, content_type)
            elif len(ranges) == 1:
                self._send_one(product, offset, size, content_type, ranges[0])
            else:
                self._send_multipart(product, offset, size, content_type, ranges)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        except Exception as exc:  # headers already sent: cut the connection, the client sees a short body
            logger.info("local range server: reading failed: %s", redact_urls(str(exc)))
            self.close_connection = True

    def _common_headers(self, content_type: str, length: int) -> None:
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(length))
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("Cache-Control", "no-store")

    def _chunks(self, product: _Product, start: int, end: int) -> Iterator[bytes]:
        for piece in range(start, end, CHUNK):
            yield product.reader.read(piece, min(piece + CHUNK, end))

    def _send_whole(self, product: _Product, offset: int, size: int, content_type: str) -> None:
        first = b"" if self.command == "HEAD" or not size else product.reader.read(offset, offset + min(CHUNK, size))
        self.send_response(200)
        self._common_headers(content_type, size)
        self.end_headers()
        if self.command == "HEAD":
            return
        self.wfile.write(first)
        for data in self._chunks(product, offset + len(first), offset + size):
            self.wfile.write(data)

    def _send_one(self, product: _Product, offset: int, size: int, content_type: str, rng: tuple[int, int]) -> None:
        start, end = rng
        # Read the first piece before answering, so a refused URL becomes a status, not a cut body.
        first = b"" if self.command == "HEAD" else product.reader.read(offset + start, offset + min(end, start + CHUNK))
        self.send_response(206)
        self._common_headers(content_type, end - start)
        self.send_header("Content-Range", f"bytes {start}-{end - 1}/{size}")
        self.end_headers()
        if self.command == "HEAD":
            return
        self.wfile.write(first)
        for data in self._chunks(product, offset + start + len(first), offset + end):
            self.wfile.write(data)

    def _send_multipart(
        self, product: _Product, offset: int, size: int, content_type: str, ranges: list[tuple[int, int]]
    ) -> None:
        boundary = secrets.token_hex(12)
        datas = product.reader.read_ranges([(offset + s, offset + e) for s, e in ranges])
        body = bytearray()
        for (start, end), data in zip(ranges, datas, strict=True):
            body += (
                f"\r\n--{boundary}\r\nContent-Type: {content_type}\r\n"
                f"Content-Range: bytes {start}-{end - 1}/{size}\r\n\r\n"
            ).encode()
            body += data
        body += f"\r\n--{boundary}--\r\n".encode()
        self.send_response(206)
        self._common_headers(f"multipart/byteranges; boundary={boundary}", len(body))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(bytes(body))

    def _tracked(self) -> None:
        owner = self.server.owner
        owner._track(1)
        try:
            self._serve()
        finally:
            owner._track(-1)

    def do_HEAD(self) -> None:
        self._tracked()

    def do_GET(self) -> None:
        self._tracked()


_shared_lock = threading.Lock()
_shared: dict[Any, LocalRangeServer] = {}


def serve(client: Any | None = None, *, port: int = 0) -> LocalRangeServer:
    """The process's local range server for ``client`` (started on first call, then reused).

    Args:
        client: the ``px.Client`` to ask the API with (default: one configured from the
            environment); one server per client configuration.
        port: the port for a server started now (0: a free one).

    Returns:
        A running :class:`LocalRangeServer` (a daemon thread: it stops with the process).

    Example:
        >>> server = serve()  # doctest: +SKIP
        >>> server.gdal_path(catalog_id, "scene.tif")  # doctest: +SKIP
    """
    from pixxel_geo.io.api_sources import config_of

    key = config_of(client)
    with _shared_lock:
        server = _shared.get(key)
        if server is None:
            server = _shared[key] = LocalRangeServer(client=client, port=port).start()
        return server


def local_gdal_path(
    source: Any, member: str | None = None, *, client: Any | None = None, server: LocalRangeServer | None = None
) -> str:
    """Like ``px.gdal_path`` for a signed-URL product, but through the local range server.

    The path holds no signature and does not expire: the server re-signs as needed. It
    suits GDAL command line tools of any version (GDAL 3.6 reads only what it needs instead
    of the whole archive) and anything that prints or stores paths (QGIS projects, logs).
    The server lives as long as this process: for a separate ``gdalinfo``/``gdal_translate``
    run ``pixxel-geo serve`` instead, or keep this process alive. Do not open the path with
    rasterio *in this process*: rasterio holds Python's GIL while its GDAL waits for the
    answer, which this process's server cannot then give (use ``px.open_raster`` here).

    Args:
        source: a catalog id, ``Catalog``, ``Download``, or ``pixxel://catalogs/…`` path.
        member: the member (default: the product's image, as ``px.open_raster`` picks it).
        client: a ``px.Client``.
        server: the server to go through (default: :func:`serve`'s for ``client``).

    Returns:
        ``/vsicurl/http://127.0.0.1:<port>/<token>/catalogs/<id>/<member>`` for a STORED
        member, else ``/vsizip//vsicurl/…/catalogs.zip/<member>``.

    Raises:
        InvalidInputError: the source is a plain signed URL or a store delivery (nothing to
            re-sign it with: use ``px.gdal_path``).
        MemberNotFoundError: no such member.

    Example:
        >>> path = local_gdal_path(catalog_id)  # doctest: +SKIP
        >>> subprocess.run(["gdal_translate", "-outsize", "1024", "0", path, "quicklook.tif"])  # doctest: +SKIP
    """
    from pixxel_geo.io.api_sources import CatalogURLSource, DownloadURLSource
    from pixxel_geo.io.raster import default_raster_member
    from pixxel_geo.io.resolve import resolve_source

    resolved = resolve_source(source, client)
    url_source = resolved.archive.reader.source
    if isinstance(url_source, CatalogURLSource):
        kind, resource_id = ("catalogs" if url_source.kind == "catalog" else "order_items"), url_source.resource_id
    elif isinstance(url_source, DownloadURLSource):
        kind, resource_id = "downloads", url_source.download_id
    else:
        raise InvalidInputError(
            "the local range server serves products it can re-sign: pass a catalog id, Catalog, Download or "
            "pixxel://catalogs/… path (for a plain signed URL or a store delivery use px.gdal_path)"
        )
    name = member or resolved.member or default_raster_member(resolved.archive)
    stored = resolved.archive.member(name).is_stored
    return (server or serve(client)).gdal_path(resource_id, name, kind=kind, stored=stored)
