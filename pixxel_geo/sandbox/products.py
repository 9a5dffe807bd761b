"""Deterministic synthetic Pixxel hyperspectral products for the sandbox.

A product is a zip archive with STORED members, as Pixxel delivers
``catalogs.zip`` archives:

- ``<item_id>.tif``: a Cloud-Optimized GeoTIFF, uint16 surface reflectance x 10000
  (``reflectance = DN * 0.0001``), UTM at 5 m, 256 px tiles, ZSTD + predictor 2,
  internal overviews, band-interleaved by default, nodata 0 outside the swath;
- ``<item_id>_metadata.json``: acquisition, sensor, processing level, bands;
- ``<item_id>_footprint.geojson``: the footprint polygon (EPSG:4326);
- ``<item_id>_stac.json``: the STAC item.

Pixels are linear mixtures of endmember spectra (:mod:`pixxel_geo.sandbox.spectra`)
laid out as fields, rivers, towns, coasts and clouds; the same spec always
gives the same bytes.  Products are cached in the output folder by a key of
the spec.

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
from pixxel_geo.sandbox._cog import SCALE_FACTOR, write_cog
from pixxel_geo.sandbox._scene import Scene, landscape_for, paint_scene
from pixxel_geo.sandbox.spectra import band_grid, endmember_matrix

__all__ = [
    "GSD_M",
    "Product",
    "ProductSpec",
    "build_product",
    "default_specs",
    "pack_zip",
    "synthesize_scene",
    "utm_epsg",
]

logger = logging.getLogger(__name__)

#: Ground sampling distance of every product, metres.
GSD_M = 5
#: Bump when the generator's output changes, so cached products are rebuilt.
GENERATOR_VERSION = "1"
#: Timestamp used for zip members when none is given (zip needs >= 1980).
DEFAULT_ZIP_TIME = (2020, 1, 1, 0, 0, 0)
_ZIP64_THRESHOLD = 0x7FFFFFFF


@dataclass(frozen=True)
class ProductSpec:
    """What to generate.

    Attributes:
        item_id: STAC item id and stem of the member names.
        place: human-readable place; keywords (delta, desert, forest, coast/city) pick the
            landscape, anything else is agricultural.
        lon, lat: scene centre (WGS84 degrees); the image is in that point's UTM zone.
        datetime: acquisition time, RFC 3339 (e.g. ``"2025-03-14T06:15:12.123456Z"``).
        cloud_cover: percent of the footprint under cloud (0-100).
        bands, width, height: cube size.
        seed: fixes the scene layout and the noise.
        interleave: ``"band"`` (default) or ``"pixel"``.
        deflate_members: pack zip members DEFLATED instead of STORED (for negative tests).
        min_nm, max_nm: centres of the first and last band, nanometres.
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
    min_nm: float = 400.0
    max_nm: float = 1000.0

    def __post_init__(self) -> None:
        if not self.item_id or any(c in self.item_id for c in '/\\:*?"<>| '):
            raise ValueError(
                f"item_id {self.item_id!r} must be non-empty and usable as a file name "
                "(no slashes, spaces or wildcards)"
            )
        if not (-180.0 <= self.lon <= 180.0) or not (-80.0 <= self.lat <= 84.0):
            raise ValueError(f"lon/lat ({self.lon}, {self.lat}) must lie within the UTM domain (-180..180, -80..84)")
        if not (0.0 <= self.cloud_cover <= 100.0):
            raise ValueError(f"cloud_cover must be a percentage 0-100, got {self.cloud_cover}")
        if self.bands < 1 or self.bands > 1000:
            raise ValueError(f"bands must be 1..1000, got {self.bands}")
        if self.width < 16 or self.height < 16:
            raise ValueError(f"width and height must be at least 16 px, got {self.width}x{self.height}")
        if self.interleave not in ("band", "pixel"):
            raise ValueError(f"interleave must be 'band' or 'pixel', got {self.interleave!r}")
        _stac.parse_time(self.datetime)
        band_grid(self.bands, self.min_nm, self.max_nm)  # validates the wavelength range


