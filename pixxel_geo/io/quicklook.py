"""Quick looks and single-pixel spectra, read straight from a product.

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
from pixxel_geo.io.dataset import product_info
from pixxel_geo.io.raster import _resolve, opener_for

if TYPE_CHECKING:
    import numpy as np

__all__ = ["nearest_bands", "quicklook", "spectrum", "stretch"]


def nearest_bands(centers: Sequence[float], wavelengths: Sequence[float]) -> list[int]:
    """1-based indexes of the bands whose centres are nearest to ``wavelengths``.

    >>> nearest_bands([450.0, 550.0, 650.0], [640, 560])
    [3, 2]
    """
    return [min(range(len(centers)), key=lambda i: abs(centers[i] - w)) + 1 for w in wavelengths]


def stretch(data: Any, low: float = 2, high: float = 98) -> np.ndarray:
    """Scale each band of a masked ``(band, y, x)`` array to uint8 between two percentiles.

    Masked pixels become 0.
    """
    import numpy as np

    out = np.zeros(data.shape, dtype="uint8")
    for i in range(data.shape[0]):
        band: Any = np.ma.masked_invalid(np.ma.asarray(data[i], dtype="float64"))
        valid = band.compressed()
        if valid.size == 0:
            continue
        lo, hi = np.percentile(valid, [low, high])
        scaled = (band - lo) / (hi - lo if hi > lo else 1.0) * 255.0
        out[i] = np.ma.clip(scaled, 0, 255).filled(0).astype("uint8")
    return out


def quicklook(
    source: Any,
    size: int = 1024,
    wavelengths: Sequence[float] = (650, 550, 470),
    png: bool = False,
    *,
    client: Any | None = None,
) -> Any:
    """An RGB picture of a product, read from its overviews.

    Args:
        source: a catalog id, ``Catalog``, ``Download``, signed URL or ``pixxel://`` path.
        size: the longer side of the picture in pixels (never more than the image).
        wavelengths: the red, green and blue wavelengths (nm); the nearest bands are used.
        png: also return the picture encoded as PNG.
        client: a ``px.Client``.

    Returns:
        A ``(y, x, 3)`` uint8 array with a 2-98 percentile stretch per channel, or
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
    resolved, name = _resolve(source, None, client)
    info = product_info(resolved.archive, source if type(source).__name__ == "Catalog" else None)
    with open_bound(name, opener=opener_for(resolved.archive, name)) as src:
        centers = [b.center_wavelength for b in info.bands]
        indexes = nearest_bands(centers, wavelengths) if len(centers) == src.count else [1, 2, 3][: src.count]
        factor = max(src.height, src.width) / size
        factor = max(factor, 1.0)
        shape = (len(indexes), max(1, round(src.height / factor)), max(1, round(src.width / factor)))
        data = src.read(indexes, out_shape=shape, masked=True)
    rgb = np.moveaxis(stretch(data), 0, -1)
    if rgb.shape[-1] < 3:
        rgb = np.repeat(rgb[..., :1], 3, axis=-1)
    if not png:
        return rgb
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(rgb, mode="RGB").save(buffer, format="PNG")
    return rgb, buffer.getvalue()


def spectrum(source: Any, lon: float, lat: float, *, client: Any | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The spectrum of the pixel at a longitude/latitude.

    Args:
        source: a catalog id, ``Catalog``, ``Download``, signed URL or ``pixxel://`` path.
        lon: longitude (degrees, WGS 84).
        lat: latitude (degrees, WGS 84).
        client: a ``px.Client``.

    Returns:
        ``(wavelengths_nm, values)``: reflectance with the product's scale applied,
        NaN where the pixel is nodata. Wavelengths are band numbers if the product
        does not describe its bands.

    Raises:
        InvalidInputError: the point is outside the image.

    Example:
        >>> wl, refl = spectrum(catalog_id, lon=77.59, lat=12.97)  # doctest: +SKIP
    """
    import numpy as np
    from rasterio.warp import transform as warp_transform
    from rasterio.windows import Window

    resolved, name = _resolve(source, None, client)
    info = product_info(resolved.archive, source if type(source).__name__ == "Catalog" else None)
    with open_bound(name, opener=opener_for(resolved.archive, name)) as src:
        xs, ys = warp_transform("EPSG:4326", src.crs, [lon], [lat])
        row, col = src.index(xs[0], ys[0])
        if not (0 <= row < src.height and 0 <= col < src.width):
            raise InvalidInputError(f"({lon}, {lat}) is outside the image (bounds {tuple(src.bounds)} in {src.crs})")
        raw = src.read(window=Window(col, row, 1, 1)).reshape(-1).astype("float64")
        scales = np.asarray(src.scales, dtype="float64")
        offsets = np.asarray(src.offsets, dtype="float64")
        nodata = src.nodata if src.nodata is not None else info.nodata
        count = src.count
    if np.all(scales == 1.0) and np.all(offsets == 0.0) and info.scale_factor is not None:
        scales = np.full(count, float(info.scale_factor))
        offsets = np.full(count, float(info.offset or 0.0))
    values = raw * scales + offsets
    if nodata is not None:
        values[raw == nodata] = np.nan
    if len(info.bands) == count:
        wl = np.asarray([b.center_wavelength for b in info.bands], dtype="float64")
    else:
        wl = np.arange(1, count + 1, dtype="float64")
    return wl, values
