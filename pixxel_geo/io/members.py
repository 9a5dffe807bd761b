"""Which zip members make up which product: the image, its quality mask, thumbnail and sidecars.

Pixxel names every file of a product after the product (``FF01_001234_20250301_L2A_20250302_00501045``)
and tells them apart by extension: ``.tif`` (the image), ``.mask.tif`` (the quality mask),
``.jpeg`` (the thumbnail), ``.geojson`` (footprint and bounding box), ``.hdr`` and ``.xml``.
How they sit in the zip is not published, so every layout is read: members at the root, a
folder per product, and several products in one archive (a download of several catalogs).

Example:
    >>> names = ["P1/P1.tif", "P1/P1.mask.tif", "P1/P1.hdr", "P2/P2.tif"]
    >>> [p.name for p in products_in(names)]
    ['P1', 'P2']
    >>> choose_product(names, item_id="P1").mask
    'P1/P1.mask.tif'
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterable
from dataclasses import dataclass, field

from pixxel_geo.api.errors import InvalidInputError, MemberNotFoundError

__all__ = ["MultipleProductsError", "ProductFiles", "choose_product", "products_in"]

# (suffix, part), longest first so ".mask.tif" wins over ".tif". Matched case-insensitively.
_SUFFIXES: tuple[tuple[str, str], ...] = (
    ("_footprint.geojson", "footprint"),
    (".footprint.geojson", "footprint"),
    ("_bbox.geojson", "bbox"),
    (".bbox.geojson", "bbox"),
    ("_metadata.json", "metadata"),
    ("_stac.json", "stac"),
    (".mask.tiff", "mask"),
    (".mask.tif", "mask"),
    ("_mask.tiff", "mask"),
    ("_mask.tif", "mask"),
    (".tiff", "image"),
    (".tif", "image"),
    (".jpeg", "thumbnail"),
    (".jpg", "thumbnail"),
    (".hdr", "header"),
    (".xml", "xml"),
)


@dataclass(frozen=True)
class ProductFiles:
    """The members of one product in an archive (``None`` for a part the product lacks).

    Attributes:
        name: the product's name (its files' common stem), e.g. ``FF01_001234_…_00501045``.
        image: the image GeoTIFF.
        mask: the quality-mask GeoTIFF.
        thumbnail: the JPEG thumbnail.
        header: the ENVI header.
        xml: the XML metadata.
        footprint: the footprint GeoJSON.
        bbox: the bounding-box GeoJSON.
        stac: a STAC item member (``*_stac.json``; not in Pixxel's description, read if present).
        metadata: a JSON metadata member (``*_metadata.json``; likewise).
        others: any other members of the product.
    """

    name: str
    image: str
    mask: str | None = None
    thumbnail: str | None = None
    header: str | None = None
    xml: str | None = None
    footprint: str | None = None
    bbox: str | None = None
    stac: str | None = None
    metadata: str | None = None
    others: tuple[str, ...] = field(default=())

    def members(self) -> list[str]:
        """Every member of the product."""
        parts = [self.image, self.mask, self.thumbnail, self.header, self.xml, self.footprint, self.bbox]
        parts += [self.stac, self.metadata]
        return [p for p in parts if p] + list(self.others)


class MultipleProductsError(InvalidInputError):
    """An archive holds several products and nothing said which one to open.

    Attributes:
        products: the names of the products in the archive.
    """

    def __init__(self, message: str, *, products: list[str]) -> None:
        super().__init__(message)
        self.products = products


def _split(name: str) -> tuple[str, str, str] | None:
    """``(folder, stem, part)`` of a member name, or ``None`` for a member of no known part."""
    folder, base = posixpath.split(name)
    lowered = base.lower()
    for suffix, part in _SUFFIXES:
        if lowered.endswith(suffix) and len(base) > len(suffix):
            return folder, base[: -len(suffix)], part
    return None


def products_in(names: Iterable[str]) -> list[ProductFiles]:
    """The products in an archive, in member order: one per image with its sidecars.

    A product is an image (a ``.tif`` that is not a mask) and the members in the same
    folder whose names share its stem.

    Args:
        names: the archive's member names (folders, ending in ``/``, are ignored).

    Returns:
        The products found (empty when the archive holds no image).

    Example:
        >>> [p.image for p in products_in(["a.tif", "a.mask.tif", "a.jpeg"])]
        ['a.tif']
    """
    groups: dict[tuple[str, str], dict[str, str]] = {}
    unknown: list[str] = []
    for name in names:
        if name.endswith("/"):
            continue
        split = _split(name)
        if split is None:
            unknown.append(name)
            continue
        folder, stem, part = split
        groups.setdefault((folder, stem), {}).setdefault(part, name)
    products = []
    for (folder, stem), parts in groups.items():
        if "image" not in parts:
            continue
        prefix = f"{folder}/" if folder else ""
        others = tuple(n for n in unknown if n.startswith(prefix + stem))
        products.append(ProductFiles(name=stem, others=others, **parts))
    return products


def choose_product(names: Iterable[str], *, item_id: str | None = None, member: str | None = None) -> ProductFiles:
    """The product to open in an archive.

    Args:
        names: the archive's member names.
        item_id: the product wanted (a catalog's ``item_id``): chosen by name.
        member: a member the caller named: the product it belongs to.

    Returns:
        The product: the one named, the one holding ``member``, or the only one.

    Raises:
        MemberNotFoundError: the archive holds no image.
        MultipleProductsError: several products and nothing to choose by (the message lists
            them and says how to choose).

    Example:
        >>> choose_product(["x/A.tif", "x/B.tif"], member="x/B.tif").name
        'B'
    """
    names = list(names)
    products = products_in(names)
    if not products:
        raise MemberNotFoundError(
            f"the archive holds no product image (.tif); it has: {', '.join(names) or 'nothing'}; pass member=",
            member="*.tif",
            members=names,
        )
    if member:
        for product in products:
            if member in product.members():
                return product
    if item_id:
        for product in products:
            if product.name == item_id:
                return product
        for product in products:
            if item_id in product.name:
                return product
    if len(products) == 1:
        return products[0]
    listed = ", ".join(p.name for p in products)
    raise MultipleProductsError(
        f"the archive holds {len(products)} products ({listed}); open one by its catalog (a Catalog or "
        f"catalog id), or pass member= with its image, e.g. member={products[0].image!r}",
        products=[p.name for p in products],
    )
