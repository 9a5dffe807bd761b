"""Band layout and endmember reflectance spectra for synthetic Pixxel products.

The synthetic scenes are linear mixtures of a small library of surface
materials ("endmembers").  Each endmember is a smooth reflectance curve
defined on a 1 nm grid; :func:`endmember_matrix` integrates those curves
over each band's Gaussian spectral response (centre and FWHM), so a
narrow band sees what a real narrow band would.

All wavelengths here are in nanometres.

Example:
    >>> grid = band_grid(16, 400.0, 1000.0)
    >>> e = endmember_matrix(grid)
    >>> e.shape
    (11, 16)
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

__all__ = [
    "ENDMEMBER_NAMES",
    "FIREFLY_MAX_NM",
    "FIREFLY_MIN_NM",
    "FIREFLY_NATIVE_BANDS",
    "BandGrid",
    "band_grid",
    "endmember_matrix",
    "endmember_spectrum",
    "firefly_band_numbers",
    "firefly_grid",
    "nearest_band",
    "solar_irradiance",
]

#: Order of the endmember axis in abundance arrays and in :func:`endmember_matrix`.
ENDMEMBER_NAMES: tuple[str, ...] = (
    "vegetation",
    "forest",
    "dry_vegetation",
    "soil",
    "sand",
    "water",
    "turbid_water",
    "concrete",
    "asphalt",
    "roof",
    "cloud",
)

#: STAC ``common_name`` -> nominal wavelength (nm); the band nearest each one gets the name.
COMMON_NAMES: dict[str, float] = {
    "blue": 470.0,
    "green": 550.0,
    "red": 650.0,
    "rededge": 705.0,
    "nir": 860.0,
}

# Tolerance (nm) within which a band may carry a common name.
_COMMON_NAME_TOLERANCE = 25.0


@dataclass(frozen=True)
class BandGrid:
    """Centres and widths of a product's bands.

    Attributes:
        names: band names ``B001``, ``B002``, ...
        centers: centre wavelengths in nm, increasing.
        fwhm: full width at half maximum of each band's response, in nm.
        common_names: STAC common name of each band, or ``None``.
    """

    names: tuple[str, ...]
    centers: tuple[float, ...]
    fwhm: tuple[float, ...]
    common_names: tuple[str | None, ...]

    def __len__(self) -> int:
        return len(self.names)


def band_grid(bands: int, min_nm: float = 400.0, max_nm: float = 1000.0) -> BandGrid:
    """Evenly spaced bands over ``[min_nm, max_nm]`` with slightly overlapping responses.

    The FWHM is 1.1 x the band spacing (never below 2.5 nm), as in pushbroom
    hyperspectral imagers whose neighbouring bands overlap a little.

    Args:
        bands: number of bands (>= 1).
        min_nm: centre of the first band, in nm.
        max_nm: centre of the last band, in nm.

    Returns:
        The band layout.

    Raises:
        ValueError: if ``bands < 1`` or the range is empty or outside 300-2500 nm.

    Example:
        >>> g = band_grid(150, 470.0, 900.0)
        >>> round(g.centers[1] - g.centers[0], 2), g.names[0]
        (2.89, 'B001')
    """
    if bands < 1:
        raise ValueError(f"bands must be at least 1, got {bands}")
    if not (300.0 <= min_nm < max_nm <= 2500.0):
        raise ValueError(f"wavelength range must satisfy 300 <= min < max <= 2500 nm, got {min_nm}..{max_nm}")
    if bands == 1:
        centers = np.array([(min_nm + max_nm) / 2.0])
        spacing = max_nm - min_nm
    else:
        centers = np.linspace(min_nm, max_nm, bands)
        spacing = (max_nm - min_nm) / (bands - 1)
    width = max(2.5, round(1.1 * spacing, 3))
    common: list[str | None] = [None] * bands
    for name, nominal in COMMON_NAMES.items():
        idx = int(np.argmin(np.abs(centers - nominal)))
        if abs(centers[idx] - nominal) <= max(_COMMON_NAME_TOLERANCE, spacing / 2) and (common[idx] is None):
            common[idx] = name
    return BandGrid(
        names=tuple(f"B{i + 1:03d}" for i in range(bands)),
        centers=tuple(round(float(c), 3) for c in centers),
        fwhm=(width,) * bands,
        common_names=tuple(common),
    )


#: Firefly's spectral range (nm) and native band count, as Pixxel publishes them: 470-900 nm,
#: up to 135 bands, of which an acquisition delivers up to 45.
FIREFLY_MIN_NM = 470.0
FIREFLY_MAX_NM = 900.0
FIREFLY_NATIVE_BANDS = 135
#: Native band width (FWHM, nm) relative to the native band spacing (neighbours overlap a little).
_NATIVE_FWHM_RATIO = 1.2


def firefly_band_numbers(count: int) -> tuple[int, ...]:
    """Firefly band numbers (1-based, native grid) of a ``count``-band product: evenly spread.

    Above :data:`FIREFLY_NATIVE_BANDS` the native grid itself grows (a denser synthetic sensor).

    Example:
        >>> firefly_band_numbers(4)
        (1, 46, 90, 135)
    """
    if count < 1:
        raise ValueError(f"a product needs at least one band, got {count}")
    native = max(FIREFLY_NATIVE_BANDS, count)
    if count == 1:
        return ((native + 1) // 2,)
    return tuple(round(i * (native - 1) / (count - 1)) + 1 for i in range(count))


def firefly_grid(band_numbers: tuple[int, ...] | list[int], native: int = FIREFLY_NATIVE_BANDS) -> BandGrid:
    """The bands ``band_numbers`` of Firefly's native grid (470-900 nm), named ``B001``... by number.

    A product's bands keep their native numbers and widths, so two products whose band
    sets differ share the bands they have in common exactly (name, centre and FWHM).

    Args:
        band_numbers: 1-based native band numbers, strictly increasing.
        native: bands on the native grid (at least the largest number).

    Raises:
        ValueError: if the numbers are not increasing or fall outside the native grid.

    Example:
        >>> g = firefly_grid((1, 2, 135))
        >>> g.names, g.centers[0], g.centers[-1]
        (('B001', 'B002', 'B135'), 470.0, 900.0)
    """
    numbers = [int(n) for n in band_numbers]
    native = max(native, FIREFLY_NATIVE_BANDS, max(numbers, default=0))
    if not numbers or any(b <= a for a, b in itertools.pairwise(numbers)):
        raise ValueError(f"band numbers must be a non-empty increasing sequence, got {numbers}")
    if numbers[0] < 1:
        raise ValueError(f"band numbers start at 1, got {numbers[0]}")
    spacing = (FIREFLY_MAX_NM - FIREFLY_MIN_NM) / (native - 1)
    centers = [FIREFLY_MIN_NM + (n - 1) * spacing for n in numbers]
    width = round(_NATIVE_FWHM_RATIO * spacing, 3)
    common: list[str | None] = [None] * len(numbers)
    array = np.asarray(centers)
    for name, nominal in COMMON_NAMES.items():
        idx = int(np.argmin(np.abs(array - nominal)))
        if abs(array[idx] - nominal) <= _COMMON_NAME_TOLERANCE and common[idx] is None:
            common[idx] = name
    return BandGrid(
        names=tuple(f"B{n:03d}" for n in numbers),
        centers=tuple(round(float(c), 3) for c in centers),
        fwhm=(width,) * len(numbers),
        common_names=tuple(common),
    )


def solar_irradiance(centers: tuple[float, ...] | list[float]) -> NDArray[np.float64]:
    """Exo-atmospheric solar irradiance (W m-2 um-1) at the band centres: a smooth approximation.

    Example:
        >>> [round(v) for v in solar_irradiance([500.0, 900.0])]
        [1957, 1021]
    """
    lam = np.asarray(centers, dtype=np.float64)
    return 1960.0 * np.exp(-(((lam - 480.0) / 520.0) ** 2))


def nearest_band(grid: BandGrid, wavelength_nm: float) -> int:
    """Index (0-based) of the band whose centre is nearest ``wavelength_nm``.

    Example:
        >>> nearest_band(band_grid(16, 400.0, 1000.0), 650.0)
        6
    """
    return int(np.argmin(np.abs(np.asarray(grid.centers) - wavelength_nm)))


def _gauss(lam: NDArray[np.float64], centre: float, width: float) -> NDArray[np.float64]:
    return np.exp(-0.5 * ((lam - centre) / width) ** 2)


def _sigmoid(lam: NDArray[np.float64], centre: float, width: float) -> NDArray[np.float64]:
    return 1.0 / (1.0 + np.exp(-(lam - centre) / width))


def _leaf(lam: NDArray[np.float64], green: float, red: float, nir: float, edge: float) -> NDArray[np.float64]:
    """Green leaf canopy: chlorophyll absorption in blue and red, red edge, NIR plateau."""
    visible = (
        red
        + (green - red) * _gauss(lam, 552.0, 34.0)
        - 0.3 * red * _gauss(lam, 675.0, 18.0)
        + 0.2 * red * _gauss(lam, 410.0, 25.0)
    )
    plateau = nir * (1.0 + 0.04 * (lam - 800.0) / 200.0)
    # leaf water absorption near 970 nm
    plateau = plateau * (1.0 - 0.08 * _gauss(lam, 975.0, 22.0))
    step = _sigmoid(lam, edge, 13.0)
    return visible * (1.0 - step) + plateau * step


def endmember_spectrum(name: str, lam: NDArray[np.float64]) -> NDArray[np.float64]:
    """Reflectance (0-1) of one endmember at wavelengths ``lam`` (nm).

    Args:
        name: one of :data:`ENDMEMBER_NAMES`.
        lam: wavelengths in nm.

    Returns:
        Reflectance values, same shape as ``lam``.

    Raises:
        ValueError: if ``name`` is not a known endmember.

    Example:
        >>> lam = np.array([650.0, 850.0])
        >>> r = endmember_spectrum("vegetation", lam)
        >>> bool(r[1] / r[0] > 5)
        True
    """
    x = (lam - 400.0) / 600.0  # 0 at 400 nm, 1 at 1000 nm
    if name == "vegetation":
        return _leaf(lam, green=0.105, red=0.04, nir=0.47, edge=716.0)
    if name == "forest":
        return _leaf(lam, green=0.06, red=0.028, nir=0.30, edge=721.0)
    if name == "dry_vegetation":
        base = 0.07 + 0.20 * (1.0 - np.exp(-2.2 * x))
        return base + 0.05 * _sigmoid(lam, 705.0, 20.0) - 0.015 * _gauss(lam, 675.0, 20.0)
    if name == "soil":
        base = 0.075 + 0.22 * (1.0 - np.exp(-1.8 * x))
        # iron oxide: weak shoulder near 550 nm, broad absorption near 880 nm
        return base + 0.01 * _gauss(lam, 560.0, 40.0) - 0.015 * _gauss(lam, 890.0, 60.0)
    if name == "sand":
        base = 0.16 + 0.30 * (1.0 - np.exp(-2.0 * x))
        return base - 0.012 * _gauss(lam, 880.0, 70.0)
    if name == "water":
        return 0.004 + 0.05 * np.exp(-(((lam - 420.0) / 170.0) ** 2)) * _sigmoid(-lam, -640.0, 25.0)
    if name == "turbid_water":
        visible = 0.03 + 0.05 * _gauss(lam, 575.0, 70.0) + 0.012 * _gauss(lam, 690.0, 30.0)
        return 0.006 + visible * _sigmoid(-lam, -735.0, 30.0) + 0.012 * _gauss(lam, 810.0, 25.0)
    if name == "concrete":
        return 0.23 + 0.06 * x - 0.02 * _gauss(lam, 420.0, 30.0)
    if name == "asphalt":
        return 0.055 + 0.035 * x
    if name == "roof":
        # red clay tiles: low blue/green, steep rise in red, bright NIR
        return 0.07 + 0.22 * _sigmoid(lam, 585.0, 22.0) + 0.05 * x
    if name == "cloud":
        return 0.78 - 0.06 * x
    raise ValueError(f"unknown endmember {name!r}; expected one of {', '.join(ENDMEMBER_NAMES)}")


def endmember_matrix(grid: BandGrid) -> NDArray[np.float32]:
    """Band-integrated reflectance of every endmember, shape ``(len(ENDMEMBER_NAMES), bands)``.

    Each band's value is the endmember curve weighted by the band's Gaussian
    spectral response (its FWHM), sampled on a 1 nm grid.

    Args:
        grid: the product's band layout.

    Returns:
        float32 array: rows follow :data:`ENDMEMBER_NAMES`, columns follow the bands.

    Example:
        >>> endmember_matrix(band_grid(4)).dtype
        dtype('float32')
    """
    centers = np.asarray(grid.centers, dtype=np.float64)
    fwhm = np.asarray(grid.fwhm, dtype=np.float64)
    sigma = fwhm / (2.0 * np.sqrt(2.0 * np.log(2.0)))
    lo = float(np.min(centers - 4 * sigma)) - 1.0
    hi = float(np.max(centers + 4 * sigma)) + 1.0
    lam = np.arange(np.floor(lo), np.ceil(hi) + 1.0, 1.0)
    srf = np.exp(-0.5 * ((lam[None, :] - centers[:, None]) / sigma[:, None]) ** 2)
    srf /= srf.sum(axis=1, keepdims=True)
    curves = np.stack([endmember_spectrum(name, lam) for name in ENDMEMBER_NAMES])
    return np.clip(curves @ srf.T, 0.001, 1.0).astype(np.float32)
