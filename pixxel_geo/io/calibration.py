"""How to turn a product's stored numbers into physics, and which wavelength each band has.

Pixxel publishes that L2A (surface) and L1C (top-of-atmosphere) reflectance are stored
scaled 0-50000 (reflectance = DN / 50000) and that L1B radiance is stored as is
(W m-2 sr-1 um-1); its STAC examples carry ``raster:bands`` (scale 0.00002, offset 0,
nodata 0) and ``eo:bands`` (centre wavelength, FWHM). A product may describe itself in
several places, which can disagree; each field is taken from the best source present:

1. the catalog's STAC item: ``raster:bands`` (scale, offset, nodata, unit) and ``eo:bands``
   (name, ``center_wavelength``, ``fwhm``);
2. the product's ENVI header (``wavelength``, ``fwhm``, ``wavelength units``, ``band names``,
   ``reflectance scale factor``, ``data gain values`` / ``data offset values``,
   ``data ignore value``);
3. the GeoTIFF's own band metadata (GDAL scale/offset/nodata/unit, ``wavelength`` tags or the
   ``IMAGERY`` domain's ``CENTRAL_WAVELENGTH_UM`` / ``FWHM_UM``, band descriptions);
4. the level in the product's name or STAC (L2A / L1C: divide by 50000; L1B: radiance as stored).

Where nothing says how to scale, values stay digital numbers: :class:`Calibration` says so
(``quantity == "dn"``) and :func:`warn_uncalibrated` warns once per product. Wavelengths are
always nanometres: STAC's eo extension and the OpenAPI field description say micrometres while
Pixxel's own example gives nanometres (``"center_wavelength": 493``), so values below 100 are
read as micrometres.

Example:
    >>> stac = {"properties": {"rd:product_level": "L2A"}, "assets": {"image": {"roles": ["data"],
    ...     "eo:bands": [{"name": "B001", "center_wavelength": 0.47, "fwhm": 0.004}],
    ...     "raster:bands": [{"scale": 0.00002, "offset": 0, "nodata": 0}]}}}
    >>> cal = calibration_from(count=1, stac=stac)
    >>> cal.quantity, cal.wavelengths, cal.scales, cal.scale_source
    ('reflectance', (470.0,), (2e-05,), 'STAC raster:bands')
"""

from __future__ import annotations

import math
import re
import threading
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from pixxel_geo.api.models import stac_bands, stac_image_asset
from pixxel_geo.io.envi import envi_floats, envi_list

__all__ = [
    "RADIANCE_UNITS",
    "REFLECTANCE_DIVISOR",
    "RGB_WAVELENGTHS",
    "Calibration",
    "GdalBands",
    "UncalibratedWarning",
    "calibration_from",
    "level_of",
    "nearest_bands",
    "rgb_bands",
    "warn_uncalibrated",
]

#: L2A and L1C: reflectance = DN / REFLECTANCE_DIVISOR (Pixxel: "linearly scaled 0-50000").
REFLECTANCE_DIVISOR = 50000.0
#: Units of Pixxel's L1B radiance.
RADIANCE_UNITS = "W m-2 sr-1 um-1"
#: Red, green and blue of a true-colour picture (nm).
RGB_WAVELENGTHS = (650.0, 550.0, 470.0)
_REFLECTANCE_LEVELS = ("L2A", "L1C")
_RADIANCE_LEVELS = ("L1B",)
_LEVEL_IN_NAME = re.compile(r"(?:^|_)(L[0-9][A-Z]?)(?:_|$)")


class UncalibratedWarning(UserWarning):
    """A product says nothing about how to scale its values: they are raw digital numbers."""


@dataclass(frozen=True)
class GdalBands:
    """What a GeoTIFF says about its bands (read with rasterio; plain values, picklable)."""

    count: int
    scales: tuple[float, ...] = ()
    offsets: tuple[float, ...] = ()
    nodata: float | None = None
    units: tuple[str | None, ...] = ()
    descriptions: tuple[str | None, ...] = ()
    band_tags: tuple[dict[str, str], ...] = ()
    imagery_tags: tuple[dict[str, str], ...] = ()


