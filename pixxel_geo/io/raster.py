"""Open a product's raster with rasterio, reading through the range reader.

``open_raster`` hands rasterio an opener (:class:`ProductOpener`, a
``rasterio.abc.MultiByteRangeResourceContainer``): GDAL gives it all byte ranges
of one read at once, the range reader fetches them in parallel and re-signs the
URL when it expires. ``gdal_path`` gives a plain GDAL path for GDAL-only tools.

Example:
    >>> import pixxel_geo as px
    >>> with px.open_raster("cat_123") as src:  # doctest: +SKIP
    ...     chip = src.read([10, 50, 90], window=((0, 512), (0, 512)))
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from rasterio.abc import FileContainer, MultiByteRangeResourceContainer

from pixxel_geo.api.errors import InvalidInputError, PixxelError
from pixxel_geo.io.archive import ZipArchive
from pixxel_geo.io.gdal_options import STORE_PREFIXES, vsisubfile_path, vsizip_path, vsizip_store_path
from pixxel_geo.io.members import choose_product
from pixxel_geo.io.product import ProductRef, resolve_product
from pixxel_geo.io.resolve import ResolvedSource, resolve_source

if TYPE_CHECKING:
    from rasterio.io import DatasetReader

__all__ = ["ProductOpener", "default_raster_member", "gdal_path", "open_raster"]

_VSI_PREFIX = re.compile(r"^/?vsiriopener_[0-9a-f]+/")


def _member_name(path: str) -> str:
    return _VSI_PREFIX.sub("", str(path)).lstrip("/")


class _ArchiveContainer:
    """What rasterio's opener needs to know about a product zip (stat, ls, open)."""

    def __init__(self, archive: ZipArchive) -> None:
        self.archive = archive

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, _ArchiveContainer) or type(other) is not type(self):
            return False
        return other.archive.source.key == self.archive.source.key

    def __hash__(self) -> int:
        return hash(self.archive.source.key)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.archive!r})"

    def open(self, path: str, mode: str = "rb", **kwds: Any) -> Any:
        if "w" in mode or "a" in mode or "+" in mode:
            raise PermissionError("products are read-only")
        return self.archive.open(_member_name(path))

    def isfile(self, path: str) -> bool:
        member = self.archive.members.get(_member_name(path))
        return member is not None and not member.is_dir

    def isdir(self, path: str) -> bool:
        prefix = _member_name(path).rstrip("/")
        return prefix == "" or any(n.startswith(prefix + "/") for n in self.archive.members)

    def ls(self, path: str) -> list[str]:
        prefix = _member_name(path).rstrip("/")
        prefix = prefix + "/" if prefix else ""
        names = {
            n[len(prefix) :].split("/", 1)[0] for n in self.archive.members if n.startswith(prefix) and n != prefix
        }
        return sorted(prefix + n for n in names)

    def mtime(self, path: str) -> int:
        return 0

    def rm(self, path: str) -> None:
        raise PermissionError("products are read-only")

    def size(self, path: str) -> int:
        name = _member_name(path)
        member = self.archive.members.get(name)
        if member is None:
            raise FileNotFoundError(name)
        return member.file_size


class ProductOpener(_ArchiveContainer, MultiByteRangeResourceContainer):
    """rasterio opener for STORED members: multi-range reads fetched in parallel.

    Picklable (as the archive's URL source), so rioxarray/dask workers reopen on their own.

    Args:
        archive: the product archive.
    """


class StreamOpener(_ArchiveContainer, FileContainer):
    """rasterio opener for DEFLATED members (no multi-range reads: a stream)."""


def default_raster_member(archive: ZipArchive, item_id: str | None = None) -> str:
    """The product's image member: its ``.tif`` that is not a quality mask.

    Args:
        archive: the product archive.
        item_id: the product wanted, when the archive may hold several.

    Raises:
        MemberNotFoundError: the archive holds no image.
        MultipleProductsError: several products and no ``item_id`` to choose by.
    """
    return choose_product(archive.names(), item_id=item_id).image


def _resolve(source: Any, member: str | None, client: Any | None) -> tuple[ResolvedSource, str]:
    product = resolve_product(source, member, client)
    return product.resolved, product.image


def opener_for(archive: ZipArchive, member: str) -> _ArchiveContainer:
    """The rasterio opener for ``member`` (multi-range for STORED, stream for DEFLATED)."""
    if archive.member(member).is_stored:
        return ProductOpener(archive)
    return StreamOpener(archive)


