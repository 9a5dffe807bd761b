"""px.stack on the sandbox's season over one farm: shared wavelengths, quality masks, values
after reprojection, same-day neighbours merged, only the tiles needed read."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

import pixxel_geo as px
from pixxel_geo.io.session import IOSession
from pixxel_geo.io.stack import match_wavelengths
from pixxel_geo.sandbox import Sandbox, SandboxSettings

SETTINGS = SandboxSettings(bands=16, width=256, height=256, count=1, download_seconds=0.1, timeseries=True)
"""One ordinary scene plus the season: six dates over one farm (the first three in one band set,
the last three in another that partly overlaps it; two neighbouring scenes on the third date)."""


@pytest.fixture(scope="module")
def season_sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    data_dir = tmp_path_factory.mktemp("season-sandbox")
    with Sandbox.launch(data_dir=data_dir, token="season-token-0123456789", settings=SETTINGS) as sb:
        yield sb


@pytest.fixture
def api(season_sandbox: Sandbox) -> Iterator[Any]:
    with px.Client(api_key=season_sandbox.token, base_url=season_sandbox.url) as c:
        yield c
    season_sandbox.clear_faults()


def _season(client: Any) -> list[Any]:
    """The season's seven catalogs, in acquisition order."""
    catalogs = [c for c in client.catalogs.search(limit=50) if c.details["id"].startswith("FF04_")]
    assert len(catalogs) == 7
    return sorted(catalogs, key=lambda c: c.properties["datetime"])


def _same_day(season: list[Any]) -> list[Any]:
    days: dict[str, list[Any]] = {}
    for catalog in season:
        days.setdefault(catalog.properties["datetime"][:10], []).append(catalog)
    (pair,) = [group for group in days.values() if len(group) == 2]
    return pair


def _dates(season: list[Any]) -> list[Any]:
    """One catalog per date: the neighbour east of the farm left out (all share one grid)."""
    pair = _same_day(season)
    return [c for c in season if c is not pair[1]]


def _lonlat_box(catalog: Any, fraction: float = 0.5) -> tuple[float, float, float, float]:
    """The south-west ``fraction`` of a catalog's bbox."""
    west, south, east, north = catalog.details["bbox"]
    return (west, south, west + (east - west) * fraction, south + (north - south) * fraction)


def test_stack_keeps_the_wavelengths_all_products_share(api: Any) -> None:
    season = _dates(_season(api))
    own = [px.open_dataset(c, chunks=True, client=api) for c in season]
    first, last = own[0], own[-1]
    cube = px.stack(season, mask=None, client=api)
    # Firefly band sets pick from one native grid: shared bands have the very same centres.
    shared = sorted(set(first["band"].values) & set(last["band"].values))
    assert 0 < len(shared) < min(first.sizes["band"], last.sizes["band"])  # partly overlapping sets
    assert list(cube["band"].values) == shared
    np.testing.assert_array_equal(cube["source_wavelength"].values, np.tile(shared, (len(season), 1)))
    np.testing.assert_array_equal(cube["fwhm"].values, first["fwhm"].sel(band=shared).values)
    assert "shared by all 6 products" in cube.attrs["band_matching"]
    assert cube.attrs["quantity"] == "reflectance"


def test_stack_matches_each_products_own_pixels_on_its_grid(api: Any) -> None:
    season = _dates(_season(api))[:3]  # one band set
    cube = px.stack(season, mask=None, chunks=128, client=api)
    assert cube.dims == ("time", "band", "y", "x")
    assert cube.data.chunksize[-2:] == (128, 128)
    assert list(cube["label"].values) == [c.details["id"] for c in season]
    assert [str(t)[:19] for t in cube["time"].values] == [c.properties["datetime"][:19] for c in season]
    values = cube.compute()
    for i, catalog in enumerate(season):
        own = px.open_dataset(catalog, chunks=True, client=api).compute()
        np.testing.assert_array_equal(values["band"].values, own["band"].values)
        # The grid is the first product's (snapped to its pixels): the same place holds the same value.
        here = values.isel(time=i).sel(y=own["y"], x=own["x"], method="nearest", tolerance=1e-9)
        np.testing.assert_array_equal(here.values, own.values)


