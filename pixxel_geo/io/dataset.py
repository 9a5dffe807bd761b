"""A product as an xarray DataArray: calibrated, wavelengths (nm) on the band axis, masked on request.

Example:
    >>> import pixxel_geo as px
    >>> cube = px.open_dataset("cat_123", chunks=True, mask=("cloud", "cloud_shadow"))  # doctest: +SKIP
    >>> cube.sel(band=650, method="nearest").mean().compute()  # doctest: +SKIP
"""

from __future__ import annotations

import contextvars
import hashlib
import math
import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pixxel_geo.api.errors import InvalidInputError
from pixxel_geo.io.archive import ZipArchive
from pixxel_geo.io.bound import open_bound
from pixxel_geo.io.calibration import Calibration, GdalBands, warn_uncalibrated
from pixxel_geo.io.gdal_options import opener_env
from pixxel_geo.io.product import ProductRef, gdal_bands, resolve_product
from pixxel_geo.io.quality import QUALITY_FLAGS, flags_from_tags, mask_value, normalise_mask_request
from pixxel_geo.io.raster import opener_for

if TYPE_CHECKING:
    import xarray as xr

    from pixxel_geo.io.lazy_array import ProductArray

__all__ = ["default_chunks", "open_dataset", "open_quality_mask"]

TARGET_CHUNK_BYTES = 128 * 1024 * 1024


@dataclass(frozen=True)
class _Image:
    """What opening a member told us: its shape, type, tiling and band metadata."""

    count: int
    height: int
    width: int
    dtype: str
    block: tuple[int, int]
    pixel_interleaved: bool
    gdal: GdalBands
    mask_tags: dict[str, str]


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

    import xarray as xr

    da = contextvars.Context().run(describe)
    if not isinstance(da, xr.DataArray):
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


def _open_member(
    archive: ZipArchive, name: str, chunks: Any, *, yx_chunks: dict[str, int] | None = None
) -> tuple[xr.DataArray, _Image, dict[str, int] | None]:
    """A member as a lazy ``(band, y, x)`` DataArray of its stored values, and what it is.

    Returns:
        The array, the member's facts, and the chunks used (``None``: numpy-backed).
    """
    import numpy as np
    import xarray as xr

    from pixxel_geo.io.lazy_array import ProductArray

    opener = opener_for(archive, name)
    with open_bound(name, opener=opener) as src:
        image = _Image(
            count=src.count,
            height=src.height,
            width=src.width,
            dtype=src.dtypes[0],
            block=(int(src.block_shapes[0][0]), int(src.block_shapes[0][1])),
            pixel_interleaved=src.interleaving is not None and src.interleaving.name == "pixel",
            gdal=gdal_bands(src),
            mask_tags=dict(src.tags(1)) if src.count == 1 else {},
        )
    itemsize = np.dtype(image.dtype).itemsize
    norm = _normalise_chunks(
        chunks, image.count, image.height, image.width, itemsize, image.block, image.pixel_interleaved
    )
    if norm is not None and yx_chunks is not None:
        norm = {**norm, **yx_chunks}
    array = ProductArray(opener, name, (image.count, image.height, image.width), image.dtype)
    da = _with_product_array(_rioxarray_metadata(name, opener), array, cache=norm is None)
    if norm is not None:
        token = hashlib.sha256(f"{archive.source.key}\0{name}".encode()).hexdigest()[:32]
        da = da.chunk(norm, token=token)
    if not isinstance(da, xr.DataArray):
        raise TypeError(f"expected one raster in {name!r}, got {type(da).__name__}")
    return da, image, norm


def _calibrate(da: xr.DataArray, calibration: Calibration) -> xr.DataArray:
    """Stored values to physical ones (float32), NaN at nodata."""
    import numpy as np

    attrs = {k: v for k, v in da.attrs.items() if k not in ("scale_factor", "add_offset", "_FillValue")}
    values = da.astype("float32")
    if calibration.nodata is not None:
        values = values.where(da != calibration.nodata)
    if not calibration.is_identity:
        scale = np.asarray(calibration.scales, dtype="float32")[:, None, None]
        offset = np.asarray(calibration.offsets, dtype="float32")[:, None, None]
        values = values * scale + offset
    out = values.astype("float32")
    out.attrs = attrs
    return out.rio.write_nodata(np.nan, encoded=False)


