"""A product as an xarray DataArray with wavelengths on the band axis.

Example:
    >>> import pixxel_geo as px
    >>> cube = px.open_dataset("cat_123", chunks=True)  # doctest: +SKIP
    >>> cube.sel(band=650, method="nearest").mean().compute()  # doctest: +SKIP
"""

from __future__ import annotations

import contextvars
import hashlib
import json
import math
import threading
import warnings
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pixxel_geo.api.errors import InvalidInputError
from pixxel_geo.io.archive import ZipArchive
from pixxel_geo.io.bound import open_bound
from pixxel_geo.io.gdal_options import opener_env
from pixxel_geo.io.raster import _resolve, opener_for

if TYPE_CHECKING:
    import xarray as xr

    from pixxel_geo.io.lazy_array import ProductArray

__all__ = ["BandInfo", "ProductInfo", "default_chunks", "open_dataset", "product_info"]

TARGET_CHUNK_BYTES = 128 * 1024 * 1024


@dataclass(frozen=True)
class BandInfo:
    """One spectral band: name, centre wavelength and FWHM in nanometres."""

    name: str
    center_wavelength: float
    fwhm: float | None = None


@dataclass(frozen=True)
class ProductInfo:
    """What a product's STAC and metadata members say about its bands and radiometry."""

    bands: list[BandInfo] = field(default_factory=list)
    scale_factor: float | None = None
    offset: float | None = None
    nodata: float | None = None
    stac: dict[str, Any] | None = None
    metadata: dict[str, Any] | None = None


def _bands_from_stac(item: dict[str, Any]) -> list[BandInfo]:
    assets = item.get("assets") or {}
    ordered = sorted(assets.values(), key=lambda a: "data" not in (a.get("roles") or []))
    for asset in ordered:
        eo = asset.get("eo:bands")
        if eo:
            return [
                BandInfo(
                    str(b.get("name", f"b{i + 1}")),
                    float(b["center_wavelength"]),
                    float(b["fwhm"]) if b.get("fwhm") is not None else None,
                )
                for i, b in enumerate(eo)
                if b.get("center_wavelength") is not None
            ]
    eo = (item.get("properties") or {}).get("eo:bands") or []
    return [
        BandInfo(str(b.get("name", i)), float(b["center_wavelength"]), b.get("fwhm"))
        for i, b in enumerate(eo)
        if b.get("center_wavelength") is not None
    ]


def _bands_from_metadata(meta: dict[str, Any]) -> list[BandInfo]:
    out = []
    for i, b in enumerate(meta.get("bands") or []):
        wavelength = b.get("wavelength", b.get("center_wavelength"))
        if wavelength is None:
            return []
        fwhm = b.get("fwhm")
        out.append(BandInfo(str(b.get("name", f"b{i + 1}")), float(wavelength), fwhm))
    return out


_MAX_INFOS = 64
_info_cache: OrderedDict[str, ProductInfo] = OrderedDict()
_info_lock = threading.Lock()


def product_info(archive: ZipArchive, catalog: Any | None = None) -> ProductInfo:
    """Bands and radiometry of a product, from a ``Catalog`` or the product's own members.

    The STAC item (the ``Catalog``'s ``details`` or the ``*_stac.json`` member) gives
    the bands; the ``*_metadata.json`` member gives the scale factor, offset and nodata.

    Args:
        archive: the product archive.
        catalog: a ``px.Catalog`` whose STAC item to use, if at hand.

    Returns:
        What was found (empty lists / ``None`` for what was not).
    """
    key = archive.source.key
    with _info_lock:
        cached = _info_cache.get(key)
        if cached is not None:
            _info_cache.move_to_end(key)
    if cached is not None and catalog is None:
        return cached
    names = archive.names()
    stac = getattr(catalog, "details", None) if catalog is not None else None
    if not stac:
        stac_name = next((n for n in names if n.lower().endswith("_stac.json")), None)
        stac = json.loads(archive.read(stac_name)) if stac_name else None
    meta_name = next((n for n in names if n.lower().endswith("_metadata.json")), None)
    meta = json.loads(archive.read(meta_name)) if meta_name else None
    bands = _bands_from_stac(stac) if stac else []
    if not bands and meta:
        bands = _bands_from_metadata(meta)
    radiometry = (meta or {}).get("radiometry") or {}
    raster = (meta or {}).get("raster") or {}
    info = ProductInfo(
        bands=bands,
        scale_factor=radiometry.get("scale_factor"),
        offset=radiometry.get("offset"),
        nodata=raster.get("nodata"),
        stac=stac,
        metadata=meta,
    )
    with _info_lock:
        _info_cache[key] = info
        _info_cache.move_to_end(key)
        while len(_info_cache) > _MAX_INFOS:
            _info_cache.popitem(last=False)
    return info


