"""Any source a user holds, made readable: one :class:`~pixxel_geo.io.archive.ResolvedSource`.

The one place that knows every kind of source, and the bottom of the modules that read
products (``filesystem``, ``product``, ``raster``, ``dataset``, ``vector``, ``quicklook``,
``stack`` all resolve through :func:`resolve_source`):

- a catalog id, a ``Catalog`` or an ``OrderItem``: a download resource made once per
  session (:class:`~pixxel_geo.io.api_sources.CatalogURLSource`);
- a ``Download``: its signed URL, re-read from the API when it expires;
- a signed ``http(s)://`` URL: read as is (it cannot be re-signed);
- a ``Delivery`` or a :class:`~pixxel_geo.io.stores.DeliverySource`: the zip in the user's
  bucket, read through s3fs / gcsfs / adlfs (:mod:`pixxel_geo.io.stores`);
- a ``pixxel://<kind>/<id>/<member>`` path: one of :data:`PATH_KINDS`;
- a :class:`~pixxel_geo.io.reader.URLSource`, a ``ZipArchive`` or a ``ResolvedSource``.

Dispatch is by type (:func:`functools.singledispatch` on the API's models); the kinds of
``pixxel://`` path are a read-only table written here. Nothing registers itself elsewhere.

Example:
    >>> resolved = resolve_source("cat_123")  # doctest: +SKIP
    >>> resolved.archive.names()  # doctest: +SKIP
    >>> parse_pixxel_path("pixxel://catalogs/c1/a.tif")
    PixxelPath(kind='catalogs', resource_id='c1', member='a.tif')
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import singledispatch
from types import MappingProxyType
from typing import Any

from pixxel_geo.api.errors import InvalidInputError
from pixxel_geo.api.models import Catalog, Delivery, Download, OrderItem
from pixxel_geo.io.api_sources import CatalogURLSource, DownloadURLSource, config_of
from pixxel_geo.io.archive import ResolvedSource, ZipArchive, archive_for
from pixxel_geo.io.reader import StaticURLSource, URLSource
from pixxel_geo.io.session import IOSession, default_session
from pixxel_geo.io.stores import DeliverySource, resolve_delivery

__all__ = [
    "PATH_KINDS",
    "PixxelPath",
    "ResolvedSource",
    "parse_pixxel_path",
    "path_archive",
    "resolve_source",
    "strip_protocol",
]

PathResolver = Callable[[str, Any, "dict[str, Any] | None", IOSession], ZipArchive]
"""``resolver(resource_id, client, store_options, session) -> ZipArchive`` for one kind of path."""


@dataclass(frozen=True)
class PixxelPath:
    """A ``pixxel://`` path, taken apart."""

    kind: str
    """``catalogs``, ``order-items``, ``deliveries``, … or ``""`` for the root."""
    resource_id: str | None = None
    member: str | None = None
    """The member (or folder inside the archive) below the resource, if any."""

    @property
    def product_root(self) -> str:
        """The path of the product folder: ``<kind>/<resource_id>``."""
        return f"{self.kind}/{self.resource_id}"


def _catalog_archive(resource_id: str, client: Any, store_options: Any, session: IOSession) -> ZipArchive:
    return archive_for(CatalogURLSource(resource_id, config_of(client), client=client, session=session), session)


def _order_item_archive(resource_id: str, client: Any, store_options: Any, session: IOSession) -> ZipArchive:
    source = CatalogURLSource(resource_id, config_of(client), kind="order_item", client=client, session=session)
    return archive_for(source, session)


def _delivery_archive(resource_id: str, client: Any, store_options: Any, session: IOSession) -> ZipArchive:
    return resolve_delivery(resource_id, client, store_options, session).archive


PATH_KINDS: Mapping[str, PathResolver] = MappingProxyType(
    {"catalogs": _catalog_archive, "order-items": _order_item_archive, "deliveries": _delivery_archive}
)
"""The top-level folders of ``pixxel://`` and how each resolves (read-only)."""


def strip_protocol(path: str) -> str:
    """``pixxel://catalogs/x/`` (or ``pixxel:catalogs/x``) → ``catalogs/x``."""
    path = str(path)
    if path.startswith("pixxel://"):
        path = path[len("pixxel://") :]
    elif path.startswith("pixxel:"):
        path = path[len("pixxel:") :]
    return path.strip("/")


def parse_pixxel_path(path: str, kinds: Iterable[str] = PATH_KINDS) -> PixxelPath:
    """Take a ``pixxel://`` path apart.

    Args:
        path: e.g. ``pixxel://catalogs/<id>/<member>`` (protocol optional).
        kinds: the top-level folders allowed (default: :data:`PATH_KINDS`).

    Returns:
        The parts, as a :class:`PixxelPath`.

    Raises:
        FileNotFoundError: the top-level folder is not one of ``kinds``.

    Example:
        >>> parse_pixxel_path("pixxel://order-items/o1/")
        PixxelPath(kind='order-items', resource_id='o1', member=None)
    """
    parts = strip_protocol(path).split("/", 2)
    if parts == [""]:
        return PixxelPath("")
    known = sorted(kinds)
    if parts[0] not in known:
        raise FileNotFoundError(
            f"pixxel://{'/'.join(parts)}: unknown folder {parts[0]!r}; paths start with one of: {', '.join(known)}"
        )
    resource_id = parts[1] if len(parts) > 1 and parts[1] else None
    member = parts[2] if len(parts) > 2 and parts[2] else None
    return PixxelPath(parts[0], resource_id, member)