def test_stack_masks_exactly_the_flagged_pixels(api: Any) -> None:
    season = _dates(_season(api))
    plain = px.stack(season, mask=None, client=api).compute()
    masked = px.stack(season, mask=("cloud", "cloud_shadow"), client=api).compute()
    assert masked.attrs["mask_flags"] == "cloud,cloud_shadow"
    flagged_somewhere = 0
    for i, catalog in enumerate(season):
        quality = px.open_quality_mask(catalog, client=api).compute()
        bits = (1 << px.QUALITY_FLAGS["cloud"]) | (1 << px.QUALITY_FLAGS["cloud_shadow"])
        flagged = (quality.values & bits) != 0
        flagged_somewhere += int(flagged.sum())
        expected = np.where(flagged[None], np.nan, plain.isel(time=i).values)
        np.testing.assert_array_equal(masked.isel(time=i).values, expected)
    assert flagged_somewhere > 0  # the season has clouds that come and go


def test_same_day_neighbours_merge_first_valid_pixel_first(api: Any) -> None:
    west_scene, east_scene = _same_day(_season(api))
    apart = px.stack([west_scene, east_scene], groupby=None, client=api)
    merged = px.stack([west_scene, east_scene], client=api)  # groupby="solar_day"
    assert apart.sizes["time"] == 2
    assert merged.sizes["time"] == 1
    assert merged["label"].values[0] == f"{west_scene.details['id']}+{east_scene.details['id']}"
    assert merged["time"].values[0] == apart["time"].values[0]
    a, b = apart.isel(time=0).values, apart.isel(time=1).values
    np.testing.assert_array_equal(merged.isel(time=0).values, np.where(np.isnan(a), b, a))
    both = ~np.isnan(a) & ~np.isnan(b)
    assert both.any() and (np.isnan(a) & ~np.isnan(b)).any()  # they overlap, and the east adds pixels
    assert (~np.isnan(merged.isel(time=0).values)).sum() > max((~np.isnan(a)).sum(), (~np.isnan(b)).sum())


def test_stack_reprojected_values_are_the_nearest_product_pixel(api: Any) -> None:
    import odc.geo.xr  # noqa: F401  # the .odc accessor
    from pyproj import Transformer

    catalog = _season(api)[0]
    own = px.open_dataset(catalog, chunks=True, client=api).compute()
    crs = "EPSG:32643"  # the farm's UTM zone; the products are in EPSG:4326
    cube = px.stack([catalog], bbox=_lonlat_box(catalog, 0.8), crs=crs, resolution=6.0, mask=None, client=api)
    assert cube.odc.crs.epsg == 32643
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


