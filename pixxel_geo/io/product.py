"""One product inside a source: its image member, its sidecars, its STAC item and calibration.

A source (a catalog, a catalog id, a delivery, a signed URL, a ``pixxel://`` path…) resolves to
an archive; the archive may hold one product or several. :func:`resolve_product` picks the
product the source means (a catalog's own product by its ``item_id``; the one holding a named
member; the only one) and its image; the product's :class:`~pixxel_geo.io.calibration.Calibration`
comes from the catalog's STAC item, the ENVI header member, the GeoTIFF and the name.

Example:
    >>> product = resolve_product(catalog)  # doctest: +SKIP
    >>> product.image, product.files.mask  # doctest: +SKIP
    ('FF01_….tif', 'FF01_….mask.tif')
"""

from __future__ import annotations

import json
import logging
from functools import cached_property
from typing import Any

from pixxel_geo.api.errors import MemberNotFoundError, PixxelError
from pixxel_geo.api.models import Catalog
from pixxel_geo.io.archive import ZipArchive
from pixxel_geo.io.calibration import Calibration, GdalBands, calibration_from
from pixxel_geo.io.envi import parse_envi_header
from pixxel_geo.io.members import ProductFiles, choose_product, products_in
from pixxel_geo.io.resolve import ResolvedSource, resolve_source

__all__ = ["ProductRef", "gdal_bands", "resolve_product"]

log = logging.getLogger(__name__)


def gdal_bands(src: Any) -> GdalBands:
    """What an open rasterio dataset says about its bands (scale, offset, nodata, wavelength tags)."""
    count = int(src.count)
    return GdalBands(
        count=count,
        scales=tuple(float(s) for s in src.scales),
        offsets=tuple(float(o) for o in src.offsets),
        nodata=None if src.nodata is None else float(src.nodata),
        units=tuple(src.units or ()),
        descriptions=tuple(src.descriptions or ()),
        band_tags=tuple(dict(src.tags(i)) for i in range(1, count + 1)),
        imagery_tags=tuple(dict(src.tags(i, ns="IMAGERY")) for i in range(1, count + 1)),
    )