@dataclass(frozen=True)
class Calibration:
    """Bands and radiometry of one product, with where each came from.

    Attributes:
        count: number of bands.
        band_names: one name per band (``B001``…; ``band_1``… when nothing names them).
        wavelengths: centre wavelength per band in nm, or ``None`` when unknown.
        fwhm: full width at half maximum per band in nm (``None`` entries when unknown).
        scales, offsets: physical value = stored value * scale + offset, per band.
        nodata: the stored value that means "no data", or ``None``.
        quantity: ``"reflectance"``, ``"radiance"``, ``"scaled"`` (a scale was given but not
            what it measures) or ``"dn"`` (nothing said how to scale).
        units: ``"1"`` for reflectance, :data:`RADIANCE_UNITS` for radiance, ``"DN"``…
        level: the processing level (``L2A``, ``L1C``, ``L1B``), if known.
        scale_source, wavelength_source, nodata_source: where each came from, in words.
    """

    count: int
    band_names: tuple[str, ...]
    wavelengths: tuple[float, ...] | None
    fwhm: tuple[float | None, ...]
    scales: tuple[float, ...]
    offsets: tuple[float, ...]
    nodata: float | None
    quantity: str
    units: str
    level: str | None
    scale_source: str
    wavelength_source: str
    nodata_source: str
    notes: tuple[str, ...] = field(default=())

    @property
    def is_identity(self) -> bool:
        """True when scaling changes nothing (every scale 1, every offset 0)."""
        return all(s == 1.0 for s in self.scales) and all(o == 0.0 for o in self.offsets)

    def attrs(self) -> dict[str, Any]:
        """Attributes for an xarray object (CF-style ``units``; where each field came from)."""
        out: dict[str, Any] = {
            "quantity": self.quantity,
            "units": self.units,
            "calibration_source": self.scale_source,
            "wavelength_source": self.wavelength_source,
            "nodata_source": self.nodata_source,
        }
        if self.level:
            out["processing_level"] = self.level
        if self.notes:
            out["calibration_notes"] = "; ".join(self.notes)
        return out


def nearest_bands(centers: Sequence[float | None], wavelengths: Sequence[float]) -> list[int]:
    """1-based indexes of the bands whose centres are nearest to ``wavelengths`` (unknown centres skipped).

    Example:
        >>> nearest_bands([450.0, 550.0, 650.0], [640, 560])
        [3, 2]
    """
    known = [(i + 1, float(c)) for i, c in enumerate(centers) if c is not None]
    if not known:
        raise ValueError("no band has a known centre wavelength")
    return [min(known, key=lambda band: abs(band[1] - float(w)))[0] for w in wavelengths]


def rgb_bands(centers: Sequence[float | None] | None, count: int) -> tuple[int, int, int]:
    """1-based bands for red, green, blue: nearest 650 / 550 / 470 nm, else 1, 2, 3 (within ``count``).

    The one band picker of the toolkit: quick looks, the widgets and the QGIS layers use it.

    Example:
        >>> rgb_bands([400, 440, 480, 520, 560, 600, 640, 680], 8), rgb_bands(None, 2)
        ((7, 5, 3), (1, 2, 2))
    """
    if centers and any(c is not None for c in centers):
        red, green, blue = nearest_bands(centers, RGB_WAVELENGTHS)
        return red, green, blue
    count = max(1, count)
    return (1, min(2, count), min(3, count))


def level_of(name: str | None, stac: dict[str, Any] | None = None) -> str | None:
    """The processing level, from the STAC item's properties or the product's name.

    Example:
        >>> level_of("FF01_001234_20250301_L2A_20250302_00501045")
        'L2A'
    """
    props = (stac or {}).get("properties") if isinstance(stac, dict) else None
    if isinstance(props, dict):
        for key in ("rd:product_level", "processing:level"):
            value = props.get(key)
            if isinstance(value, str) and value.strip():
                return value.strip().upper()
    if name:
        match = _LEVEL_IN_NAME.search(name)
        if match:
            return match.group(1)
    return None


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        number = float(value)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def _to_nm(values: list[float], unit: str | None) -> list[float]:
    """Wavelengths in nm from a stated unit, or (no unit) from their size: below 100 means µm."""
    lowered = (unit or "").strip().lower()
    if lowered in ("micrometers", "micrometer", "microns", "micron", "um", "µm", "μm"):
        factor = 1000.0
    elif lowered in ("nanometers", "nanometer", "nm"):
        factor = 1.0
    else:
        factor = 1000.0 if values and max(values) < 100.0 else 1.0
    return [round(v * factor, 6) for v in values]


@dataclass
class _Found:
    """Fields found so far (the first source to give a field keeps it)."""

    names: list[str] | None = None
    wavelengths: list[float] | None = None
    fwhm: list[float | None] | None = None
    wavelength_source: str = "none"
    scales: list[float] | None = None
    offsets: list[float] | None = None
    scale_source: str = "none"
    unit: str | None = None
    nodata: float | None = None
    nodata_source: str = "none"
    reflectance_factor: bool = False
    notes: list[str] = field(default_factory=list)


def _per_band(entries: list[Any], count: int, what: str, found: _Found) -> list[dict[str, Any]] | None:
    dicts = [e if isinstance(e, dict) else {} for e in entries]
    if len(dicts) == count:
        return dicts
    if len(dicts) == 1:  # one entry for every band, as in the API's example
        return dicts * count
    found.notes.append(f"{what} lists {len(dicts)} bands, the image has {count}: ignored")
    return None