def _label_bands(da: xr.DataArray, calibration: Calibration) -> xr.DataArray:
    """Wavelengths (nm) on the band axis, with FWHM and band names beside them."""
    import numpy as np

    coords: dict[str, Any] = {
        "band_name": ("band", list(calibration.band_names)),
        "fwhm": ("band", [np.nan if f is None else float(f) for f in calibration.fwhm]),
    }
    if calibration.wavelengths is not None:
        coords["band"] = ("band", list(calibration.wavelengths))
    da = da.assign_coords(coords)
    if calibration.wavelengths is not None:
        da["band"].attrs.update(long_name="center wavelength", units="nm")
    else:
        da["band"].attrs.update(long_name="band number (no wavelengths known)")
    da["fwhm"].attrs.update(long_name="full width at half maximum", units="nm")
    return da


def _mask_table(image: _Image, flags: dict[str, int] | None) -> tuple[dict[str, int], str]:
    if flags is not None:
        return dict(flags), "flags= argument"
    own = flags_from_tags(image.mask_tags)
    if own:
        return own, "the mask's own flag_masks/flag_meanings"
    return dict(QUALITY_FLAGS), "pixxel_geo.QUALITY_FLAGS (Pixxel publishes no bit layout)"


def open_quality_mask(
    source: Any,
    chunks: Any = None,
    *,
    client: Any | None = None,
    flags: dict[str, int] | None = None,
    yx_chunks: dict[str, int] | None = None,
) -> xr.DataArray:
    """A product's quality mask as a DataArray ``(y, x)`` of bit flags, on the image's grid.

    Args:
        source: as for :func:`open_dataset`.
        chunks: ``None`` (lazy numpy), ``True`` / ``"auto"`` / a dict for dask.
        client: a ``px.Client``.
        flags: ``{name: bit}`` to use instead of the mask's own table (or
            :data:`~pixxel_geo.io.quality.QUALITY_FLAGS` when it has none).
        yx_chunks: ``{"y": …, "x": …}`` chunks to match another array's (used by
            :func:`open_dataset`).

    Returns:
        The mask (its stored integers), with ``flag_masks``, ``flag_meanings`` (CF) and
        ``flag_source`` attributes, and the same ``y`` / ``x`` coordinates as
        :func:`open_dataset` gives the image.

    Raises:
        MemberNotFoundError: the product has no ``.mask.tif``.

    Example:
        >>> qm = open_quality_mask(catalog)  # doctest: +SKIP
        >>> cloudy = (qm & 1 << px.QUALITY_FLAGS["cloud"]) > 0  # doctest: +SKIP
    """
    product = source if isinstance(source, ProductRef) else resolve_product(source, None, client)
    name = product.require_mask()
    da, image, _ = _open_member(product.archive, name, chunks, yx_chunks=yx_chunks)
    table, where = _mask_table(image, flags)
    names = sorted(table, key=table.__getitem__)
    mask = da.isel(band=0, drop=True)
    mask.attrs = {
        "long_name": "quality flags",
        "flag_masks": [1 << table[n] for n in names],
        "flag_meanings": " ".join(names),
        "flag_source": where,
    }
    mask.name = "quality_mask"
    return mask


