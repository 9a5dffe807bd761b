"""px.indices: spyndex's indices on Pixxel wavelengths, and a clear refusal when a band is missing."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import xarray as xr

import pixxel_geo as px
from pixxel_geo.io.indices import index_bands


def _cube(wavelengths: list[float]) -> xr.DataArray:
    rng = np.random.default_rng(0)
    data = rng.uniform(0.01, 0.6, size=(2, len(wavelengths), 4, 5)).astype("float32")
    return xr.DataArray(
        data, dims=("time", "band", "y", "x"), coords={"band": wavelengths, "fwhm": ("band", [10.0] * len(wavelengths))}
    )


def test_index_bands_pick_the_nearest_wavelength_inside_each_range() -> None:
    firefly = list(np.linspace(470.0, 900.0, 45))
    picked = index_bands("NDVI", firefly)
    assert set(picked) == {"N", "R"}
    assert 760 <= picked["N"] <= 900 and 620 <= picked["R"] <= 690
    assert picked["R"] == min((w for w in firefly if 620 <= w <= 690), key=lambda w: abs(w - 655))
    assert set(index_bands("NDRE", firefly)) == {"N", "RE1"}


def test_indices_compute_the_formulas_and_keep_other_dimensions() -> None:
    cube = _cube([480.0, 560.0, 665.0, 705.0, 860.0])
    out = px.indices(cube, ["NDVI", "NDRE", "NDWI"])
    assert out.dims == ("time", "index", "y", "x")
    assert list(out["index"].values) == ["NDVI", "NDRE", "NDWI"]
    g, r, re1, n = (cube.sel(band=w).values for w in (560.0, 665.0, 705.0, 860.0))
    np.testing.assert_allclose(out.sel(index="NDVI").values, (n - r) / (n + r), rtol=1e-6)
    np.testing.assert_allclose(out.sel(index="NDRE").values, (n - re1) / (n + re1), rtol=1e-6)
    np.testing.assert_allclose(out.sel(index="NDWI").values, (g - n) / (g + n), rtol=1e-6)
    assert "N=860 nm" in out.attrs["bands"]


def test_indices_stay_lazy_on_dask() -> None:
    cube = _cube([480.0, 560.0, 665.0, 705.0, 860.0]).chunk({"time": 1})
    out = px.indices(cube, "EVI")
    assert out.chunks is not None
    b, r, n = (cube.sel(band=w).values for w in (480.0, 665.0, 860.0))
    expected = 2.5 * (n - r) / (n + 6.0 * r - 7.5 * b + 1.0)
    np.testing.assert_allclose(out.sel(index="EVI").compute().values, expected, rtol=1e-5)


@pytest.mark.parametrize(
    ("names", "message"),
    [
        (["NDMI"], r"NDMI needs band S1 .*1550-1750 nm.* no band there"),
        (["NDVI", "NBR"], r"NBR needs band S2"),
        (["NOT_AN_INDEX"], r"unknown spectral index 'NOT_AN_INDEX'"),
        ([], r"at least one index"),
    ],
)
def test_indices_refuse_with_a_clear_error(names: list[str], message: str) -> None:
    cube = _cube(list(np.linspace(470.0, 900.0, 16)))
    with pytest.raises(px.InvalidInputError, match=message) as caught:
        px.indices(cube, names)
    assert isinstance(caught.value, px.PixxelError)


def test_indices_need_wavelengths_on_band() -> None:
    with pytest.raises(px.InvalidInputError, match="no 'band' dimension"):
        px.indices(xr.DataArray(np.zeros((2, 2)), dims=("y", "x")), ["NDVI"])


def test_indices_on_a_sandbox_product_lacking_swir(client: Any, catalog: Any) -> None:
    cube = px.open_dataset(catalog, chunks=True, client=client)
    ndvi = px.indices(cube, ["NDVI"]).sel(index="NDVI")
    n = cube.sel(band=index_bands("NDVI", list(cube["band"].values))["N"])
    r = cube.sel(band=index_bands("NDVI", list(cube["band"].values))["R"])
    np.testing.assert_allclose(ndvi.compute().values, ((n - r) / (n + r)).compute().values, rtol=1e-6)
    with pytest.raises(px.InvalidInputError, match="needs band S1"):
        px.indices(cube, ["NDMI"])  # Firefly stops at 900 nm