def default_chunks(
    bands: int, height: int, width: int, itemsize: int, block: tuple[int, int] = (256, 256)
) -> dict[str, int]:
    """Chunks holding the whole spectrum, x/y multiples of the tile size, about 128 MiB.

    >>> default_chunks(150, 2048, 2048, 2)
    {'band': -1, 'y': 512, 'x': 512}
    """
    per_pixel = max(1, bands * itemsize)
    side = math.sqrt(TARGET_CHUNK_BYTES / per_pixel)
    by, bx = block
    ny = max(1, int(side // by))
    nx = max(1, int(side // bx))
    return {"band": -1, "y": min(height, ny * by), "x": min(width, nx * bx)}


def _normalise_chunks(
    chunks: Any, bands: int, height: int, width: int, itemsize: int, block: tuple[int, int],
    pixel_interleaved: bool,
) -> dict[str, int] | None:  # fmt: skip
    if chunks is None or chunks is False:
        return None
    if chunks is True or chunks == "auto":
        return default_chunks(bands, height, width, itemsize, block)
    if isinstance(chunks, int):
        chunks = {"y": chunks, "x": chunks}
    if not isinstance(chunks, dict):
        raise InvalidInputError(
            f"chunks must be None, True, 'auto', an int or a dict like {{'y': 1024, 'x': 1024}}, not {chunks!r}"
        )
    unknown = set(chunks) - {"band", "x", "y"}
    if unknown:
        raise InvalidInputError(f"chunks has unknown dimensions {sorted(unknown)}; use band, y, x")
    out = default_chunks(bands, height, width, itemsize, block)
    for dim, tile, size in (("y", block[0], height), ("x", block[1], width)):
        if dim in chunks:
            want = int(chunks[dim])
            # Whole tiles only: a split tile is fetched (and decompressed) twice.
            out[dim] = size if want in (-1, 0) or want >= size else max(tile, want // tile * tile)
    if "band" in chunks and not pixel_interleaved:
        out["band"] = int(chunks["band"])
    return out


def _rioxarray_metadata(name: str, opener: Any) -> xr.DataArray:
    """rioxarray's coordinates, CRS and attributes for the member (its data is never read).

    rioxarray opens the member through rasterio itself: do it, and close it, inside one
    fresh context (see :mod:`pixxel_geo.io.bound`).
    """
    import rioxarray

    def describe() -> Any:
        with warnings.catch_warnings():
            # rioxarray still multiplies Affine transforms with `*` (affine >= 3.1 warns).
            warnings.filterwarnings("ignore", "Use `@` matmul", PendingDeprecationWarning)
            with opener_env():
                opened: Any = rioxarray.open_rasterio(
                    name, opener=opener, lock=False, cache=False, mask_and_scale=False
                )
        if isinstance(opened, list):
            for item in opened:
                item.close()
        else:
            opened.close()
        return opened

    da = contextvars.Context().run(describe)
    if type(da).__name__ != "DataArray":
        raise TypeError(f"expected one raster in {name!r}, got {type(da).__name__}")
    return da


def _with_product_array(meta: xr.DataArray, array: ProductArray, cache: bool) -> xr.DataArray:
    """``meta``'s coordinates and attributes over ``array`` (read lazily; kept once read if ``cache``)."""
    import xarray as xr
    from xarray.core import indexing

    data: Any = indexing.LazilyIndexedArray(array)
    if cache:
        data = indexing.MemoryCachedArray(indexing.CopyOnWriteArray(data))
    variable = xr.Variable(meta.dims, data, attrs=dict(meta.attrs), encoding=dict(meta.encoding))
    da = xr.DataArray(variable, coords=meta.coords, name=meta.name)
    da.set_close(array.close)
    return da


def open_dataset(
    source: Any,
    chunks: Any = None,
    *,
    member: str | None = None,
    client: Any | None = None,
    mask_and_scale: bool = True,
) -> xr.DataArray:
    """Open a product as a DataArray ``(band, y, x)`` with wavelengths (nm) on ``band``.

    Args:
        source: a catalog id, ``Catalog``, ``Download``, signed URL or ``pixxel://`` path.
        chunks: ``None`` for lazy numpy-backed reads; ``True``/``"auto"`` for dask with
            chunks holding the whole spectrum, x/y in whole 256-px tiles; or a dict
            (``{"y": 1024, "x": 1024}``), rounded to whole tiles. Bands are never split
            on pixel-interleaved files.
        member: the raster member (default: the product's ``.tif``).
        client: a ``px.Client`` (default: from the environment).
        mask_and_scale: mask nodata as NaN and apply the reflectance scale/offset
            (float32 result); ``False`` keeps the stored integers.

    Returns:
        A DataArray with coordinates ``band`` (centre wavelength, nm), ``fwhm``,
        ``band_name``, ``y``, ``x`` and the CRS (``.rio.crs``).

    Raises:
        MemberNotFoundError: no such member.
        InvalidInputError: bad ``chunks``.

    Example:
        >>> cube = open_dataset(catalog_id, chunks=True)  # doctest: +SKIP
        >>> cube.mean(dim=("y", "x")).compute()  # doctest: +SKIP
    """
    import numpy as np
    import xarray as xr

    from pixxel_geo.io.lazy_array import ProductArray

    resolved, name = _resolve(source, member, client)
    archive = resolved.archive
    opener = opener_for(archive, name)
    catalog = source if type(source).__name__ == "Catalog" else None
    info = product_info(archive, catalog)
    with open_bound(name, opener=opener) as src:
        count, height, width = src.count, src.height, src.width
        dtype = src.dtypes[0]
        itemsize = np.dtype(dtype).itemsize
        block = tuple(src.block_shapes[0])
        pixel = src.interleaving is not None and src.interleaving.name == "pixel"
        gdal_scales, gdal_offsets, gdal_nodata = src.scales, src.offsets, src.nodata
    norm = _normalise_chunks(chunks, count, height, width, itemsize, (block[0], block[1]), pixel)
    array = ProductArray(opener, name, (count, height, width), dtype)
    da = _with_product_array(_rioxarray_metadata(name, opener), array, cache=norm is None)
    if norm is not None:
        token = hashlib.sha256(f"{archive.source.key}\0{name}".encode()).hexdigest()[:32]
        da = da.chunk(norm, token=token)
    if not isinstance(da, xr.DataArray):
        raise TypeError(f"expected one raster in {name!r}, got {type(da).__name__}")
    if mask_and_scale:
        nodata = gdal_nodata if gdal_nodata is not None else info.nodata
        scale_arr: Any
        offset_arr: Any
        if any(s != 1.0 for s in gdal_scales) or any(o != 0.0 for o in gdal_offsets):
            scale_arr = np.asarray(gdal_scales, dtype="float32")[:, None, None]
            offset_arr = np.asarray(gdal_offsets, dtype="float32")[:, None, None]
        else:
            scale = float(info.scale_factor) if info.scale_factor is not None else 1.0
            offset = float(info.offset) if info.offset is not None else 0.0
            scale_arr = np.float32(scale)
            offset_arr = np.float32(offset)
        attrs = {k: v for k, v in da.attrs.items() if k not in ("scale_factor", "add_offset")}
        values = da.astype("float32")
        if nodata is not None:
            values = values.where(da != nodata)
        da = (values * scale_arr + offset_arr).astype("float32")
        da.attrs = {**attrs, "_FillValue": np.nan}
        da = da.rio.write_nodata(np.nan, encoded=False)
    if len(info.bands) == count:
        da = da.assign_coords(
            band=("band", [b.center_wavelength for b in info.bands]),
            fwhm=("band", [np.nan if b.fwhm is None else float(b.fwhm) for b in info.bands]),
            band_name=("band", [b.name for b in info.bands]),
        )
        da["band"].attrs.update(long_name="center wavelength", units="nm")
        da["fwhm"].attrs.update(long_name="full width at half maximum", units="nm")
    da.name = "reflectance" if mask_and_scale and info.scale_factor is not None else name
    return da
