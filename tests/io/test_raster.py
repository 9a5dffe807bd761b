"""open_raster / gdal_path / open_dataset against the sandbox: pixels equal a local copy."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import rasterio

import pixxel_geo as px
from pixxel_geo.io.gdal_options import tuned_env
from pixxel_geo.io.zipindex import DeflatedMemberWarning
from pixxel_geo.sandbox import Sandbox

from .io_helpers import download_members, image_path


def _tif(local_product: Path) -> Path:
    return image_path(local_product)


def test_windows_are_pixel_identical(client: Any, catalog: Any, local_product: Path) -> None:
    with rasterio.open(_tif(local_product)) as ref:
        expected_3 = ref.read([1, 5, 9], window=((37, 200), (10, 250)))
        expected_all = ref.read(window=((128, 256), (0, 200)))
        expected_ovr = ref.read([2], out_shape=(1, 64, 64))
    with px.open_raster(catalog.id, client=client) as src:
        assert np.array_equal(src.read([1, 5, 9], window=((37, 200), (10, 250))), expected_3)
        assert np.array_equal(src.read(window=((128, 256), (0, 200))), expected_all)
        assert np.array_equal(src.read([2], out_shape=(1, 64, 64)), expected_ovr)


def test_gdal_path_reads_the_same_pixels(client: Any, catalog: Any, local_product: Path) -> None:
    path = px.gdal_path(catalog.id, client=client)
    assert path.startswith("/vsisubfile/") and "use_head=no" in path
    with rasterio.open(_tif(local_product)) as ref:
        expected = ref.read(3)
    with tuned_env(), rasterio.open(path) as src:
        assert np.array_equal(src.read(3), expected)


def test_signed_url_and_pixxel_url_sources(client: Any, catalog: Any, local_product: Path) -> None:
    download = client.downloads.wait(client.downloads.create(catalog_ids=[catalog.id]).id)
    with rasterio.open(_tif(local_product)) as ref:
        expected = ref.read(4, window=((0, 64), (0, 64)))
    for source in (download, download.signed_url, f"pixxel://catalogs/{catalog.id}/"):
        with px.open_raster(source, client=client) as src:
            assert np.array_equal(src.read(4, window=((0, 64), (0, 64))), expected)


def test_missing_member_raises_member_not_found(client: Any, catalog: Any) -> None:
    with pytest.raises(px.MemberNotFoundError) as info:
        px.open_raster(catalog.id, member="nope.tif", client=client)
    assert isinstance(info.value, FileNotFoundError)
    assert any(m.endswith(".tif") for m in info.value.members)


def test_wavelengths_on_the_band_axis_match_the_stac_item(client: Any, catalog: Any) -> None:
    cube = px.open_dataset(catalog.id, client=client)
    stac_bands = catalog.bands
    assert list(cube.band.values) == [b.center_wavelength for b in stac_bands]
    assert list(cube.fwhm.values) == [b.fwhm for b in stac_bands]
    assert list(cube.band_name.values) == [b.name for b in stac_bands]
    assert cube.rio.crs.to_epsg() == catalog.epsg


def test_dataset_is_masked_and_scaled(client: Any, catalog: Any, local_product: Path) -> None:
    scale = 1 / 50000  # Pixxel: L2A reflectance = DN / 50000
    with rasterio.open(_tif(local_product)) as ref:
        raw = ref.read(2).astype("float64")
    cube = px.open_dataset(catalog.id, chunks=True, client=client)
    values = cube.isel(band=1).values
    expected = np.where(raw == 0, np.nan, raw * scale)
    np.testing.assert_allclose(values, expected, rtol=1e-6)


def test_quicklook_and_spectrum(client: Any, catalog: Any, local_product: Path) -> None:
    rgb, png = px.quicklook(catalog.id, size=100, png=True, client=client)
    assert rgb.dtype == np.uint8 and rgb.shape[2] == 3 and max(rgb.shape[:2]) == 100
    assert png.startswith(b"\x89PNG")
    west, south, east, north = catalog.bbox
    lon, lat = (west + east) / 2, (south + north) / 2
    wavelengths, values = px.spectrum(catalog.id, lon, lat, client=client)
    assert list(wavelengths) == [b.center_wavelength for b in catalog.bands]
    with rasterio.open(_tif(local_product)) as ref:
        from rasterio.warp import transform

        xs, ys = transform("EPSG:4326", ref.crs, [lon], [lat])
        row, col = ref.index(xs[0], ys[0])
        raw = ref.read(window=((row, row + 1), (col, col + 1))).reshape(-1)
    np.testing.assert_allclose(values, raw / 50000, rtol=1e-9)


def test_deflated_members_warn_and_still_read(deflated_sandbox: Sandbox, tmp_path: Path) -> None:
    """DEFLATED members (a sandbox launched with deflate_members=True) read right, with a warning,
    band- and pixel-interleaved alike; GDAL's own path (/vsizip/) reads them too."""
    catalog_ids = deflated_sandbox.info()["catalog_ids"]
    with px.Client(api_key=deflated_sandbox.token, base_url=deflated_sandbox.url) as client:
        for index, catalog_id in enumerate(catalog_ids):
            url, tif = download_members(deflated_sandbox, catalog_id, tmp_path / str(index))
            with rasterio.open(tif) as ref:
                expected = ref.read([2, 9], window=((30, 130), (0, 100)))
                interleave = ref.interleaving.name.lower()
            assert interleave == ("band", "pixel")[index]
            with pytest.warns(DeflatedMemberWarning), px.open_raster(catalog_id, client=client) as src:
                assert np.array_equal(src.read([2, 9], window=((30, 130), (0, 100))), expected)
            path = px.gdal_path(url)
            assert path.startswith("/vsizip/{/vsicurl?")
            with tuned_env(), rasterio.open(path) as src:
                assert np.array_equal(src.read([2, 9], window=((30, 130), (0, 100))), expected)
