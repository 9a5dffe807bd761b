"""Quick looks and single-pixel spectra, read straight from a product.

A quick look uses the product's own JPEG thumbnail when it is at least as large as asked
(one small read), otherwise the image's overviews. Spectra are calibrated as
:func:`~pixxel_geo.io.dataset.open_dataset` calibrates (one implementation).

Example:
    >>> import pixxel_geo as px
    >>> rgb = px.quicklook("cat_123", size=512)  # doctest: +SKIP
    >>> wavelengths, values = px.spectrum("cat_123", lon=77.59, lat=12.97)  # doctest: +SKIP
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from pixxel_geo.api.errors import InvalidInputError
from pixxel_geo.io.bound import open_bound
from pixxel_geo.io.calibration import RGB_WAVELENGTHS, nearest_bands, rgb_bands, warn_uncalibrated
from pixxel_geo.io.product import ProductRef, gdal_bands, resolve_product
from pixxel_geo.io.raster import opener_for

if TYPE_CHECKING:
    import numpy as np

__all__ = ["nearest_bands", "quicklook", "spectrum", "stretch"]


#: Pixels sampled for a quick look's stretch (percentiles of a sample, not of every pixel).
STRETCH_SAMPLE = 65536
#: The thumbnail is made from bands near these wavelengths (red, green, blue).
THUMBNAIL_WAVELENGTHS = RGB_WAVELENGTHS


def stretch(data: Any, low: float = 2, high: float = 98) -> np.ndarray:
    """Scale a masked ``(band, y, x)`` array to uint8 with one stretch for all bands together.

    The ``low`` and ``high`` percentiles of the valid values of every band together (from an
    even sample of at most :data:`STRETCH_SAMPLE` pixels) map to 0 and 255, so the bands keep
    their relative brightness and colours look natural. Masked pixels become 0.

    Example:
        >>> import numpy as np
        >>> stretch(np.ma.masked_invalid(np.array([[[0.0, 1.0, np.nan]]]))).tolist()
        [[[0, 255, 0]]]
    """
    import numpy as np

    values = np.asarray(np.ma.getdata(data), dtype="float32")
    invalid = (np.ma.getmaskarray(data) | ~np.isfinite(values)).any(axis=0)
    out = np.zeros(values.shape, dtype="uint8")
    valid = np.flatnonzero(~invalid)
    if valid.size == 0:
        return out
    step = max(1, valid.size // STRETCH_SAMPLE)
    sample = values.reshape(values.shape[0], -1)[:, valid[::step]]
    lo, hi = np.percentile(sample, [low, high])
    span = float(hi - lo) if hi > lo else 1.0
    scaled = (values - np.float32(lo)) * np.float32(255.0 / span)
    scaled[:, invalid] = 0
    np.clip(scaled, 0, 255, out=scaled)
    out[:] = scaled
    return out


def _thumbnail(product: ProductRef, size: int) -> np.ndarray | None:
    """The product's JPEG thumbnail scaled to ``size`` (longer side), if it is large enough."""
    import numpy as np
    from PIL import Image

    files = product.files
    if files is None or not files.thumbnail:
        return None
    picture: Image.Image = Image.open(io.BytesIO(product.archive.read(files.thumbnail)))
    if max(picture.size) < size and max(picture.size) < _image_long_side(product):
        return None  # too small for what was asked, and the image has more to give
    factor = min(1.0, size / max(picture.size))
    target = (max(1, round(picture.width * factor)), max(1, round(picture.height * factor)))
    if factor < 1.0:
        picture.draft("RGB", target)  # JPEG decodes straight at 1/2, 1/4 or 1/8 scale
    picture = picture.convert("RGB")
    if picture.size != target:
        picture = picture.resize(target, Image.Resampling.LANCZOS, reducing_gap=2.0)
    return np.asarray(picture, dtype="uint8")


def _image_long_side(product: ProductRef) -> int:
    with open_bound(product.image, opener=opener_for(product.archive, product.image)) as src:
        return int(max(src.width, src.height))