def path_archive(
    path: PixxelPath,
    client: Any | None = None,
    *,
    store_options: dict[str, Any] | None = None,
    session: IOSession | None = None,
) -> ZipArchive:
    """The product archive a ``pixxel://`` path points into (shared per session).

    Args:
        path: a parsed path (:func:`parse_pixxel_path`).
        client: a ``px.Client`` to ask the API with (default: the session's, from the environment).
        store_options: ``storage_options`` for a delivery's bucket.
        session: whose caches (default: the process's session).

    Returns:
        The archive.

    Raises:
        IsADirectoryError: the path is a folder of products (no resource id).
        FileNotFoundError: an unknown top-level folder.

    Example:
        >>> path_archive(parse_pixxel_path("pixxel://catalogs/cat_123/")).names()  # doctest: +SKIP
    """
    if path.resource_id is None:
        raise IsADirectoryError(f"pixxel://{path.kind} is a folder of products")
    resolver = PATH_KINDS.get(path.kind)
    if resolver is None:
        raise FileNotFoundError(
            f"pixxel://{path.kind}: unknown folder; paths start with one of: {', '.join(PATH_KINDS)}"
        )
    return resolver(path.resource_id, client, store_options, session or default_session())


def resolve_source(source: Any, client: Any | None = None, *, session: IOSession | None = None) -> ResolvedSource:
    """Turn a source into a readable product archive.

    Args:
        source: a catalog id, a ``Catalog``, an ``OrderItem``, a ``Download``, a ``Delivery``, a
            :class:`~pixxel_geo.io.stores.DeliverySource`, a signed ``http(s)://`` URL, a
            ``pixxel://`` path, a :class:`~pixxel_geo.io.reader.URLSource`, a ``ZipArchive`` or a
            :class:`ResolvedSource`.
        client: a ``px.Client`` to ask the API with (default: the session's, from the environment).
        session: whose caches and pools (default: the process's
            :func:`~pixxel_geo.io.session.default_session`).

    Returns:
        The archive (shared per session), the member named by the source (if any) and the
        catalog id (when known).

    Raises:
        InvalidInputError: the source is of no known kind.

    Example:
        >>> resolve_source("pixxel://catalogs/cat_123/scene.tif").member  # doctest: +SKIP
        'scene.tif'
    """
    return _resolve(source, client, session or default_session())


@singledispatch
def _resolve(source: Any, client: Any | None, session: IOSession) -> ResolvedSource:
    # URLSource is a Protocol with a property: isinstance works, singledispatch cannot register it.
    if isinstance(source, URLSource):
        return ResolvedSource(archive_for(source, session))
    raise InvalidInputError(
        f"cannot read from a {type(source).__name__}: pass a catalog id, a Catalog, a Download, a Delivery, "
        "a signed URL or a pixxel:// path"
    )


@_resolve.register(ResolvedSource)
def _resolved(source: ResolvedSource, client: Any | None, session: IOSession) -> ResolvedSource:
    return source


@_resolve.register(ZipArchive)
def _archive(source: ZipArchive, client: Any | None, session: IOSession) -> ResolvedSource:
    return ResolvedSource(source)


@_resolve.register(str)
def _text(source: str, client: Any | None, session: IOSession) -> ResolvedSource:
    if source.startswith("pixxel:"):
        path = parse_pixxel_path(source)
        catalog_id = path.resource_id if path.kind == "catalogs" else None
        return ResolvedSource(path_archive(path, client, session=session), path.member, catalog_id)
    if source.startswith(("http://", "https://")):
        return ResolvedSource(archive_for(StaticURLSource(source), session))
    if not source or "/" in source or source.strip() != source:
        raise InvalidInputError(f"{source!r} is not a catalog id, an http(s) URL or a pixxel:// path")
    return ResolvedSource(_catalog_archive(source, client, None, session), catalog_id=source)


@_resolve.register(Catalog)
def _catalog(source: Catalog, client: Any | None, session: IOSession) -> ResolvedSource:
    return ResolvedSource(_catalog_archive(source.id, client, None, session), catalog_id=source.id)


@_resolve.register(OrderItem)
def _order_item(source: OrderItem, client: Any | None, session: IOSession) -> ResolvedSource:
    return ResolvedSource(_order_item_archive(source.id, client, None, session))


@_resolve.register(Download)
def _download(source: Download, client: Any | None, session: IOSession) -> ResolvedSource:
    url_source = DownloadURLSource(source.id, config_of(client), source.signed_url, client=client, session=session)
    return ResolvedSource(archive_for(url_source, session))


@_resolve.register(Delivery)
@_resolve.register(DeliverySource)
def _delivery(source: Delivery | DeliverySource, client: Any | None, session: IOSession) -> ResolvedSource:
    return resolve_delivery(source, client, session=session)
