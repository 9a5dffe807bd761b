"""Deterministic synthetic Pixxel hyperspectral products for the sandbox.

A product is a zip archive with STORED members, shaped the way Pixxel describes its own
deliveries (see ``pixxel_geo/sandbox/README.md``, "Products"). Named like
``FF01_001234_20250301_L2A_20250302_00501045`` (satellite, image id, acquisition date,
level, creation date, then 5 m, version 01 and the band count), it holds:

- ``<id>.tif``: a Cloud-Optimized GeoTIFF; L2A / L1C uint16 reflectance scaled 0-50000
  (reflectance = DN / 50000), L1B float32 radiance; nodata 0; EPSG:4326 by default;
- ``<id>.mask.tif``: the bit-encoded quality mask (uint8, same grid);
- ``<id>.jpeg``: an RGB thumbnail;
- ``<id>_footprint.geojson`` and ``<id>_bbox.geojson`` (EPSG:4326);
- ``<id>.hdr`` (an ENVI header: wavelengths, FWHM, scale factor) and ``<id>.xml``.

Members sit at the root of the zip, or in a folder named after the product
(``layout="folder"``). Pixels are linear mixtures of endmember spectra
(:mod:`pixxel_geo.sandbox.spectra`) laid out as fields, rivers, towns, coasts and clouds;
the same spec always gives the same bytes. Products are cached in the output folder by a
key of the spec.

Example:
    >>> spec = default_specs(bands=16, width=256, height=256, count=1)[0]
    >>> product = build_product(spec, Path("/tmp/products"))  # doctest: +SKIP
    >>> product.members[0] == f"{spec.item_id}.tif"  # doctest: +SKIP
    True
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import math
import os
import shutil
import tempfile
import zipfile
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
from affine import Affine

from pixxel_geo.sandbox import _stac
from pixxel_geo.sandbox._cog import LEVELS, quality_mask, write_cog, write_mask, write_thumbnail
from pixxel_geo.sandbox._scene import Scene, landscape_for, paint_scene
from pixxel_geo.sandbox.spectra import (
    endmember_matrix,
    firefly_band_numbers,
    firefly_grid,
    solar_irradiance,
)

__all__ = [
    "CRS_KINDS",
    "GSD_M",
    "LAYOUTS",
    "Product",
    "ProductSpec",
    "build_product",
    "default_specs",
    "pack_zip",
    "product_name",
    "season_specs",
    "synthesize_scene",
    "utm_epsg",
]

logger = logging.getLogger(__name__)

#: Ground sampling distance of every product, metres.
GSD_M = 5
#: Bump when the generator's output changes, so cached products are rebuilt.
GENERATOR_VERSION = "2"
#: Zip layouts: members at the root, or in a folder named after the product.
LAYOUTS = ("flat", "folder")
#: Image grids: geographic WGS 84 (Pixxel: "projected to WGS84") or the scene's UTM zone.
CRS_KINDS = ("EPSG:4326", "utm")
PRODUCT_VERSION = 1
#: Timestamp used for zip members when none is given (zip needs >= 1980).
DEFAULT_ZIP_TIME = (2020, 1, 1, 0, 0, 0)
_ZIP64_THRESHOLD = 0x7FFFFFFF


@dataclass(frozen=True)
class ProductSpec:
    """What to generate.

    Attributes:
        item_id: the product's name (Pixxel's pattern, see the module docstring) and the
            stem of its member names.
        place: human-readable place; keywords (delta, desert, forest, coast/city) pick the
            landscape, anything else is agricultural.
        lon, lat: scene centre (WGS84 degrees).
        datetime: acquisition time, RFC 3339 (e.g. ``"2025-03-14T06:15:12.123456Z"``).
        cloud_cover: percent of the footprint under cloud (0-100).
        bands, width, height: cube size.
        seed: fixes the scene layout and the noise.
        interleave: ``"band"`` (default) or ``"pixel"``.
        deflate_members: pack zip members DEFLATED instead of STORED (for negative tests).
        level: ``"L2A"`` (default), ``"L1C"`` or ``"L1B"``.
        band_numbers: Firefly band numbers of the product's bands (default: ``bands``
            evenly spread over the native 135); products with different sets share the
            bands they have in common exactly.
        crs: ``"EPSG:4326"`` (default) or ``"utm"`` (the scene's UTM zone).
        layout: ``"flat"`` (members at the zip's root) or ``"folder"`` (``<item_id>/…``).
        header: ship the ENVI ``.hdr``.
        stac_bands: the STAC item's image asset carries ``eo:bands`` and ``raster:bands``.
        gdal_metadata: the GeoTIFF carries GDAL band scale/offset and wavelength metadata.
        mask_flag_metadata: the mask's band carries ``flag_masks`` / ``flag_meanings``.
        wavelength_units: units of wavelengths in STAC and the header: ``"nm"`` or ``"um"``.
        thumbnail_px: the thumbnail's longer side (at most the image's).
        landscape: the landscape kind (default: from ``place``).
        growth: 0-1 crop vigour of the season (agricultural scenes; ``None``: the seed's own).
    """

    item_id: str
    place: str
    lon: float
    lat: float
    datetime: str
    cloud_cover: float
    bands: int
    width: int
    height: int
    seed: int
    interleave: str = "band"
    deflate_members: bool = False
    level: str = "L2A"
    band_numbers: tuple[int, ...] | None = None
    crs: str = "EPSG:4326"
    layout: str = "flat"
    header: bool = True
    stac_bands: bool = True
    gdal_metadata: bool = False
    mask_flag_metadata: bool = True
    wavelength_units: str = "nm"
    thumbnail_px: int = 1024
    landscape: str | None = None
    growth: float | None = None

    def __post_init__(self) -> None:
        if not self.item_id or any(c in self.item_id for c in '/\\:*?"<>| '):
            raise ValueError(
                f"item_id {self.item_id!r} must be non-empty and usable as a file name "
                "(no slashes, spaces or wildcards)"
            )
        if not (-180.0 <= self.lon <= 180.0) or not (-80.0 <= self.lat <= 84.0):
            raise ValueError(f"lon/lat ({self.lon}, {self.lat}) must lie within -180..180, -80..84")
        if not (0.0 <= self.cloud_cover <= 100.0):
            raise ValueError(f"cloud_cover must be a percentage 0-100, got {self.cloud_cover}")
        if self.bands < 1 or self.bands > 1000:
            raise ValueError(f"bands must be 1..1000, got {self.bands}")
        if self.width < 16 or self.height < 16:
            raise ValueError(f"width and height must be at least 16 px, got {self.width}x{self.height}")
        if self.interleave not in ("band", "pixel"):
            raise ValueError(f"interleave must be 'band' or 'pixel', got {self.interleave!r}")
        if self.level not in LEVELS:
            raise ValueError(f"level must be one of {', '.join(LEVELS)}, got {self.level!r}")
        if self.crs not in CRS_KINDS:
            raise ValueError(f"crs must be one of {', '.join(CRS_KINDS)}, got {self.crs!r}")
        if self.layout not in LAYOUTS:
            raise ValueError(f"layout must be one of {', '.join(LAYOUTS)}, got {self.layout!r}")
        if self.wavelength_units not in ("nm", "um"):
            raise ValueError(f"wavelength_units must be 'nm' or 'um', got {self.wavelength_units!r}")
        if self.band_numbers is not None:
            object.__setattr__(self, "band_numbers", tuple(int(b) for b in self.band_numbers))
            if len(self.band_numbers) != self.bands:
                raise ValueError(f"band_numbers lists {len(self.band_numbers)} bands but bands is {self.bands}")
        _stac.parse_time(self.datetime)
        self.grid()  # validates the band numbers

    def grid(self) -> Any:
        """The product's bands (:class:`~pixxel_geo.sandbox.spectra.BandGrid`)."""
        return firefly_grid(self.band_numbers or firefly_band_numbers(self.bands))

    @property
    def platform(self) -> str:
        """The satellite, from the name (``FF01`` …)."""
        return self.item_id.split("_")[0] if self.item_id[:2] in ("FF", "TD") else "FF01"

    def member_names(self) -> dict[str, str]:
        """Zip member name of each part (``image``, ``mask``, ``thumbnail``, ``footprint``, ``bbox``,
        ``header``, ``xml``), with the product folder in ``folder`` layout."""
        folder = f"{self.item_id}/" if self.layout == "folder" else ""
        names = {
            "image": f"{self.item_id}.tif",
            "mask": f"{self.item_id}.mask.tif",
            "thumbnail": f"{self.item_id}.jpeg",
            "footprint": f"{self.item_id}_footprint.geojson",
            "bbox": f"{self.item_id}_bbox.geojson",
            "header": f"{self.item_id}.hdr",
            "xml": f"{self.item_id}.xml",
        }
        if not self.header:
            del names["header"]
        return {k: folder + v for k, v in names.items()}


def product_name(platform: str, image_id: int, acquired: datetime, level: str, bands: int, gsd: int = GSD_M) -> str:
    """Pixxel's product name: ``XXnn_imageID_YYYYMMDD_LnX_YYYYMMDD_aaabbccc``.

    The second date is the product's creation, a day after acquisition here.

    Example:
        >>> from datetime import datetime, UTC
        >>> product_name("FF01", 1234, datetime(2025, 3, 1, tzinfo=UTC), "L2A", 45)
        'FF01_001234_20250301_L2A_20250302_00501045'
    """
    created = acquired + timedelta(days=1)
    code = f"{gsd:03d}{PRODUCT_VERSION:02d}{bands:03d}"
    return f"{platform}_{image_id:06d}_{acquired:%Y%m%d}_{level}_{created:%Y%m%d}_{code}"


@dataclass(frozen=True)
class Product:
    """A built product.

    Attributes:
        spec: what it was built from.
        zip_path: the archive.
        stac_item: the STAC item (dict; asset hrefs are member names).
        footprint: the footprint GeoJSON FeatureCollection (EPSG:4326).
        members: member names in archive order (image, mask, thumbnail, footprint, bbox, header, xml).
        size: archive size in bytes.
        sha256: hex SHA-256 of the archive.
    """

    spec: ProductSpec
    zip_path: Path
    stac_item: dict[str, Any]
    footprint: dict[str, Any]
    members: list[str]
    size: int
    sha256: str


# (place, lon, lat, UTC date, cloud cover %)
_DEFAULT_SCENES: tuple[tuple[str, float, float, str, float], ...] = (
    ("Bathinda, Punjab, India", 74.951, 30.211, "2024-03-14", 0.0),
    ("Mumbai coast, Maharashtra, India", 72.862, 19.076, "2024-11-22", 12.0),
    ("Ganges delta, Khulna, Bangladesh", 89.552, 22.452, "2025-01-27", 4.5),
    ("Western Ghats forest, Karnataka, India", 75.351, 13.947, "2025-05-09", 35.0),
    ("Thar desert edge, Jaisalmer, India", 70.912, 26.915, "2025-02-18", 0.0),
    ("Mildura, Murray River, Australia", 142.163, -34.198, "2025-09-03", 20.0),
)


def default_specs(
    bands: int = 45, width: int = 1024, height: int = 1024, count: int = 6, **options: Any
) -> list[ProductSpec]:
    """A workspace of scenes over varied places (farmland, coastal city, delta, forest, desert).

    Acquisitions are near 10:45 local solar time, as for a sun-synchronous orbit; names
    follow Pixxel's pattern (``FF01_001234_20240314_L2A_20240315_00501045``). More than six
    scenes revisit the places a season later.

    Args:
        bands: bands per product.
        width, height: pixels per product.
        count: number of products (one per seed 0..count-1).
        **options: other :class:`ProductSpec` fields for every product (``level``, ``crs``,
            ``layout``, ``header``, ``stac_bands``, …).

    Returns:
        ``count`` specs, deterministic.

    Raises:
        ValueError: if ``count < 0`` or a size or option is invalid.

    Example:
        >>> [s.item_id for s in default_specs(count=2)]
        ['FF01_001234_20240314_L2A_20240315_00501045', 'FF02_005333_20241122_L2A_20241123_00501045']
    """
    if count < 0:
        raise ValueError(f"count must be >= 0, got {count}")
    level = str(options.get("level", "L2A"))
    specs = []
    for n in range(count):
        place, lon, lat, day, cloud = _DEFAULT_SCENES[n % len(_DEFAULT_SCENES)]
        revisit = n // len(_DEFAULT_SCENES)
        local_hours = 10.75 + ((n * 37) % 23 - 11) / 60.0
        start = datetime.fromisoformat(day).replace(tzinfo=UTC)
        when = start + timedelta(days=97 * revisit, hours=local_hours - lon / 15.0)
        when = when.replace(microsecond=(n * 137_911) % 1_000_000)
        platform = f"FF0{n % 3 + 1}"
        specs.append(
            ProductSpec(
                item_id=product_name(platform, 1234 + 4099 * n, when, level, bands),
                place=place,
                lon=lon,
                lat=lat,
                datetime=_stac.format_time(when),
                cloud_cover=cloud if revisit == 0 else (cloud + 9.0 * revisit) % 40.0,
                bands=bands,
                width=width,
                height=height,
                seed=n,
                **options,
            )
        )
    return specs


#: The season over one farm that ``timeseries`` seeds: (days after sowing, crop growth 0-1, cloud %).
_SEASON = (
    (10, 0.05, 0.0),
    (38, 0.35, 25.0),
    (63, 0.7, 5.0),
    (88, 0.95, 40.0),
    (113, 0.85, 10.0),
    (141, 0.05, 0.0),  # harvested
)
_SEASON_SITE = ("Bathinda farmland, Punjab, India", 74.951, 30.211)
_SEASON_START = datetime(2024, 11, 10, tzinfo=UTC)


def season_band_sets(bands: int) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """Two band sets of ``bands`` bands that partly overlap: spread over the whole range, and
    spread over the red / near-infrared part only (Firefly bands 46-135, about 615-900 nm).

    Example:
        >>> a, b = season_band_sets(8)
        >>> a, b
        ((1, 20, 39, 58, 78, 97, 116, 135), (46, 59, 71, 84, 97, 110, 122, 135))
    """
    wide = firefly_band_numbers(bands)
    if bands == 1:
        return wide, wide
    narrow = tuple(round(46 + i * (135 - 46) / (bands - 1)) for i in range(bands))
    return wide, narrow


def season_specs(bands: int = 45, width: int = 1024, height: int = 1024, **options: Any) -> list[ProductSpec]:
    """A season of repeat acquisitions over one farm, for time series.

    Six dates from sowing to harvest (crop vigour rises, then the fields are bare again),
    clouds that come and go (each date has its own), the first three dates in one band set
    and the last three in another that only partly overlaps it (:func:`season_band_sets`),
    and on the third date a second, neighbouring scene to the east (same day, overlapping
    the first by a fifth of its width). Every date shares the same ground layout.

    Args:
        bands, width, height: as for :func:`default_specs`.
        **options: other :class:`ProductSpec` fields for every product.

    Returns:
        Seven specs in acquisition order.

    Example:
        >>> [s.growth for s in season_specs(bands=8, width=64, height=64)][:3]
        [0.05, 0.35, 0.7]
    """
    place, lon, lat = _SEASON_SITE
    wide, narrow = season_band_sets(bands)
    level = str(options.get("level", "L2A"))
    specs: list[ProductSpec] = []
    for index, (day, growth, cloud) in enumerate(_SEASON):
        when = _SEASON_START + timedelta(days=day, hours=10.75 - lon / 15.0, seconds=17 * index)
        numbers = wide if index < 3 else narrow
        scenes = [(place, lon, 100)]
        if index == 2:
            dx = GSD_M / (111_320.0 * math.cos(math.radians(lat)))
            scenes.append((place + " (east)", round(lon + 0.8 * width * dx, 6), 101))
        for offset, (name, scene_lon, seed) in enumerate(scenes):
            specs.append(
                ProductSpec(
                    item_id=product_name("FF04", 700_000 + 10 * index + offset, when, level, bands),
                    place=name,
                    lon=scene_lon,
                    lat=lat,
                    datetime=_stac.format_time(when + timedelta(seconds=9 * offset)),
                    cloud_cover=cloud,
                    bands=bands,
                    width=width,
                    height=height,
                    seed=seed,
                    band_numbers=numbers,
                    landscape="agricultural",
                    growth=growth,
                    **options,
                )
            )
    return specs


def utm_epsg(lon: float, lat: float) -> int:
    """EPSG code of the WGS84 UTM zone holding (lon, lat): 326zz north, 327zz south.

    Example:
        >>> utm_epsg(74.95, 30.21), utm_epsg(142.16, -34.2)
        (32643, 32754)
    """
    zone = min(60, max(1, int((lon + 180.0) // 6.0) + 1))
    return (32600 if lat >= 0 else 32700) + zone


def _grid(spec: ProductSpec) -> tuple[int, Affine]:
    """EPSG code and pixel-to-CRS transform of a product: 5 m pixels, centred on the scene."""
    if spec.crs == "utm":
        from rasterio.warp import transform as warp_transform

        epsg = utm_epsg(spec.lon, spec.lat)
        xs, ys = warp_transform("EPSG:4326", f"EPSG:{epsg}", [spec.lon], [spec.lat])
        cx = round(xs[0] / GSD_M) * GSD_M
        cy = round(ys[0] / GSD_M) * GSD_M
        return epsg, Affine(GSD_M, 0.0, cx - spec.width // 2 * GSD_M, 0.0, -GSD_M, cy + spec.height // 2 * GSD_M)
    # Geographic: 5 m expressed in degrees at the scene's latitude (WGS 84 mean radii).
    dy = round(GSD_M / 110_574.0, 10)
    dx = round(GSD_M / (111_320.0 * math.cos(math.radians(spec.lat))), 10)
    west = round(spec.lon - spec.width // 2 * dx, 9)
    north = round(spec.lat + spec.height // 2 * dy, 9)
    return 4326, Affine(dx, 0.0, west, 0.0, -dy, north)


def _footprint_lonlat(ring_px: list[tuple[float, float]], transform: Affine, epsg: int) -> list[list[float]]:
    xy = [transform @ p for p in ring_px]
    if epsg == 4326:
        return [[round(x, 7), round(y, 7)] for x, y in xy]
    from rasterio.warp import transform as warp_transform

    lons, lats = warp_transform(f"EPSG:{epsg}", "EPSG:4326", [p[0] for p in xy], [p[1] for p in xy])
    return [[round(lo, 7), round(la, 7)] for lo, la in zip(lons, lats, strict=True)]


def synthesize_scene(spec: ProductSpec) -> Scene:
    """The painted scene of a spec (abundances, brightness, footprint mask), without writing.

    ``synthesize_scene(spec).class_map()`` gives the dominant endmember per pixel,
    indices into :data:`pixxel_geo.sandbox.spectra.ENDMEMBER_NAMES`, which tests
    use to check the spectra of the written image.

    Example:
        >>> scene = synthesize_scene(default_specs(16, 64, 64, 1)[0])
        >>> scene.abundances.shape
        (11, 64, 64)
    """
    rng = np.random.default_rng([spec.seed, 1])
    landscape = spec.landscape or landscape_for(spec.place)
    day = int(_stac.parse_time(spec.datetime).timestamp() // 86400)
    cloud_rng = np.random.default_rng([spec.seed, 4, day])  # other days, other clouds
    return paint_scene(
        rng, (spec.height, spec.width), landscape, spec.cloud_cover, growth=spec.growth, cloud_rng=cloud_rng
    )


def _cache_key(spec: ProductSpec) -> str:
    text = json.dumps([GENERATOR_VERSION, dataclasses.asdict(spec)], sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def pack_zip(
    members: list[Path] | list[tuple[Path, str]],
    out: Path,
    deflate: bool = False,
    date_time: tuple[int, int, int, int, int, int] = DEFAULT_ZIP_TIME,
) -> None:
    """Pack files into a deterministic zip (same inputs give the same bytes).

    Members keep their file names (or the member names given with them), in the order
    given, with fixed timestamps and permissions; they are STORED (uncompressed, so readers
    can seek inside them) unless ``deflate`` is true.  Files are streamed, never read whole,
    and zip64 records are used for members of 2 GiB and more.

    Args:
        members: files to pack, or ``(file, member name)`` pairs.
        out: archive path (overwritten).
        deflate: compress members with DEFLATE (level 6) instead of storing them.
        date_time: timestamp recorded for every member (year >= 1980).

    Raises:
        FileNotFoundError: if a member does not exist.
        ValueError: if two members share a name.

    Example:
        >>> pack_zip([Path("a.tif"), Path("a.json")], Path("a.zip"))  # doctest: +SKIP
    """
    pairs = [m if isinstance(m, tuple) else (m, m.name) for m in members]
    names = [name for _, name in pairs]
    if len(set(names)) != len(names):
        raise ValueError(f"zip member names must be unique, got {names}")
    method = zipfile.ZIP_DEFLATED if deflate else zipfile.ZIP_STORED
    with zipfile.ZipFile(out, "w", allowZip64=True) as zf:
        for member, name in pairs:
            size = member.stat().st_size
            info = zipfile.ZipInfo(name, date_time=date_time)
            info.compress_type = method
            info.create_system = 3
            info.external_attr = 0o100644 << 16
            if deflate:
                info._compresslevel = 6  # type: ignore[attr-defined]
            with member.open("rb") as src, zf.open(info, "w", force_zip64=size >= _ZIP64_THRESHOLD) as dst:
                shutil.copyfileobj(src, dst, 1 << 20)


def _load_cached(spec: ProductSpec, zip_path: Path, record_path: Path) -> Product | None:
    try:
        record = json.loads(record_path.read_text())
        if zip_path.stat().st_size != record["size"]:
            return None
    except (OSError, ValueError, KeyError):
        return None
    return Product(
        spec=spec,
        zip_path=zip_path,
        stac_item=record["stac_item"],
        footprint=record["footprint"],
        members=list(record["members"]),
        size=int(record["size"]),
        sha256=str(record["sha256"]),
    )


def build_product(spec: ProductSpec, out_dir: Path) -> Product:
    """Build (or fetch from the cache in ``out_dir``) the product described by ``spec``.

    The archive is named ``<item_id>-<key>.zip`` where ``key`` hashes the whole spec,
    so changing any field (bands, size, interleave...) gives a new product.  A
    ``.product.json`` record beside it makes a cache hit instant.  Everything is
    written to a temporary folder in ``out_dir`` first and renamed into place.

    Args:
        spec: what to build.
        out_dir: cache folder (created if missing).

    Returns:
        The product, with the archive's size and SHA-256.

    Raises:
        OSError: if ``out_dir`` cannot be written.

    Example:
        >>> spec = default_specs(bands=16, width=256, height=256, count=1)[0]
        >>> build_product(spec, Path("/tmp/products")).size > 0  # doctest: +SKIP
        True
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    key = _cache_key(spec)
    zip_path = out_dir / f"{spec.item_id}-{key}.zip"
    record_path = out_dir / f"{spec.item_id}-{key}.product.json"
    cached = _load_cached(spec, zip_path, record_path)
    if cached is not None:
        return cached

    work = Path(tempfile.mkdtemp(prefix=f".build-{spec.item_id}-", dir=out_dir))
    try:
        product = _build_into(spec, work, zip_path)
        record = {
            "spec": dataclasses.asdict(spec),
            "stac_item": product.stac_item,
            "footprint": product.footprint,
            "members": product.members,
            "size": product.size,
            "sha256": product.sha256,
        }
        tmp_record = work / "record.json"
        tmp_record.write_text(json.dumps(record))
        os.replace(work / "product.zip", zip_path)
        os.replace(tmp_record, record_path)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    logger.debug("built %s (%d bytes)", zip_path.name, product.size)
    return product


def _build_into(spec: ProductSpec, work: Path, final_zip: Path) -> Product:
    grid = spec.grid()
    epsg, transform = _grid(spec)
    crs = f"EPSG:{epsg}"
    acquired = _stac.parse_time(spec.datetime)
    aux = np.random.default_rng([spec.seed, 3])
    off_nadir = round(float(aux.uniform(0.5, 18.0)), 2)
    sun = _stac.sun_angles(acquired, spec.lon, spec.lat)
    platform = spec.platform
    irradiance = solar_irradiance(grid.centers)

    scene = synthesize_scene(spec)
    ring = _footprint_lonlat(scene.footprint_px, transform, epsg)
    names = spec.member_names()
    files = {key: work / Path(name).name for key, name in names.items()}
    endmembers = endmember_matrix(grid)
    write_cog(
        files["image"],
        scene,
        endmembers,
        grid,
        crs=crs,
        transform=transform,
        interleave=spec.interleave,
        rng=np.random.default_rng([spec.seed, 2]),
        tags={
            "ITEM_ID": spec.item_id,
            "PLATFORM": platform,
            "ACQUISITION_DATETIME": spec.datetime,
            "PROCESSING_LEVEL": spec.level,
        },
        level=spec.level,
        irradiance=irradiance,
        sun_elevation=sun[1],
        gdal_metadata=spec.gdal_metadata,
    )
    write_mask(files["mask"], quality_mask(scene), crs=crs, transform=transform, flag_metadata=spec.mask_flag_metadata)
    write_thumbnail(
        files["thumbnail"], scene, endmembers, grid, long_side=min(spec.thumbnail_px, spec.width, spec.height)
    )
    del scene
    footprint = _stac.footprint_collection(spec.item_id, ring)
    item = _stac.stac_item(
        item_id=spec.item_id,
        acquired=acquired,
        platform=platform,
        level=spec.level,
        cloud_cover=spec.cloud_cover,
        ring=ring,
        epsg=epsg,
        shape=(spec.height, spec.width),
        transform=transform,
        off_nadir=off_nadir,
        sun=sun,
        grid=grid,
        irradiance=irradiance,
        members=names,
        gsd=GSD_M,
        stac_bands=spec.stac_bands,
        wavelength_units=spec.wavelength_units,
    )
    documents: dict[str, str] = {
        "footprint": json.dumps(footprint, indent=2) + "\n",
        "bbox": json.dumps(_stac.bbox_collection(spec.item_id, _stac.bbox_of(ring)), indent=2) + "\n",
        "xml": _stac.product_xml(
            item_id=spec.item_id,
            platform=platform,
            level=spec.level,
            acquired=acquired,
            grid=grid,
            shape=(spec.height, spec.width),
        ),
    }
    if "header" in names:
        documents["header"] = _stac.envi_header(
            item_id=spec.item_id,
            level=spec.level,
            shape=(spec.height, spec.width),
            transform=transform,
            epsg=epsg,
            interleave=spec.interleave,
            grid=grid,
            wavelength_units=spec.wavelength_units,
        )
    for key, text in documents.items():
        files[key].write_text(text)
    order = [k for k in ("image", "mask", "thumbnail", "footprint", "bbox", "header", "xml") if k in names]
    tmp_zip = work / "product.zip"
    pack_zip(
        [(files[k], names[k]) for k in order],
        tmp_zip,
        deflate=spec.deflate_members,
        date_time=(max(1980, acquired.year), *acquired.timetuple()[1:6]),
    )
    return Product(
        spec=spec,
        zip_path=final_zip,
        stac_item=item,
        footprint=footprint,
        members=[names[k] for k in order],
        size=tmp_zip.stat().st_size,
        sha256=_sha256(tmp_zip),
    )