class ProductRef:
    """A product in a resolved source: which members it has and how to calibrate it.

    Args:
        resolved: the resolved source (its archive).
        catalog: the ``Catalog`` the caller gave, if any (its STAC item is used first).
        client: the ``px.Client`` to ask the API with, if any.
        member: the member the caller named, if any.
    """

    def __init__(
        self, resolved: ResolvedSource, *, catalog: Catalog | None = None, client: Any | None = None,
        member: str | None = None,
    ) -> None:  # fmt: skip
        self.resolved = resolved
        self.catalog = catalog
        self.client = client
        self.member = member or resolved.member

    @property
    def archive(self) -> ZipArchive:
        """The archive holding the product."""
        return self.resolved.archive

    @cached_property
    def files(self) -> ProductFiles | None:
        """The product's members (``None`` when a named member belongs to no product)."""
        names = self.archive.names()
        if self.member:
            for product in products_in(names):
                if self.member in product.members():
                    return product
            return None
        products = products_in(names)
        if len(products) > 1:
            return choose_product(names, item_id=self.item_id)
        return choose_product(names)

    @cached_property
    def image(self) -> str:
        """The member to read pixels from: the one named, or the product's image."""
        if self.member:
            self.archive.member(self.member)  # raises MemberNotFoundError listing the members
            return self.member
        assert self.files is not None
        return self.files.image

    @property
    def key(self) -> str:
        """Identifies the product's image across calls (archive and member)."""
        return f"{self.archive.source.key}\0{self.image}"

    @cached_property
    def stac(self) -> dict[str, Any] | None:
        """The product's STAC item: the catalog's ``details``, else a ``*_stac.json`` member."""
        if self.catalog is not None and self.catalog.details:
            return dict(self.catalog.details)
        catalog_id = self.resolved.catalog_id
        if catalog_id:
            item = self._fetch_stac(catalog_id)
            if item:
                return item
        files = self.files if not self.member else self._files_quietly()
        if files is not None and files.stac:
            try:
                item = json.loads(self.archive.read(files.stac))
            except (ValueError, PixxelError, OSError):
                log.debug("unreadable STAC member %s", files.stac)
            else:
                return item if isinstance(item, dict) else None
        return None

    def _files_quietly(self) -> ProductFiles | None:
        try:
            return self.files
        except PixxelError:
            return None

    @property
    def item_id(self) -> str | None:
        """The product's name as its catalog gives it (``item_id`` / the STAC ``id``)."""
        if self.catalog is not None and self.catalog.item_id:
            return str(self.catalog.item_id)
        if self.resolved.catalog_id:
            item = self._fetch_stac(self.resolved.catalog_id)
            if item and isinstance(item.get("id"), str):
                return str(item["id"])
        return None

    @property
    def name(self) -> str:
        """The product's name (its files' stem), or the image member's."""
        files = self._files_quietly()
        return files.name if files is not None else self.image.rsplit("/", 1)[-1]

    def _fetch_stac(self, catalog_id: str) -> dict[str, Any] | None:
        cache_key = f"{self.archive.source.key}\0catalog\0{catalog_id}"
        cache = self.archive.session.stac_items
        cached = cache.get(cache_key)
        if cached is not None:
            return dict(cached)
        client = self.client
        if client is None or getattr(client, "closed", False):
            api = getattr(self.archive.source, "_api", None)
            client = api() if callable(api) else self.archive.session.client(None)
        try:
            catalog = client.catalogs.get(catalog_id)
        except PixxelError as exc:
            log.debug("could not read catalog %s for its STAC item: %s", catalog_id, type(exc).__name__)
            return None
        item = dict(catalog.details or {})
        if item:
            cache.put(cache_key, item)
        return item or None

    def header(self) -> dict[str, str] | None:
        """The ENVI header's fields, if the product has a header member."""
        files = self._files_quietly()
        if files is None or not files.header:
            return None
        try:
            return parse_envi_header(self.archive.read(files.header).decode("utf-8", errors="replace"))
        except (PixxelError, OSError):
            log.debug("unreadable ENVI header %s", files.header)
            return None

    def calibration(self, gdal: GdalBands) -> Calibration:
        """The product's calibration (kept per product and image in the archive's session).

        Args:
            gdal: the image's band metadata (:func:`gdal_bands` of the open image).
        """
        cache = self.archive.session.calibrations
        cached = cache.get(self.key)
        if cached is not None and cached.count == gdal.count:
            return cached
        files = self._files_quietly()
        is_image = files is not None and files.image == self.image
        calibration = calibration_from(
            count=gdal.count,
            stac=self.stac if is_image or self.member is None else None,
            header=self.header() if is_image else None,
            gdal=gdal,
            product_name=self.name,
            image_name=self.image,
        )
        cache.put(self.key, calibration)
        return calibration

    def require_mask(self) -> str:
        """The product's quality-mask member.

        Raises:
            MemberNotFoundError: the product has no ``.mask.tif``.
        """
        files = self._files_quietly()
        if files is None or not files.mask:
            members = self.archive.names()
            raise MemberNotFoundError(
                f"{self.name} has no quality mask (a '.mask.tif' member); it has: {', '.join(members)}",
                member=f"{self.name}.mask.tif",
                members=members,
            )
        return files.mask


def resolve_product(source: Any, member: str | None = None, client: Any | None = None) -> ProductRef:
    """The product a source means, with its image member chosen.

    Args:
        source: a catalog id, ``Catalog``, ``Download``, delivery, signed URL, ``pixxel://`` path…
        member: a member to read instead of the product's image.
        client: a ``px.Client``.

    Returns:
        The product (its members, STAC item and calibration on demand).

    Raises:
        MultipleProductsError: the archive holds several products and nothing says which.
        MemberNotFoundError: no image (or no such member).

    Example:
        >>> resolve_product("https://…/catalogs.zip?…").image  # doctest: +SKIP
        'FF01_001234_20250301_L2A_20250302_00501045.tif'
    """
    catalog = source if isinstance(source, Catalog) else None
    ref = ProductRef(resolve_source(source, client), catalog=catalog, client=client, member=member)
    ref.image  # noqa: B018  (chooses now, so a wrong source fails here, with its message)
    return ref