def open_raster(source: Any, member: str | None = None, *, client: Any | None = None, **kwargs: Any) -> DatasetReader:
    """Open a product's raster member with rasterio, streaming by range.

    Args:
        source: a catalog id, ``Catalog``, ``Download``, signed URL or ``pixxel://`` path.
        member: the member to open (default: the product's image, never its ``.mask.tif``).
        client: a ``px.Client`` (default: one configured from the environment).
        **kwargs: passed to ``rasterio.open``.

    Returns:
        An open ``rasterio`` dataset (use it as a context manager). Reads re-sign
        the URL transparently when it expires. Safe to read and close (or drop)
        from any thread or asyncio task (see :mod:`pixxel_geo.io.bound`).

    Raises:
        MemberNotFoundError: no such member.
        MultipleProductsError: the archive holds several products and nothing says which
            (open it through its catalog, or pass ``member=``).
        SignedURLError: the URL was refused and could not be renewed.

    Example:
        >>> with open_raster(catalog_id) as src:  # doctest: +SKIP
        ...     rgb = src.read([40, 25, 10], window=((0, 512), (0, 512)))
    """
    from pixxel_geo.io.bound import open_bound

    resolved, name = _resolve(source, member, client)
    return open_bound(name, opener=opener_for(resolved.archive, name), **kwargs)


def _store_raster_member(product: ProductRef, url: str) -> str:
    """The image member of a zip in a store, read with fsspec (the SDK's standard credentials)."""
    try:
        return product.image
    except PixxelError:
        raise
    except Exception as exc:  # any SDK failure: credentials, endpoint, network
        raise InvalidInputError(
            f"could not list {url} to find its .tif ({type(exc).__name__}); pass member= "
            "(the product's '<item id>.tif'), or a DeliverySource with storage_options that reach the store"
        ) from None


def gdal_path(source: Any, member: str | None = None, *, client: Any | None = None) -> str:
    """A plain GDAL path to a product member, for GDAL-only tools.

    For a signed URL (catalog id, ``Download``, URL, ``pixxel://catalogs/…``): STORED members
    give ``/vsisubfile/<offset>_<size>,/vsicurl?use_head=no&list_dir=no&url=…`` (no zip
    parsing by GDAL); others ``/vsizip/{/vsicurl?…&url=…}/<member>``. The path holds the
    current signed URL: it stops working when the URL expires (call again). Use it with
    :func:`pixxel_geo.io.gdal_options.tuned_env`.

    For a delivery in a cloud store (``Delivery``, ``DeliverySource``, ``pixxel://deliveries/…``):
    ``/vsizip//vsis3/<bucket>/<key>/<member>`` (``/vsigs/``, ``/vsiaz/`` for GCS and Azure
    Blob). GDAL then reads the bucket with *your* cloud configuration, set as environment
    variables or ``rasterio.Env`` options: for S3 ``AWS_ACCESS_KEY_ID`` /
    ``AWS_SECRET_ACCESS_KEY`` / ``AWS_PROFILE`` / ``AWS_REGION`` (with rasterio, pass keys through
    ``rasterio.session.AWSSession``), and ``AWS_S3_ENDPOINT``, ``AWS_HTTPS=NO``,
    ``AWS_VIRTUAL_HOSTING=FALSE`` for an S3-compatible server; for GCS
    ``GOOGLE_APPLICATION_CREDENTIALS`` (or ``GS_NO_SIGN_REQUEST=YES`` for public buckets) and
    ``CPL_GS_ENDPOINT`` for another endpoint; for Azure ``AZURE_STORAGE_CONNECTION_STRING`` or
    ``AZURE_STORAGE_ACCOUNT`` with ``AZURE_STORAGE_ACCESS_KEY`` / ``AZURE_STORAGE_SAS_TOKEN``.
    The path itself holds no secret.

    Args:
        source: as for :func:`open_raster`, or a delivery in a store.
        member: the member (default: the product's ``.tif``). For a store, giving it
            means the store is not read at all here (only the API is asked); without it
            the zip's directory is listed through fsspec (``DeliverySource`` options, or the
            SDK's standard credentials).
        client: a ``px.Client``.

    Returns:
        The GDAL path (a signed-URL path contains the signature: treat it as a secret).

    Raises:
        MemberNotFoundError: no such member.
        InvalidInputError: a store's zip could not be listed to find its ``.tif``.

    Example:
        >>> path = gdal_path(catalog_id)  # doctest: +SKIP
        >>> subprocess.run(["gdalinfo", path])  # doctest: +SKIP
        >>> with rasterio.Env(AWS_REGION="eu-west-1"), rasterio.open(gdal_path(delivery)) as src:  # doctest: +SKIP
        ...     src.read(1, window=((0, 512), (0, 512)))
    """
    resolved = resolve_source(source, client)
    archive = resolved.archive
    url = archive.reader.current_url()
    if url.partition("://")[0].lower() in STORE_PREFIXES:
        if member or resolved.member:
            return vsizip_store_path(url, member or resolved.member or "")
        return vsizip_store_path(url, _store_raster_member(ProductRef(resolved, client=client), url))
    resolved, name = _resolve(resolved, member, client)
    if archive.member(name).is_stored:
        offset, size = archive.data_range(name)
        return vsisubfile_path(url, offset, size)
    return vsizip_path(url, name)