@pytest.mark.parametrize("how", ["bands=", "sel"])
def test_stack_reads_only_the_bands_and_tiles_asked_for(
    season_sandbox: Sandbox, api: Any, how: str, io_session: IOSession
) -> None:
    # A fresh session, as in a fresh process: earlier tests' reads of these products leave the
    # shared readers' band read-ahead primed (a read of band k+1 after band k fetches the next bands too).
    season = _dates(_season(api))[3:]  # the other band set
    wavelengths = [float(w) for w in px.open_dataset(season[0], chunks=True, client=api)["band"].values]
    picked = [wavelengths[3], wavelengths[-3]]
    quarter = _lonlat_box(season[0], 0.5)  # the south-west quarter of each product
    if how == "bands=":
        cube = px.stack(season, bands=picked, bbox=quarter, mask=None, client=api)  # opening reads headers
    else:
        cube = px.stack(season, bbox=quarter, mask=None, client=api).sel(band=picked)  # later selection
    # The catalogs' bbox is rounded to 1e-7 degrees: the grid still stops at the pixel edge.
    assert (cube.sizes["y"], cube.sizes["x"]) == (128, 128)
    season_sandbox.reset_requests()
    cube.compute()
    moved = sum(r["bytes"] for r in season_sandbox.requests("/files/"))
    assert list(cube["band"].values) == picked
    needed = 0
    for catalog in season:
        with px.open_raster(catalog, client=api) as src:
            bands = (4, src.count - 2)  # 1-based: wavelengths[3] and wavelengths[-3]
            rows, cols = range(src.height // 2, src.height), range(src.width // 2)
            for band in bands:
                for (i, j), window in src.block_windows(band):
                    if window.row_off + window.height > rows.start and window.col_off < cols.stop:
                        needed += src.block_size(band, i, j)
    # Only the tiles of the two bands under the bbox move (headers were read when opening);
    # test_window_is_whole_tiles_under_the_grid checks the choice of tiles on a larger product.
    assert needed <= moved <= 1.1 * needed


def test_stack_from_signed_urls_dates_products_by_their_names(api: Any) -> None:
    season = _dates(_season(api))[:2]
    downloads = [api.downloads.wait(api.downloads.create(catalog_ids=[c.id]).id) for c in season]
    cube = px.stack([d.signed_url for d in downloads], mask=None, client=api)
    assert list(cube["label"].values) == [c.details["id"] for c in season]
    # No catalog to ask: the acquisition date comes from Pixxel's product name.
    assert [str(t)[:10] for t in cube["time"].values] == [c.properties["datetime"][:10] for c in season]
    by_id = px.stack(season, mask=None, client=api)
    np.testing.assert_array_equal(cube.isel(time=1).values, by_id.isel(time=1).values)


def test_stack_explicit_wavelength_a_product_lacks_is_refused(api: Any) -> None:
    season = _dates(_season(api))
    first_only = sorted(
        set(px.open_dataset(season[0], chunks=True, client=api)["band"].values)
        - set(px.open_dataset(season[-1], chunks=True, client=api)["band"].values)
    )[0]
    with pytest.raises(px.InvalidInputError, match=f"no band at {first_only:g} nm"):
        px.stack(season, bands=[float(first_only)], mask=None, client=api)


def test_stack_bad_arguments(api: Any) -> None:
    season = _dates(_season(api))[:2]
    with pytest.raises(px.InvalidInputError, match="at least one product"):
        px.stack([], client=api)
    with pytest.raises(px.InvalidInputError, match="bbox"):
        px.stack(season, bbox=(10, 10, 5, 5), mask=None, client=api)
    with pytest.raises(px.InvalidInputError, match="resolution"):
        px.stack(season, crs="EPSG:3857", mask=None, client=api)
    with pytest.raises(px.InvalidInputError, match="chunks"):
        px.stack(season, chunks={"band": 4}, client=api)
    with pytest.raises(px.InvalidInputError, match="groupby"):
        px.stack(season, groupby="month", client=api)
    with pytest.raises(px.InvalidInputError, match="unknown quality flag"):
        px.stack(season, mask=("clouds",), client=api)
    with pytest.raises(px.InvalidInputError, match="no product intersects"):
        px.stack(season, bbox=(0.0, 0.0, 0.01, 0.01), mask=None, client=api)


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


def test_window_is_whole_tiles_under_the_grid() -> None:
    import dask.array as da
    import xarray as xr
    from odc.geo.geobox import GeoBox

    from pixxel_geo.io.stack import _Product, _window

    grid = GeoBox.from_bbox((500_000, 3_000_000, 505_120, 3_005_120), "EPSG:32643", resolution=5)  # 1024 px
    cube = xr.DataArray(da.zeros((4, 1024, 1024), chunks=(1, 256, 256)), dims=("band", "y", "x"))
    product = _Product("src", "p", dt.datetime(2025, 1, 1), cube, grid, [500.0] * 4, [None] * 4)
    # A target over pixels rows 300-420, cols 10-600: tiles rows 256-512, cols 0-768.
    assert _window(product, grid[300:420, 10:600]) == (slice(256, 512), slice(0, 768))
    # The south-west quarter, aligned on tiles: only its four tiles (no neighbour "just in case").
    assert _window(product, grid[512:1024, 0:512]) == (slice(512, 1024), slice(0, 512))
    assert _window(product, grid) == (slice(0, 1024), slice(0, 1024))
    # On another grid (UTM at 7 m), what nearest resampling needs, in whole tiles.
    other = GeoBox.from_bbox((501_000, 3_001_000, 502_000, 3_002_000), "EPSG:32643", resolution=7)
    rows, cols = _window(product, other)
    assert (rows.start, cols.start) == (512, 0) and rows.stop <= 1024 and cols.stop == 512
    outside = GeoBox.from_bbox((600_000, 3_000_000, 601_000, 3_001_000), "EPSG:32643", resolution=5)
    rows, cols = _window(product, outside)
    assert rows.stop - rows.start == 0 or cols.stop - cols.start == 0


def test_read_chunks_are_as_large_as_the_window_alignment_allows() -> None:
    import dask.array as da
    import xarray as xr
    from odc.geo.geobox import GeoBox

    from pixxel_geo.io.stack import MAX_READ_CHUNK_BYTES, _Product, _read_chunks

    grid = GeoBox.from_bbox((500_000, 3_000_000, 510_240, 3_010_240), "EPSG:32643", resolution=5)  # 2048 px
    cube = xr.DataArray(da.zeros((4, 2048, 2048), chunks=(1, 256, 256)), dims=("band", "y", "x"))
    product = _Product("src", "p", dt.datetime(2025, 1, 1), cube, grid, [500.0] * 4, [None] * 4)
    # The south-west quarter: one 1024-px chunk per band (a task then fetches its 16 tiles side by side).
    assert _read_chunks(product, slice(1024, 2048), slice(0, 1024)) == (1024, 1024)
    # Edges on the 512 grid only, or on the 256 grid only: no chunk may reach outside the window.
    assert _read_chunks(product, slice(512, 1024), slice(0, 512)) == (512, 512)
    assert _read_chunks(product, slice(256, 768), slice(768, 1024)) == (256, 256)
    # The image's own edge counts as on every grid.
    assert _read_chunks(product, slice(1024, 2048), slice(1536, 2048)) == (1024, 512)
    # All bands in one chunk (pixel-interleaved): kept under the memory cap.
    wide = xr.DataArray(da.zeros((120, 2048, 2048), chunks=(120, 256, 256)), dims=("band", "y", "x"))
    heavy = _Product("src", "p", dt.datetime(2025, 1, 1), wide, grid, [500.0] * 120, [None] * 120)
    side_y, side_x = _read_chunks(heavy, slice(0, 2048), slice(0, 2048))
    assert side_y * side_x * 120 * 4 <= MAX_READ_CHUNK_BYTES and min(side_y, side_x) >= 256


def test_warm_workers_needs_a_distributed_client() -> None:
    from pixxel_geo.io.stack import warm_workers

    assert warm_workers() == 0  # no dask.distributed client in this process: nothing to warm


def test_read_chunks_of_a_small_product_are_the_product() -> None:
    import dask.array as da
    import xarray as xr
    from odc.geo.geobox import GeoBox

    from pixxel_geo.io.stack import _Product, _read_chunks

    grid = GeoBox.from_bbox((500_000, 3_000_000, 500_320, 3_000_320), "EPSG:32643", resolution=5)  # 64 px
    cube = xr.DataArray(da.zeros((4, 64, 64), chunks=(1, 64, 64)), dims=("band", "y", "x"))
    product = _Product("src", "p", dt.datetime(2025, 1, 1), cube, grid, [500.0] * 4, [None] * 4)
    assert _read_chunks(product, slice(0, 64), slice(0, 64)) == (64, 64)  # as opened: no second open
