"""Render a painted scene to Cloud-Optimized GeoTIFFs: the image, its quality mask, its thumbnail.

The cube is computed block-wise (a strip of tile rows at a time) as
``endmembers.T @ abundances`` so the band-sequential layout comes out of
the matrix product directly, then written into an uncompressed tiled
GeoTIFF in memory (``/vsimem``).  Overviews are built there, and a final
``CreateCopy`` with ``COPY_SRC_OVERVIEWS=YES`` writes the compressed file
with GDAL's cloud-optimized layout (IFDs first, overviews before full
resolution, ghost header).  GDAL 3.10's COG driver cannot write
band-interleaved files, which is why the GTiff route is used.

Radiometry follows Pixxel's product description: L2A (surface reflectance) and L1C
(top-of-atmosphere reflectance) are uint16 scaled 0-50000 (reflectance = DN / 50000);
L1B is float32 top-of-atmosphere radiance in W m-2 sr-1 um-1, not scaled. Nodata is 0.
"""

from __future__ import annotations

import math
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import rasterio
import rasterio.errors
from affine import Affine
from numpy.typing import NDArray
from rasterio.enums import Resampling
from rasterio.io import MemoryFile
from rasterio.shutil import copy as gdal_copy
from rasterio.windows import Window

from pixxel_geo.sandbox._scene import Scene
from pixxel_geo.sandbox.spectra import BandGrid

#: L2A and L1C: reflectance = DN / REFLECTANCE_DIVISOR (Pixxel: "linearly scaled 0-50000").
REFLECTANCE_DIVISOR = 50000
#: Multiply a DN by this to get reflectance (0-1).
SCALE_FACTOR = 1.0 / REFLECTANCE_DIVISOR
TILE = 256
NODATA = 0
LEVELS = ("L2A", "L1C", "L1B")
RADIANCE_UNITS = "W m-2 sr-1 um-1"

#: Quality-mask bits (Pixxel publishes that the mask is bit-encoded, not which bit means what).
#: Kept equal to ``pixxel_geo.io.quality.QUALITY_FLAGS`` (the sandbox imports nothing from the
#: client side; a test compares the two).
MASK_BITS: dict[str, int] = {
    "cloud": 0,
    "cloud_shadow": 1,
    "haze": 2,
    "water": 3,
    "snow_ice": 4,
    "saturated": 5,
    "no_data": 7,
}