@dataclass(frozen=True)
class Product:
    """A built product.

    Attributes:
        spec: what it was built from.
        zip_path: the archive.
        stac_item: the STAC item (dict; asset hrefs are member names).
        footprint: the footprint GeoJSON FeatureCollection (EPSG:4326).
        members: member names in archive order (image, metadata, footprint, STAC).
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


def default_specs(bands: int = 150, width: int = 1024, height: int = 1024, count: int = 6) -> list[ProductSpec]:
    """A workspace of scenes over varied places (farmland, coastal city, delta, forest, desert).

    Acquisitions are near 10:45 local solar time, as for a sun-synchronous orbit;
    item ids look like ``FF01_20240314_053411_L2A_0``.  More than six scenes
    revisit the places a season later.

    Args:
        bands: bands per product.
        width, height: pixels per product.
        count: number of products (one per seed 0..count-1).

    Returns:
        ``count`` specs, deterministic.

    Raises:
        ValueError: if ``count < 0`` or a size is invalid.

    Example:
        >>> [s.item_id for s in default_specs(count=2)]
        ['FF01_20240314_053411_L2A_0', 'FF02_20241122_055633_L2A_1']
    """
    if count < 0:
        raise ValueError(f"count must be >= 0, got {count}")
    specs = []
    for n in range(count):
        place, lon, lat, day, cloud = _DEFAULT_SCENES[n % len(_DEFAULT_SCENES)]
        revisit = n // len(_DEFAULT_SCENES)
        local_hours = 10.75 + ((n * 37) % 23 - 11) / 60.0
        start = datetime.fromisoformat(day).replace(tzinfo=UTC)
        when = start + timedelta(days=97 * revisit, hours=local_hours - lon / 15.0)
        when = when.replace(microsecond=(n * 137_911) % 1_000_000)
        platform = f"FF0{n % 3 + 1}"
        item_id = f"{platform}_{when:%Y%m%d_%H%M%S}_L2A_{n}"
        specs.append(
            ProductSpec(
                item_id=item_id,
                place=place,
                lon=lon,
                lat=lat,
                datetime=_stac.format_time(when),
                cloud_cover=cloud if revisit == 0 else (cloud + 9.0 * revisit) % 40.0,
                bands=bands,
                width=width,
                height=height,
                seed=n,
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


def _geotransform(spec: ProductSpec, epsg: int) -> Affine:
    from rasterio.warp import transform as warp_transform

    xs, ys = warp_transform("EPSG:4326", f"EPSG:{epsg}", [spec.lon], [spec.lat])
    cx = round(xs[0] / GSD_M) * GSD_M
    cy = round(ys[0] / GSD_M) * GSD_M
    return Affine(GSD_M, 0.0, cx - spec.width // 2 * GSD_M, 0.0, -GSD_M, cy + spec.height // 2 * GSD_M)


def _footprint_lonlat(ring_px: list[tuple[float, float]], transform: Affine, epsg: int) -> list[list[float]]:
    from rasterio.warp import transform as warp_transform

    xy = [transform @ p for p in ring_px]
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
    return paint_scene(rng, (spec.height, spec.width), landscape_for(spec.place), spec.cloud_cover)


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
    members: list[Path],
    out: Path,
    deflate: bool = False,
    date_time: tuple[int, int, int, int, int, int] = DEFAULT_ZIP_TIME,
) -> None:
    """Pack files into a deterministic zip (same inputs give the same bytes).

    Members keep their file names, in the order given, with fixed timestamps and
    permissions; they are STORED (uncompressed, so readers can seek inside them)
    unless ``deflate`` is true.  Files are streamed, never read whole, and zip64
    records are used for members of 2 GiB and more.

    Args:
        members: files to pack.
        out: archive path (overwritten).
        deflate: compress members with DEFLATE (level 6) instead of storing them.
        date_time: timestamp recorded for every member (year >= 1980).

    Raises:
        FileNotFoundError: if a member does not exist.
        ValueError: if two members share a file name.

    Example:
        >>> pack_zip([Path("a.tif"), Path("a.json")], Path("a.zip"))  # doctest: +SKIP
    """
    names = [m.name for m in members]
    if len(set(names)) != len(names):
        raise ValueError(f"zip member names must be unique, got {names}")
    method = zipfile.ZIP_DEFLATED if deflate else zipfile.ZIP_STORED
    with zipfile.ZipFile(out, "w", allowZip64=True) as zf:
        for member in members:
            size = member.stat().st_size
            info = zipfile.ZipInfo(member.name, date_time=date_time)
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
    grid = band_grid(spec.bands, spec.min_nm, spec.max_nm)
    epsg = utm_epsg(spec.lon, spec.lat)
    transform = _geotransform(spec, epsg)
    acquired = _stac.parse_time(spec.datetime)
    aux = np.random.default_rng([spec.seed, 3])
    off_nadir = round(float(aux.uniform(0.5, 18.0)), 2)
    sun = _stac.sun_angles(acquired, spec.lon, spec.lat)
    platform = spec.item_id.split("_")[0] if spec.item_id.startswith("FF") else "FF01"
    landscape = landscape_for(spec.place)

    scene = synthesize_scene(spec)
    ring = _footprint_lonlat(scene.footprint_px, transform, epsg)
    names = {
        "image": f"{spec.item_id}.tif",
        "metadata": f"{spec.item_id}_metadata.json",
        "footprint": f"{spec.item_id}_footprint.geojson",
        "stac": f"{spec.item_id}_stac.json",
    }
    write_cog(
        work / names["image"],
        scene,
        endmember_matrix(grid),
        grid,
        crs=f"EPSG:{epsg}",
        transform=transform,
        interleave=spec.interleave,
        rng=np.random.default_rng([spec.seed, 2]),
        tags={
            "ITEM_ID": spec.item_id,
            "PLATFORM": platform,
            "ACQUISITION_DATETIME": spec.datetime,
            "PROCESSING_LEVEL": "L2A",
            "SCALE_FACTOR": str(SCALE_FACTOR),
            "WAVELENGTH_UNITS": "nm",
        },
    )
    del scene
    footprint = _stac.footprint_collection(spec.item_id, ring)
    item = _stac.stac_item(
        item_id=spec.item_id,
        acquired=acquired,
        platform=platform,
        cloud_cover=spec.cloud_cover,
        ring=ring,
        epsg=epsg,
        shape=(spec.height, spec.width),
        transform=transform,
        off_nadir=off_nadir,
        sun=sun,
        grid=grid,
        members=names,
    )
    metadata = _stac.metadata_document(
        item_id=spec.item_id,
        place=spec.place,
        lon=spec.lon,
        lat=spec.lat,
        acquired=acquired,
        platform=platform,
        cloud_cover=spec.cloud_cover,
        off_nadir=off_nadir,
        sun=sun,
        epsg=epsg,
        shape=(spec.height, spec.width),
        transform=transform,
        interleave=spec.interleave,
        grid=grid,
        landscape=landscape,
    )
    for key, doc in (("metadata", metadata), ("footprint", footprint), ("stac", item)):
        (work / names[key]).write_text(json.dumps(doc, indent=2) + "\n")
    member_paths = [work / names[k] for k in ("image", "metadata", "footprint", "stac")]
    tmp_zip = work / "product.zip"
    pack_zip(
        member_paths,
        tmp_zip,
        deflate=spec.deflate_members,
        date_time=(max(1980, acquired.year), *acquired.timetuple()[1:6]),
    )
    return Product(
        spec=spec,
        zip_path=final_zip,
        stac_item=item,
        footprint=footprint,
        members=[p.name for p in member_paths],
        size=tmp_zip.stat().st_size,
        sha256=_sha256(tmp_zip),
    )