def quicklook(
    source: Any,
    size: int = 1024,
    wavelengths: Sequence[float] = THUMBNAIL_WAVELENGTHS,
    png: bool = False,
    *,
    client: Any | None = None,
    thumbnail: bool = True,
) -> Any:
    """An RGB picture of a product: its JPEG thumbnail, or read from its overviews.

    Args:
        source: a catalog id, ``Catalog``, ``Download``, delivery, signed URL or ``pixxel://`` path.
        size: the longer side of the picture in pixels (never more than the image).
        wavelengths: the red, green and blue wavelengths (nm); the nearest bands are used.
        png: also return the picture encoded as PNG.
        client: a ``px.Client``.
        thumbnail: use the product's thumbnail when it is large enough and ``wavelengths``
            are the thumbnail's (650, 550, 470 nm); ``False`` always reads the image.

    Returns:
        A ``(y, x, 3)`` uint8 array (one 2-98 percentile stretch for the three channels), or
        ``(array, png_bytes)`` when ``png`` is true.

    Raises:
        InvalidInputError: ``size`` is not positive or ``wavelengths`` is not three values.

    Example:
        >>> rgb, png_bytes = quicklook(catalog_id, size=512, png=True)  # doctest: +SKIP
    """
    import numpy as np

    if size < 1:
        raise InvalidInputError(f"size must be a positive number of pixels, not {size}")
    if len(wavelengths) != 3:
        raise InvalidInputError(f"wavelengths must be three values (red, green, blue), not {wavelengths!r}")
    product = resolve_product(source, None, client)
    rgb = None
    if thumbnail and tuple(float(w) for w in wavelengths) == tuple(float(w) for w in THUMBNAIL_WAVELENGTHS):
        rgb = _thumbnail(product, size)
    if rgb is None:
        rgb = _from_overviews(product, size, wavelengths)
    if rgb.shape[-1] < 3:
        rgb = np.repeat(rgb[..., :1], 3, axis=-1)
    if not png:
        return rgb
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(rgb, mode="RGB").save(buffer, format="PNG")
    return rgb, buffer.getvalue()


def _from_overviews(product: ProductRef, size: int, wavelengths: Sequence[float]) -> np.ndarray:
    import numpy as np

    with open_bound(product.image, opener=opener_for(product.archive, product.image)) as src:
        calibration = product.calibration(gdal_bands(src))
        centers = calibration.wavelengths
        if tuple(float(w) for w in wavelengths) == RGB_WAVELENGTHS or not centers:
            indexes = list(rgb_bands(centers, src.count))
        else:
            indexes = nearest_bands(centers, wavelengths)
        factor = max(1.0, max(src.height, src.width) / size)
        shape = (len(indexes), max(1, round(src.height / factor)), max(1, round(src.width / factor)))
        data = src.read(indexes, out_shape=shape, masked=True)
    if calibration.nodata is not None:
        data = np.ma.masked_equal(data, calibration.nodata)
    scales = np.asarray([calibration.scales[i - 1] for i in indexes], dtype="float32")[:, None, None]
    offsets = np.asarray([calibration.offsets[i - 1] for i in indexes], dtype="float32")[:, None, None]
    return np.moveaxis(stretch(data.astype("float32") * scales + offsets), 0, -1)


def spectrum(source: Any, lon: float, lat: float, *, client: Any | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The calibrated spectrum of the pixel at a longitude/latitude.

    Args:
        source: a catalog id, ``Catalog``, ``Download``, delivery, signed URL or ``pixxel://`` path.
        lon: longitude (degrees, WGS 84).
        lat: latitude (degrees, WGS 84).
        client: a ``px.Client``.

    Returns:
        ``(wavelengths_nm, values)``: reflectance (or radiance for L1B) calibrated as
        :func:`~pixxel_geo.io.dataset.open_dataset` does, NaN where the pixel is nodata.
        Wavelengths are band numbers if the product does not describe its bands.

    Raises:
        InvalidInputError: the point is outside the image.

    Warns:
        UncalibratedWarning: nothing says how to scale the product (values are DN).

    Example:
        >>> wl, refl = spectrum(catalog_id, lon=77.59, lat=12.97)  # doctest: +SKIP
    """
    import numpy as np
    from rasterio.warp import transform as warp_transform
    from rasterio.windows import Window

    product = resolve_product(source, None, client)
    with open_bound(product.image, opener=opener_for(product.archive, product.image)) as src:
        calibration = product.calibration(gdal_bands(src))
        xs, ys = warp_transform("EPSG:4326", src.crs, [lon], [lat])
        row, col = src.index(xs[0], ys[0])
        if not (0 <= row < src.height and 0 <= col < src.width):
            raise InvalidInputError(f"({lon}, {lat}) is outside the image (bounds {tuple(src.bounds)} in {src.crs})")
        raw = src.read(window=Window(col, row, 1, 1)).reshape(-1).astype("float64")
        count = src.count
    if calibration.quantity == "dn":
        warn_uncalibrated(product.name, calibration)
    values = raw * np.asarray(calibration.scales, dtype="float64") + np.asarray(calibration.offsets, dtype="float64")
    if calibration.nodata is not None:
        values[raw == calibration.nodata] = np.nan
    if calibration.wavelengths is not None:
        wl = np.asarray(calibration.wavelengths, dtype="float64")
    else:
        wl = np.arange(1, count + 1, dtype="float64")
    return wl, values