def _from_stac(stac: dict[str, Any], count: int, image_name: str | None, found: _Found) -> None:
    bands = stac_bands(stac, image_name)
    if bands and len(bands) != count:
        found.notes.append(f"STAC eo:bands lists {len(bands)} bands, the image has {count}: ignored")
    elif bands:
        if all(b.center_wavelength is not None for b in bands):
            found.wavelengths = [float(b.center_wavelength or 0.0) for b in bands]
            found.fwhm = [b.fwhm for b in bands]
            found.wavelength_source = "STAC eo:bands"
        if all(isinstance(b.name, str) and b.name for b in bands):
            found.names = [b.name for b in bands]
    raster = stac_image_asset(stac, image_name).get("raster:bands")
    if isinstance(raster, list) and raster:
        entries = _per_band(raster, count, "STAC raster:bands", found)
        if entries is not None:
            scales = [_number(e.get("scale")) for e in entries]
            offsets = [_number(e.get("offset")) for e in entries]
            if any(s is not None for s in scales) or any(o for o in offsets):
                found.scales = [1.0 if s is None else s for s in scales]
                found.offsets = [0.0 if o is None else o for o in offsets]
                found.scale_source = "STAC raster:bands"
            nodatas = {_number(e.get("nodata")) for e in entries if "nodata" in e}
            nodatas.discard(None)
            if len(nodatas) == 1:
                found.nodata = nodatas.pop()
                found.nodata_source = "STAC raster:bands"
            units = {e.get("unit") for e in entries if isinstance(e.get("unit"), str)}
            if len(units) == 1:
                found.unit = units.pop()


def _from_header(header: dict[str, str], count: int, found: _Found) -> None:
    def floats(key: str) -> list[float] | None:
        if key not in header:
            return None
        try:
            values = envi_floats(header[key])
        except ValueError:
            found.notes.append(f"ENVI header '{key}' is not a list of numbers: ignored")
            return None
        if len(values) != count:
            found.notes.append(f"ENVI header '{key}' lists {len(values)} values, the image has {count}: ignored")
            return None
        return values

    unit = header.get("wavelength units")
    centres = floats("wavelength")
    if found.wavelengths is None and centres is not None:
        found.wavelengths = _to_nm(centres, unit)
        factor = found.wavelengths[0] / centres[0] if centres[0] else 1.0
        widths = floats("fwhm")
        found.fwhm = [round(w * factor, 6) if w else None for w in widths] if widths else [None] * count
        found.wavelength_source = "ENVI header"
    names = envi_list(header["band names"]) if "band names" in header else []
    if found.names is None and len(names) == count:
        found.names = names
    if found.scale_source == "none":
        factor_value = _number(header.get("reflectance scale factor"))
        gains, offsets = floats("data gain values"), floats("data offset values")
        if factor_value:
            found.scales = [1.0 / factor_value] * count
            found.offsets = [0.0] * count
            found.scale_source = "ENVI header reflectance scale factor"
            found.reflectance_factor = True
        elif gains is not None or offsets is not None:
            found.scales = gains or [1.0] * count
            found.offsets = offsets or [0.0] * count
            found.scale_source = "ENVI header data gain/offset values"
    if found.nodata_source == "none":
        ignore = _number(header.get("data ignore value"))
        if ignore is not None:
            found.nodata = ignore
            found.nodata_source = "ENVI header data ignore value"


def _from_gdal(gdal: GdalBands, count: int, found: _Found) -> None:
    if found.wavelengths is None:
        centres: list[float] = []
        widths: list[float | None] = []
        for i in range(count):
            tags = gdal.band_tags[i] if i < len(gdal.band_tags) else {}
            imagery = gdal.imagery_tags[i] if i < len(gdal.imagery_tags) else {}
            lowered = {k.lower(): v for k, v in tags.items()}
            centre = _number(lowered.get("wavelength"))
            width = _number(lowered.get("fwhm"))
            if centre is not None:
                scale = _to_nm([centre], lowered.get("wavelength_units"))[0] / centre if centre else 1.0
            else:
                centre, width = _number(imagery.get("CENTRAL_WAVELENGTH_UM")), _number(imagery.get("FWHM_UM"))
                scale = 1000.0
            if centre is None:
                break
            centres.append(round(centre * scale, 6))
            widths.append(round(width * scale, 6) if width else None)
        if len(centres) == count:
            found.wavelengths, found.fwhm = centres, widths
            found.wavelength_source = "GeoTIFF band metadata"
    descriptions = [d for d in gdal.descriptions if d]
    if found.names is None and len(descriptions) == count:
        found.names = [str(d) for d in descriptions]
    scales = list(gdal.scales) or [1.0] * count
    offsets = list(gdal.offsets) or [0.0] * count
    if found.scale_source == "none" and (any(s != 1.0 for s in scales) or any(o != 0.0 for o in offsets)):
        found.scales, found.offsets = scales, offsets
        found.scale_source = "GeoTIFF band scale/offset"
    units = {u for u in gdal.units if u}
    if found.unit is None and len(units) == 1:
        found.unit = units.pop()
    if found.nodata_source == "none" and gdal.nodata is not None:
        found.nodata = gdal.nodata
        found.nodata_source = "GeoTIFF nodata"