def open_dataset(
    source: Any,
    chunks: Any = None,
    *,
    member: str | None = None,
    client: Any | None = None,
    mask_and_scale: bool = True,
    mask: Any = None,
    flags: dict[str, int] | None = None,
) -> xr.DataArray:
    """Open a product as a DataArray ``(band, y, x)``: calibrated, wavelengths (nm) on ``band``.

    Calibration (scale, offset, nodata, wavelengths) comes from the best source the product
    has: its catalog's STAC ``raster:bands`` / ``eo:bands``, its ENVI header, the GeoTIFF's band
    metadata, and last the level in its name (L2A / L1C: DN / 50000; L1B: radiance as stored);
    see :mod:`pixxel_geo.io.calibration`. The attributes say which source gave what.

    Args:
        source: a catalog id, ``Catalog``, ``Download``, delivery, signed URL or ``pixxel://``
            path. An archive holding several products opens the catalog's own; a bare URL of
            such an archive needs ``member=``.
        chunks: ``None`` for lazy numpy-backed reads; ``True``/``"auto"`` for dask with
            chunks holding the whole spectrum, x/y in whole 256-px tiles; or a dict
            (``{"y": 1024, "x": 1024}``), rounded to whole tiles. Bands are never split
            on pixel-interleaved files.
        member: the raster member (default: the product's image, never its mask).
        client: a ``px.Client`` (default: from the environment).
        mask_and_scale: give physical values (float32: reflectance 0-1, or radiance) with
            NaN at nodata; ``False`` keeps the stored integers.
        mask: quality flags whose pixels become NaN, e.g. ``("cloud", "cloud_shadow")``
            (``True`` means those two); read from the product's ``.mask.tif``.
        flags: ``{name: bit}`` for the mask, instead of its own table / ``px.QUALITY_FLAGS``.

    Returns:
        A DataArray named after what it holds (``reflectance``, ``radiance`` or ``dn``) with
        coordinates ``band`` (centre wavelength in nm, or the band number when no source
        gives wavelengths), ``fwhm``, ``band_name``, ``y``, ``x`` and the CRS (``.rio.crs``);
        attributes ``quantity``, ``units``, ``calibration_source``, ``wavelength_source``…

    Raises:
        MemberNotFoundError: no such member, or ``mask=`` and no quality mask.
        MultipleProductsError: several products in the archive and nothing says which.
        InvalidInputError: bad ``chunks`` or ``mask``.

    Warns:
        UncalibratedWarning: nothing says how to scale the values (once per product): the
            values are digital numbers, named ``dn``, never labelled reflectance.

    Example:
        >>> cube = open_dataset(catalog, chunks=True, mask=("cloud", "cloud_shadow"))  # doctest: +SKIP
        >>> cube.mean(dim=("y", "x")).compute()  # doctest: +SKIP
    """
    wanted = normalise_mask_request(mask)
    product = resolve_product(source, member, client)
    da, image, norm = _open_member(product.archive, product.image, chunks)
    calibration = product.calibration(image.gdal)
    if mask_and_scale:
        if calibration.quantity == "dn":
            warn_uncalibrated(product.name, calibration)
        da = _calibrate(da, calibration)
        attrs = calibration.attrs()
        da.name = calibration.quantity
    else:
        da.attrs.pop("_FillValue", None)
        attrs = {**calibration.attrs(), "quantity": "dn", "units": "DN"}
        # What mask_and_scale=True would apply: value = DN * scale + offset, per band.
        attrs.update(
            calibrated_quantity=calibration.quantity,
            calibration_scales=list(calibration.scales),
            calibration_offsets=list(calibration.offsets),
        )
        da.name = "dn"
    da.attrs.update(attrs)
    da = _label_bands(da, calibration)
    if wanted:
        yx = {k: v for k, v in (norm or {}).items() if k in ("y", "x")} or None
        quality = open_quality_mask(product, chunks if norm is not None else None, flags=flags, yx_chunks=yx)
        table = dict(zip(quality.attrs["flag_meanings"].split(), quality.attrs["flag_masks"], strict=True))
        bits = mask_value(wanted, {n: int(v).bit_length() - 1 for n, v in table.items()})
        keep = (quality & bits) == 0
        kept_attrs = dict(da.attrs)
        da = da.where(keep.drop_vars([c for c in keep.coords if c not in ("y", "x")]))
        da.attrs = {**kept_attrs, "masked_flags": " ".join(wanted), "mask_flag_source": quality.attrs["flag_source"]}
    return da
