"""Spectral indices of a cube through spyndex (Awesome Spectral Indices), on Pixxel wavelengths.

Each index's bands (``N``, ``R``, ``RE1``, …) are defined by a wavelength range; the cube's
band whose centre is nearest the middle of that range, and inside it, stands in for it.
An index needing a band the cube lacks (e.g. short-wave infrared on Firefly's 470–900 nm)
is refused with a clear error instead of computed from a wrong band.

Example:
    >>> import pixxel_geo as px
    >>> cube = px.stack(catalog_ids, bbox=(74.94, 30.20, 74.96, 30.22))  # doctest: +SKIP
    >>> ndvi = px.indices(cube, ["NDVI"]).sel(index="NDVI")  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from pixxel_geo.api.errors import InvalidInputError

if TYPE_CHECKING:
    import xarray as xr

__all__ = ["INDEX_ALIASES", "index_bands", "indices"]

INDEX_ALIASES = {"NDRE": "NDREI"}
"""Common names spyndex knows under another one (NDRE is spyndex's NDREI: (N-RE1)/(N+RE1))."""


def _spyndex() -> Any:
    try:
        import spyndex
    except ImportError as exc:  # pragma: no cover - declared in the dask extra
        raise InvalidInputError("px.indices needs spyndex: pip install 'pixxel-geo[dask]'") from exc
    return spyndex


def _catalog_name(name: str) -> str:
    spyndex = _spyndex()
    key = INDEX_ALIASES.get(name, name)
    if key not in spyndex.indices:
        raise InvalidInputError(
            f"unknown spectral index {name!r}: use a name from spyndex.indices (Awesome Spectral Indices), "
            "e.g. NDVI, NDREI (NDRE), NDWI, EVI, SAVI"
        )
    return str(key)


def index_bands(name: str, wavelengths: Sequence[float]) -> dict[str, float]:
    """The cube wavelength standing in for each spectral band an index needs.

    Args:
        name: an index name from spyndex (or an alias in :data:`INDEX_ALIASES`).
        wavelengths: the cube's band centres (nm).

    Returns:
        ``{spyndex band: wavelength}``, e.g. ``{"N": 860.0, "R": 650.0}``.

    Raises:
        InvalidInputError: unknown index, or a band none of ``wavelengths`` falls in.

    Example:
        >>> index_bands("NDVI", [480.0, 550.0, 660.0, 860.0])
        {'N': 860.0, 'R': 660.0}
    """
    spyndex = _spyndex()
    key = _catalog_name(name)
    picked: dict[str, float] = {}
    for band in spyndex.indices[key].bands:
        if band in spyndex.constants:
            continue
        if band not in spyndex.bands:
            raise InvalidInputError(f"{name} needs {band!r}, which is not a spectral band pixxel_geo can map")
        spec = spyndex.bands[band]
        low, high = float(spec.min_wavelength), float(spec.max_wavelength)
        inside = [float(w) for w in wavelengths if low <= float(w) <= high]
        if not inside:
            span = f"{min(wavelengths):g}-{max(wavelengths):g} nm" if len(wavelengths) else "no bands"
            raise InvalidInputError(
                f"{name} needs band {band} ({spec.long_name.strip()}, {low:g}-{high:g} nm) and the cube has no band "
                f"there (its bands span {span}): choose an index within the product's range, or a product/bandset "
                "that has it"
            )
        middle = (low + high) / 2
        picked[band] = min(inside, key=lambda w: abs(w - middle))
    return picked


def indices(cube: xr.DataArray, names: str | Sequence[str], *, params: Mapping[str, Any] | None = None) -> xr.DataArray:
    """Compute spectral indices of a cube with wavelengths (nm) on ``band``.

    Args:
        cube: a DataArray with a ``band`` dimension whose coordinate is the centre
            wavelength in nm (``px.open_dataset``, ``px.stack``); any other dimensions
            (``time``, ``y``, ``x``) are kept. Lazy (dask) cubes stay lazy.
        names: one index name or several (spyndex's; ``NDRE`` is accepted for ``NDREI``).
        params: constants overriding spyndex's defaults (e.g. ``{"L": 0.5}``).

    Returns:
        A float32 DataArray with an ``index`` dimension (the names as given) in place
        of ``band`` (e.g. ``(time, index, y, x)``); attribute ``bands`` records which
        wavelength served each band letter.

    Raises:
        InvalidInputError: no ``band`` dimension, an unknown index, or an index whose
            band the cube lacks.

    Example:
        >>> vigour = indices(cube, ["NDVI", "NDRE"])  # doctest: +SKIP
        >>> vigour.sel(index="NDVI").mean(("y", "x")).compute()  # doctest: +SKIP
    """
    import xarray as xr

    spyndex = _spyndex()
    wanted = [names] if isinstance(names, str) else list(names)
    if not wanted:
        raise InvalidInputError("indices() needs at least one index name, e.g. ['NDVI']")
    if "band" not in cube.dims:
        raise InvalidInputError("the cube has no 'band' dimension with wavelengths (nm): use px.open_dataset/px.stack")
    wavelengths = [float(w) for w in cube["band"].values]
    results = []
    used: dict[str, str] = {}
    for name in wanted:
        key = _catalog_name(name)
        mapping = index_bands(name, wavelengths)
        values: dict[str, Any] = {
            band: cube.sel(band=wavelength).drop_vars(
                [c for c in cube.coords if "band" in cube[c].dims], errors="ignore"
            )
            for band, wavelength in mapping.items()
        }
        for constant in spyndex.indices[key].bands:
            if constant in spyndex.constants and constant not in values:
                given = (params or {}).get(constant)
                values[constant] = given if given is not None else spyndex.constants[constant].default
        result = spyndex.computeIndex(index=key, params=values)
        results.append(result.astype("float32") if hasattr(result, "astype") else result)
        used[name] = ", ".join(f"{band}={w:g} nm" for band, w in mapping.items())
    out = xr.concat(results, dim=xr.DataArray(wanted, dims="index", name="index"), combine_attrs="drop")
    out = out.transpose(*["index" if d == "band" else d for d in cube.dims])
    out.name = "index"
    out.attrs = {"bands": "; ".join(f"{n}: {b}" for n, b in used.items()), "source": "spyndex"}
    return out