def overview_factors(width: int, height: int) -> list[int]:
    """Overview decimation factors 2, 4, 8 kept while the level is at least 32 px on its short side."""
    return [f for f in (2, 4, 8) if min(width, height) // f >= 32]


def _noise_sigma(grid: BandGrid) -> NDArray[np.float32]:
    """Per-band noise in reflectance units: lowest mid-spectrum, higher at the detector's ends."""
    lam = np.asarray(grid.centers, dtype=np.float32)
    return (0.0015 * (1.0 + 2.0 * ((lam - 650.0) / 350.0) ** 2)).astype(np.float32)


def _toa_reflectance(refl: NDArray[np.float32], centers: NDArray[np.float32]) -> NDArray[np.float32]:
    """Surface to top-of-atmosphere reflectance: a little attenuation plus Rayleigh path reflectance."""
    path = 0.035 * (470.0 / centers) ** 4 + 0.005
    return refl * 0.9 + path[:, None]


def render_strip(
    scene: Scene,
    endmembers: NDArray[np.float32],
    sigma: NDArray[np.float32],
    rows: slice,
    noise_pool: NDArray[np.float32],
    offset: int,
    *,
    level: str = "L2A",
    centers: NDArray[np.float32] | None = None,
    radiance_gain: NDArray[np.float32] | None = None,
) -> NDArray[Any]:
    """Stored values ``(bands, rows, W)`` for a strip of image rows: uint16 DN, or float32 radiance (L1B)."""
    k, _h, w = scene.abundances.shape
    bands = endmembers.shape[1]
    ab = scene.abundances[:, rows, :].reshape(k, -1)
    n = ab.shape[1]
    refl = endmembers.T @ ab  # (bands, n), band-sequential
    refl *= scene.brightness[rows, :].reshape(1, -1)
    refl += noise_pool[offset : offset + bands * n].reshape(bands, n) * sigma[:, None]
    if level != "L2A":
        assert centers is not None
        refl = _toa_reflectance(refl, centers)
    invalid = ~scene.valid[rows, :]
    if level == "L1B":
        assert radiance_gain is not None
        radiance = np.clip(refl * radiance_gain[:, None], 0.01, None).astype(np.float32).reshape(bands, -1, w)
        radiance[:, invalid] = NODATA
        return radiance
    refl *= float(REFLECTANCE_DIVISOR)
    np.clip(refl, 1.0, float(REFLECTANCE_DIVISOR), out=refl)
    dn = np.rint(refl).astype(np.uint16).reshape(bands, -1, w)
    dn[:, invalid] = NODATA
    return dn


def radiance_gain(centers: NDArray[np.float32], irradiance: NDArray[Any], sun_elevation: float) -> NDArray[np.float32]:
    """Reflectance to radiance (W m-2 sr-1 um-1): E_sun * cos(solar zenith) / pi (Earth-Sun distance 1 AU)."""
    cos_zenith = max(0.05, math.sin(math.radians(sun_elevation)))
    return (np.asarray(irradiance, dtype=np.float64) * cos_zenith / math.pi).astype(np.float32)


def write_cog(
    path: Path,
    scene: Scene,
    endmembers: NDArray[np.float32],
    grid: BandGrid,
    *,
    crs: str,
    transform: Affine,
    interleave: str,
    rng: np.random.Generator,
    tags: dict[str, str],
    level: str = "L2A",
    irradiance: NDArray[Any] | None = None,
    sun_elevation: float = 60.0,
    gdal_metadata: bool = False,
) -> None:
    """Render ``scene`` with ``endmembers`` and write it as a COG at ``path``.

    Args:
        path: output file (overwritten).
        scene: the painted scene.
        endmembers: ``(k, bands)`` band-integrated reflectance of the endmembers.
        grid: band layout (names become band descriptions).
        crs: e.g. ``"EPSG:4326"``.
        transform: pixel-to-CRS affine transform.
        interleave: ``"band"`` or ``"pixel"``.
        rng: random source for the sensor noise.
        tags: dataset-level metadata tags.
        level: ``"L2A"``, ``"L1C"`` (uint16, 0-50000) or ``"L1B"`` (float32 radiance).
        irradiance: solar irradiance per band (needed for L1B).
        sun_elevation: degrees (for L1B radiance).
        gdal_metadata: also write GDAL band scale/offset/unit and wavelength metadata
            (``IMAGERY`` domain ``CENTRAL_WAVELENGTH_UM`` / ``FWHM_UM``; ENVI-style ``wavelength``).
    """
    if level not in LEVELS:
        raise ValueError(f"level must be one of {', '.join(LEVELS)}, got {level!r}")
    _, h, w = scene.abundances.shape
    bands = len(grid)
    sigma = _noise_sigma(grid)
    centers = np.asarray(grid.centers, dtype=np.float32)
    gain = None
    if level == "L1B":
        if irradiance is None:
            raise ValueError("L1B radiance needs the solar irradiance of each band")
        gain = radiance_gain(centers, irradiance, sun_elevation)
    strip = TILE
    pool_len = bands * strip * w + 1_000_003
    noise_pool = rng.standard_normal(pool_len, dtype=np.float32)
    dtype = "float32" if level == "L1B" else "uint16"
    profile: dict[str, Any] = {
        "driver": "GTiff",
        "width": w,
        "height": h,
        "count": bands,
        "dtype": dtype,
        "crs": crs,
        "transform": transform,
        "nodata": NODATA,
        "tiled": True,
        "blockxsize": TILE,
        "blockysize": TILE,
        "interleave": interleave,
        "bigtiff": "IF_SAFER",
    }
    with MemoryFile() as mem:
        with mem.open(**profile) as dst:
            for r0 in range(0, h, strip):
                rows = slice(r0, min(h, r0 + strip))
                n = (rows.stop - r0) * w
                offset = int(rng.integers(0, pool_len - bands * n + 1))
                values = render_strip(
                    scene, endmembers, sigma, rows, noise_pool, offset, level=level, centers=centers, radiance_gain=gain
                )
                dst.write(values, window=Window(0, r0, w, rows.stop - r0))
            dst.descriptions = grid.names
            dst.update_tags(**tags)
            if gdal_metadata:
                _write_band_metadata(dst, grid, level)
            factors = overview_factors(w, h)
            if factors:
                dst.build_overviews(factors, Resampling.average)
        _copy_cog(mem, path, interleave=interleave, predictor=3 if level == "L1B" else 2)


def _write_band_metadata(dst: Any, grid: BandGrid, level: str) -> None:
    bands = len(grid)
    if level == "L1B":
        dst.units = [RADIANCE_UNITS] * bands
    else:
        dst.scales = [SCALE_FACTOR] * bands
        dst.offsets = [0.0] * bands
        dst.units = ["1"] * bands
    for i in range(bands):
        dst.update_tags(
            i + 1,
            ns="IMAGERY",
            CENTRAL_WAVELENGTH_UM=f"{grid.centers[i] / 1000.0:.6f}",
            FWHM_UM=f"{grid.fwhm[i] / 1000.0:.6f}",
        )
        dst.update_tags(i + 1, wavelength=f"{grid.centers[i]:.3f}", fwhm=f"{grid.fwhm[i]:.3f}", wavelength_units="nm")


def _copy_cog(mem: MemoryFile, path: Path, *, interleave: str, predictor: int, resampling: str | None = None) -> None:
    with mem.open() as src, rasterio.Env(GDAL_NUM_THREADS="ALL_CPUS"):
        gdal_copy(
            src,
            str(path),
            driver="GTiff",
            tiled=True,
            blockxsize=TILE,
            blockysize=TILE,
            interleave=interleave,
            compress="ZSTD",
            zstd_level=1,
            predictor=predictor,
            copy_src_overviews=True,
            num_threads="ALL_CPUS",
            bigtiff="IF_SAFER",
        )


def quality_mask(scene: Scene) -> NDArray[np.uint8]:
    """The bit-encoded quality flags of a scene (bits: :data:`MASK_BITS`).

    Cloud where the cloud is at least half opaque, haze where it is thinner (10-50 %),
    cloud shadow where a shadow darkens clear ground by a third or more of its full
    strength, water where open or turbid water dominates, no_data outside the footprint.
    """
    from pixxel_geo.sandbox.spectra import ENDMEMBER_NAMES

    mask = np.zeros(scene.valid.shape, dtype=np.uint8)
    if scene.cloud is not None:
        cloud = scene.cloud >= 0.5
        mask[cloud] |= 1 << MASK_BITS["cloud"]
        mask[(scene.cloud >= 0.1) & ~cloud] |= 1 << MASK_BITS["haze"]
        if scene.shadow is not None:
            mask[(scene.shadow >= 0.3) & ~cloud] |= 1 << MASK_BITS["cloud_shadow"]
    water = scene.abundances[ENDMEMBER_NAMES.index("water")] + scene.abundances[ENDMEMBER_NAMES.index("turbid_water")]
    mask[water >= 0.5] |= 1 << MASK_BITS["water"]
    mask[~scene.valid] = 1 << MASK_BITS["no_data"]
    return mask


def write_mask(path: Path, mask: NDArray[np.uint8], *, crs: str, transform: Affine, flag_metadata: bool) -> None:
    """Write the quality mask as a one-band uint8 COG on the image's grid.

    With ``flag_metadata`` the band carries CF-style ``flag_masks`` / ``flag_meanings``
    metadata (what a reader should prefer over any built-in table).
    """
    h, w = mask.shape
    profile: dict[str, Any] = {
        "driver": "GTiff",
        "width": w,
        "height": h,
        "count": 1,
        "dtype": "uint8",
        "crs": crs,
        "transform": transform,
        "tiled": True,
        "blockxsize": TILE,
        "blockysize": TILE,
    }
    with MemoryFile() as mem:
        with mem.open(**profile) as dst:
            dst.write(mask, 1)
            dst.descriptions = ("quality flags",)
            if flag_metadata:
                names = sorted(MASK_BITS, key=MASK_BITS.__getitem__)
                dst.update_tags(
                    1,
                    flag_masks=",".join(str(1 << MASK_BITS[n]) for n in names),
                    flag_meanings=" ".join(names),
                )
            factors = overview_factors(w, h)
            if factors:
                dst.build_overviews(factors, Resampling.nearest)
        _copy_cog(mem, path, interleave="band", predictor=1)


def write_thumbnail(
    path: Path, scene: Scene, endmembers: NDArray[np.float32], grid: BandGrid, *, long_side: int
) -> tuple[int, int]:
    """Write an RGB JPEG thumbnail (bands nearest 650 / 550 / 470 nm, one stretch for all three).

    Returns:
        The thumbnail's (width, height).
    """
    _, h, w = scene.abundances.shape
    step = max(1, math.ceil(max(h, w) / max(1, long_side)))
    rows, cols = np.arange(0, h, step), np.arange(0, w, step)
    picks = [int(np.argmin(np.abs(np.asarray(grid.centers) - nm))) for nm in (650.0, 550.0, 470.0)]
    ab = scene.abundances[:, rows][:, :, cols]
    k = ab.shape[0]
    refl = (endmembers[:, picks].T @ ab.reshape(k, -1)).reshape(3, len(rows), len(cols))
    refl *= scene.brightness[rows][:, cols][None]
    valid = scene.valid[rows][:, cols]
    values = refl[:, valid]
    lo, hi = np.percentile(values, [2, 98]) if values.size else (0.0, 1.0)
    scaled = np.clip((refl - lo) / max(float(hi - lo), 1e-6) * 255.0, 0, 255).astype(np.uint8)
    scaled[:, ~valid] = 0
    with warnings.catch_warnings():
        # A thumbnail has no georeferencing, by design.
        warnings.simplefilter("ignore", rasterio.errors.NotGeoreferencedWarning)
        with (
            rasterio.Env(GDAL_PAM_ENABLED="NO"),
            rasterio.open(
                path, "w", driver="JPEG", width=len(cols), height=len(rows), count=3, dtype="uint8", quality=90
            ) as dst,
        ):
            dst.write(scaled)
    return len(cols), len(rows)