def calibration_from(
    *,
    count: int,
    stac: dict[str, Any] | None = None,
    header: dict[str, str] | None = None,
    gdal: GdalBands | None = None,
    product_name: str | None = None,
    image_name: str | None = None,
) -> Calibration:
    """Combine what a product's sources say into one :class:`Calibration` (see the module docstring).

    Args:
        count: the image's number of bands.
        stac: the catalog's STAC item (its ``details``), or a ``*_stac.json`` member's.
        header: the ENVI header's fields (:func:`pixxel_geo.io.envi.parse_envi_header`).
        gdal: the GeoTIFF's band metadata.
        product_name: the product's name (its level is read from it, e.g. ``…_L2A_…``).
        image_name: the image member (picks the STAC asset whose href names it).

    Returns:
        The calibration; fields no source gives are filled with defaults and said to be so.

    Example:
        >>> calibration_from(count=2, product_name="FF01_000001_20250101_L2A_20250102_00501002").scales
        (2e-05, 2e-05)
    """
    found = _Found()
    if isinstance(stac, dict):
        _from_stac(stac, count, image_name, found)
    if header:
        _from_header(header, count, found)
    if gdal is not None:
        _from_gdal(gdal, count, found)
    level = level_of(product_name, stac if isinstance(stac, dict) else None)
    if found.scale_source == "none" and level in _REFLECTANCE_LEVELS:
        found.scales, found.offsets = [1.0 / REFLECTANCE_DIVISOR] * count, [0.0] * count
        found.scale_source = f"product level {level} (Pixxel: reflectance = DN / 50000)"
    elif found.scale_source == "none" and level in _RADIANCE_LEVELS:
        found.scales, found.offsets = [1.0] * count, [0.0] * count
        found.scale_source = f"product level {level} (Pixxel: radiance, stored unscaled)"
    if found.nodata_source == "none" and level in _REFLECTANCE_LEVELS + _RADIANCE_LEVELS:
        found.nodata, found.nodata_source = 0.0, "Pixxel products' nodata 0 (assumed)"

    unit = found.unit or ""
    if found.scale_source == "none":
        quantity, units = "dn", "DN"
    elif level in _RADIANCE_LEVELS or "sr" in unit.split() or "sr-1" in unit:
        quantity, units = "radiance", unit or RADIANCE_UNITS
    elif level in _REFLECTANCE_LEVELS or found.reflectance_factor:
        quantity, units = "reflectance", "1"
    else:
        quantity, units = "scaled", unit or "unknown"
    return Calibration(
        count=count,
        band_names=tuple(found.names or [f"band_{i + 1}" for i in range(count)]),
        wavelengths=tuple(found.wavelengths) if found.wavelengths else None,
        fwhm=tuple(found.fwhm) if found.fwhm else (None,) * count,
        scales=tuple(found.scales or [1.0] * count),
        offsets=tuple(found.offsets or [0.0] * count),
        nodata=found.nodata,
        quantity=quantity,
        units=units,
        level=level,
        scale_source=found.scale_source,
        wavelength_source=found.wavelength_source,
        nodata_source=found.nodata_source,
        notes=tuple(found.notes),
    )


_warned: set[str] = set()
_warned_lock = threading.Lock()


def warn_uncalibrated(product: str, calibration: Calibration, stacklevel: int = 3) -> None:
    """Warn (once per product and process) that a product's values are raw digital numbers.

    Example:
        >>> warn_uncalibrated("x", calibration_from(count=1, product_name="plain"))  # doctest: +SKIP
    """
    if calibration.quantity != "dn":
        return
    with _warned_lock:
        if product in _warned:
            return
        _warned.add(product)
    warnings.warn(
        f"{product}: nothing says how to scale its values (no STAC raster:bands, no ENVI header scale, "
        "no GeoTIFF scale/offset, no processing level in its name): they are raw digital numbers (DN), "
        "not reflectance. Open it through its catalog, or pass mask_and_scale=False to say DN is meant.",
        UncalibratedWarning,
        stacklevel=stacklevel,
    )
