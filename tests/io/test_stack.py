"""px.stack on the sandbox: shared wavelengths, masks, values after reprojection, same-day merges."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

import pixxel_geo as px
from pixxel_geo.io.stack import match_wavelengths
from pixxel_geo.sandbox import Sandbox, SandboxSettings

SETTINGS = SandboxSettings(bands=16, width=256, height=256, count=8, download_seconds=0.1)
"""Eight scenes: the first two places are revisited a season later (catalogs 0/6 and 1/7)."""


@pytest.fixture(scope="module")
def revisit_sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    data_dir = tmp_path_factory.mktemp("stack-sandbox")
    with Sandbox.launch(data_dir=data_dir, token="stack-token-0123456789", settings=SETTINGS) as sb:
        yield sb


@pytest.fixture
def api(revisit_sandbox: Sandbox) -> Iterator[Any]:
    with px.Client(api_key=revisit_sandbox.token, base_url=revisit_sandbox.url) as c:
        yield c
    revisit_sandbox.clear_faults()


def _same_place(client: Any, place: int = 0) -> list[Any]:
    """Catalogs over the ``place``-th place (0 or 1; two dates each), oldest first."""
    catalogs = sorted(client.catalogs.search(limit=20), key=lambda c: c.properties["datetime"])
    first = next(c for c in catalogs if c.details["id"].endswith(f"_L2A_{place}"))
    same = [c for c in catalogs if np.allclose(c.details["bbox"], first.details["bbox"], atol=1e-4)]
    assert len(same) >= 2
    return sorted(same, key=lambda c: c.properties["datetime"])


def _lonlat_box(catalog: Any, fraction: float = 0.5) -> tuple[float, float, float, float]:
    """The south-west ``fraction`` of a catalog's bbox."""
    west, south, east, north = catalog.details["bbox"]
    return (west, south, west + (east - west) * fraction, south + (north - south) * fraction)


def test_stack_matches_each_products_own_pixels_on_its_grid(api: Any) -> None:
    catalogs = _same_place(api)
    cube = px.stack(catalogs, mask=None, client=api)
    assert cube.dims == ("time", "band", "y", "x")
    assert list(cube["label"].values) == [c.details["id"] for c in catalogs]
    assert [str(t)[:19] for t in cube["time"].values] == [c.properties["datetime"][:19] for c in catalogs]
    values = cube.compute()
    for i, catalog in enumerate(catalogs):
        own = px.open_dataset(catalog, chunks=True, client=api).compute()
        np.testing.assert_array_equal(values["band"].values, own["band"].values)
        # The grid is the first product's (snapped to its pixels): the same place holds the same value.
        here = values.isel(time=i).sel(y=own["y"], x=own["x"], method="nearest", tolerance=1e-6)
        np.testing.assert_array_equal(here.values, own.values)


def test_stack_reprojected_values_are_the_nearest_product_pixel(api: Any) -> None:
    import odc.geo.xr  # noqa: F401  # the .odc accessor
    from pyproj import Transformer

    catalog = _same_place(api)[0]
    own = px.open_dataset(catalog, chunks=True, client=api).compute()
    crs = "EPSG:3857"
    cube = px.stack([catalog], bbox=_lonlat_box(catalog, 0.8), crs=crs, resolution=7.0, mask=None, client=api)
    assert cube.odc.crs.epsg == 3857
    values = cube.isel(time=0).compute()
    ys, xs = np.meshgrid(values["y"].values, values["x"].values, indexing="ij")
    to_product = Transformer.from_crs(crs, own.rio.crs, always_xy=True)
    px_x, px_y = to_product.transform(xs.ravel(), ys.ravel())
    cols, rows = ~own.odc.geobox.affine @ (np.asarray(px_x), np.asarray(px_y))
    rows, cols = np.floor(rows).astype(int), np.floor(cols).astype(int)
    inside = (rows >= 0) & (rows < own.sizes["y"]) & (cols >= 0) & (cols < own.sizes["x"])
    got = values.values.reshape(values.sizes["band"], -1)
    expected = own.values[:, rows[inside], cols[inside]]
    same = np.all((got[:, inside] == expected) | (np.isnan(got[:, inside]) & np.isnan(expected)), axis=0)
    # GDAL's nearest neighbour with its approximate transformer may pick the neighbour
    # of a pixel whose centre falls within a fraction of a pixel of an edge.
    assert inside.sum() > 1000
    assert same.mean() > 0.98
    assert np.all(np.isnan(got[:, ~inside]))


def test_stack_reads_only_the_bands_and_tiles_asked_for(revisit_sandbox: Sandbox, api: Any) -> None:
    catalogs = _same_place(api, place=1)  # read nowhere else: no tile is in a cache yet
    wavelengths = [float(w) for w in px.open_dataset(catalogs[0], chunks=True, client=api)["band"].values]
    picked = [wavelengths[3], wavelengths[-3]]
    cube = px.stack(catalogs, bands=picked, mask=None, client=api)  # opening reads headers only
    revisit_sandbox.reset_requests()
    cube.compute()
    moved = sum(r["bytes"] for r in revisit_sandbox.requests("/files/"))
    assert list(cube["band"].values) == picked
    needed = 0
    for catalog in catalogs:
        with px.open_raster(catalog, client=api) as src:
            bands = (4, src.count - 2)  # 1-based: wavelengths[3] and wavelengths[-3]
            needed += sum(src.block_size(b, i, j) for b in bands for (i, j), _ in src.block_windows(b))
    # Only the tiles of the two bands move (the headers were read when the stack was opened).
    assert needed <= moved <= 1.1 * needed


def test_stack_explicit_wavelength_a_product_lacks_is_refused(api: Any) -> None:
    catalogs = _same_place(api)
    with pytest.raises(px.InvalidInputError, match="no band at 1500 nm"):
        px.stack(catalogs, bands=[1500.0], mask=None, client=api)


def test_stack_bad_arguments(api: Any) -> None:
    catalogs = _same_place(api)
    with pytest.raises(px.InvalidInputError, match="at least one product"):
        px.stack([], client=api)
    with pytest.raises(px.InvalidInputError, match="bbox"):
        px.stack(catalogs, bbox=(10, 10, 5, 5), mask=None, client=api)
    with pytest.raises(px.InvalidInputError, match="resolution"):
        px.stack(catalogs, crs="EPSG:3857", mask=None, client=api)
    with pytest.raises(px.InvalidInputError, match="groupby"):
        px.stack(catalogs, groupby="month", client=api)
    with pytest.raises(px.InvalidInputError, match="no product intersects"):
        px.stack(catalogs, bbox=(0.0, 0.0, 0.01, 0.01), mask=None, client=api)


def test_match_wavelengths_keeps_the_shared_bands() -> None:
    a = [(500.0, 10.0), (510.0, 10.0), (600.0, 10.0), (700.0, 10.0)]
    b = [(509.0, 12.0), (601.0, 12.0), (800.0, 12.0)]
    picks, wavelengths, description = match_wavelengths([a, b], labels=["A", "B"])
    assert wavelengths == [510.0, 600.0]
    assert picks == [[1, 2], [0, 1]]
    assert "A" in description
    with pytest.raises(px.InvalidInputError, match="share no band"):
        match_wavelengths([a, [(900.0, 10.0)]])
    picks, wavelengths, _ = match_wavelengths([a, b], wanted=[602.0])
    assert (picks, wavelengths) == ([[2], [1]], [602.0])
