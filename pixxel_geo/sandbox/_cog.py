"""Render a painted scene to a Cloud-Optimized GeoTIFF of scaled reflectance.

The cube is computed block-wise (a strip of tile rows at a time) as
``endmembers.T @ abundances`` so the band-sequential layout comes out of
the matrix product directly, then written into an uncompressed tiled
GeoTIFF in memory (``/vsimem``).  Overviews are built there, and a final
``CreateCopy`` with ``COPY_SRC_OVERVIEWS=YES`` writes the compressed file
with GDAL's cloud-optimized layout (IFDs first, overviews before full
resolution, ghost header).  GDAL 3.10's COG driver cannot write
band-interleaved files, which is why the GTiff route is used.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import rasterio
from affine import Affine
from numpy.typing import NDArray
from rasterio.enums import Resampling
from rasterio.io import MemoryFile
from rasterio.shutil import copy as gdal_copy
from rasterio.windows import Window

from pixxel_geo.sandbox._scene import Scene
from pixxel_geo.sandbox.spectra import BandGrid

#: Multiply a DN by this to get reflectance (0-1).
SCALE_FACTOR = 0.0001
TILE = 256
NODATA = 0


def overview_factors(width: int, height: int) -> list[int]:
    """Overview decimation factors 2, 4, 8 kept while the level is at least 32 px on its short side."""
    return [f for f in (2, 4, 8) if min(width, height) // f >= 32]


def _noise_sigma(grid: BandGrid) -> NDArray[np.float32]:
    """Per-band noise in reflectance units: lowest mid-spectrum, higher at the detector's ends."""
    lam = np.asarray(grid.centers, dtype=np.float32)
    return (0.0015 * (1.0 + 2.0 * ((lam - 650.0) / 350.0) ** 2)).astype(np.float32)


def render_dn_strip(
    scene: Scene,
    endmembers: NDArray[np.float32],
    sigma: NDArray[np.float32],
    rows: slice,
    noise_pool: NDArray[np.float32],
    offset: int,
) -> NDArray[np.uint16]:
    """Digital numbers ``(bands, rows, W)`` for a strip of image rows."""
    k, _h, w = scene.abundances.shape
    bands = endmembers.shape[1]
    ab = scene.abundances[:, rows, :].reshape(k, -1)
    n = ab.shape[1]
    refl = endmembers.T @ ab  # (bands, n), band-sequential
    refl *= scene.brightness[rows, :].reshape(1, -1)
    refl += noise_pool[offset : offset + bands * n].reshape(bands, n) * sigma[:, None]
    refl *= 1.0 / SCALE_FACTOR
    np.clip(refl, 1.0, 65535.0, out=refl)
    dn = refl.astype(np.uint16).reshape(bands, -1, w)
    dn[:, ~scene.valid[rows, :]] = NODATA
    return dn


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
) -> None:
    """Render ``scene`` with ``endmembers`` and write it as a COG at ``path``.

    Args:
        path: output file (overwritten).
        scene: the painted scene.
        endmembers: ``(k, bands)`` band-integrated reflectance of the endmembers.
        grid: band layout (names become band descriptions; wavelengths go to band metadata).
        crs: e.g. ``"EPSG:32643"``.
        transform: pixel-to-CRS affine transform.
        interleave: ``"band"`` or ``"pixel"``.
        rng: random source for the sensor noise.
        tags: dataset-level metadata tags.
    """
    _, h, w = scene.abundances.shape
    bands = len(grid)
    sigma = _noise_sigma(grid)
    strip = TILE
    pool_len = bands * strip * w + 1_000_003
    noise_pool = rng.standard_normal(pool_len, dtype=np.float32)
    profile: dict[str, Any] = {
        "driver": "GTiff",
        "width": w,
        "height": h,
        "count": bands,
        "dtype": "uint16",
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
                dn = render_dn_strip(scene, endmembers, sigma, rows, noise_pool, offset)
                dst.write(dn, window=Window(0, r0, w, rows.stop - r0))
            dst.descriptions = grid.names
            dst.scales = [SCALE_FACTOR] * bands
            dst.offsets = [0.0] * bands
            dst.units = ["1"] * bands
            dst.update_tags(**tags)
            for i in range(bands):
                dst.update_tags(
                    i + 1,
                    ns="IMAGERY",
                    CENTRAL_WAVELENGTH_UM=f"{grid.centers[i] / 1000.0:.6f}",
                    FWHM_UM=f"{grid.fwhm[i] / 1000.0:.6f}",
                )
                dst.update_tags(i + 1, wavelength=f"{grid.centers[i]:.3f}", fwhm=f"{grid.fwhm[i]:.3f}")
            factors = overview_factors(w, h)
            if factors:
                dst.build_overviews(factors, Resampling.average)
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
                predictor=2,
                copy_src_overviews=True,
                num_threads="ALL_CPUS",
                bigtiff="IF_SAFER",
            )
