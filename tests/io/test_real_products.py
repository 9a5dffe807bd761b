"""Products shaped as Pixxel describes them, read through the public API only.

Each sandbox below is launched with another of the variants Pixxel's description allows (zip
layout, level, which sidecars describe the bands); the truth is the archive itself, downloaded
whole and read with rasterio from disk. Values must equal DN / 50000 (L2A, L1C) or the stored
radiance (L1B), wavelengths must equal what the STAC item or the header says, nodata is NaN, the
quality mask is read as written, and the image is never the mask.
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
import rasterio
from affine import Affine

import pixxel_geo as px
from pixxel_geo.io.envi import envi_floats, parse_envi_header
from pixxel_geo.sandbox import Sandbox, SandboxSettings

SMALL = {"bands": 8, "width": 96, "height": 96, "count": 2, "download_seconds": 0.1}
VARIANTS = {
    # Pixxel's default as the sandbox makes it: flat, L2A, header, STAC bands.
    "flat-L2A": SandboxSettings(**SMALL),
    # A folder per product, top-of-atmosphere reflectance; the catalog describes no bands, no
    # header: only the GeoTIFF's own metadata says anything.
    "folder-L1C-gdal": SandboxSettings(
        **SMALL, layout="folder", level="L1C", header=False, stac_bands=False, gdal_metadata=True
    ),
    # Radiance, nothing but the level in the name.
    "flat-L1B-name": SandboxSettings(**SMALL, level="L1B", header=False, stac_bands=False),
    # Wavelengths in micrometres (as STAC's eo extension says) in the STAC item and the header.
    "folder-L2A-um": SandboxSettings(**SMALL, layout="folder", wavelength_units="um"),
}


@pytest.fixture(scope="module", params=sorted(VARIANTS))
def variant(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """A launched sandbox of one variant, its client, catalogs and each product's zip on disk."""
    settings = VARIANTS[request.param]
    data_dir = tmp_path_factory.mktemp(request.param)
    with (
        Sandbox.launch(data_dir=data_dir, token="real-products-token-0123", settings=settings) as sb,
        px.Client(api_key=sb.token, base_url=sb.url) as client,
    ):
        catalogs = list(client.catalogs.search())
        zips = {}
        for catalog in catalogs:
            download = client.downloads.wait(client.downloads.create(catalog_ids=[catalog.id]).id)
            path = data_dir / f"{catalog.id}.zip"
            path.write_bytes(httpx.get(download.signed_url, timeout=60).content)
            zips[catalog.id] = path
        yield {"settings": settings, "sb": sb, "client": client, "catalogs": catalogs, "zips": zips}


def _members(zip_path: Path) -> dict[str, str]:
    with zipfile.ZipFile(zip_path) as zf:
        names = zf.namelist()
    image = next(n for n in names if n.endswith(".tif") and not n.endswith(".mask.tif"))
    return {"image": image, "mask": next(n for n in names if n.endswith(".mask.tif"))} | {
        "header": next((n for n in names if n.endswith(".hdr")), "")
    }


def _read(zip_path: Path, member: str) -> Any:
    with rasterio.open(f"/vsizip/{zip_path}/{member}") as src:
        return src.read()


def test_values_are_physical_at_every_pixel(variant: dict[str, Any]) -> None:
    settings: SandboxSettings = variant["settings"]
    for catalog in variant["catalogs"]:
        zip_path = variant["zips"][catalog.id]
        stored = _read(zip_path, _members(zip_path)["image"]).astype("float64")
        cube = px.open_dataset(catalog, client=variant["client"])
        expected = stored if settings.level == "L1B" else stored / 50000
        expected = np.where(stored == 0, np.nan, expected)
        np.testing.assert_allclose(cube.values, expected, rtol=1e-6)
        if settings.level == "L1B":
            assert cube.name == "radiance" and cube.attrs["units"] == "W m-2 sr-1 um-1"
        else:
            assert cube.name == "reflectance" and cube.attrs["units"] == "1"
            assert 0 < np.nanmax(cube.values) <= 1.0
        assert np.isnan(cube.values[:, stored[0] == 0]).all() and (stored[0] == 0).any()


def test_wavelengths_come_from_the_best_source(variant: dict[str, Any]) -> None:
    settings: SandboxSettings = variant["settings"]
    for catalog in variant["catalogs"]:
        zip_path = variant["zips"][catalog.id]
        members = _members(zip_path)
        cube = px.open_dataset(catalog.id, client=variant["client"])
        if settings.stac_bands:
            assert cube.attrs["wavelength_source"] == "STAC eo:bands"
            assert cube.attrs["calibration_source"] == "STAC raster:bands"
            factor = 1000 if settings.wavelength_units == "um" else 1
            stac = [b["center_wavelength"] * factor for b in catalog.details["assets"]["image"]["eo:bands"]]
            np.testing.assert_allclose(cube.band.values, stac, rtol=1e-9)
        elif settings.gdal_metadata:
            assert cube.attrs["wavelength_source"] == "GeoTIFF band metadata"
            assert cube.attrs["calibration_source"] == "GeoTIFF band scale/offset"
        else:
            assert cube.attrs["wavelength_source"] == "none"
            assert cube.attrs["calibration_source"].startswith(f"product level {settings.level}")
            assert list(cube.band.values) == list(range(1, settings.bands + 1))
        if members["header"]:
            with zipfile.ZipFile(zip_path) as zf:
                header = parse_envi_header(zf.read(members["header"]).decode())
            factor = 1000 if settings.wavelength_units == "um" else 1
            np.testing.assert_allclose(cube.band.values, np.array(envi_floats(header["wavelength"])) * factor)
        assert cube.band.values.min() >= 470 or cube.attrs["wavelength_source"] == "none"


def test_a_bare_url_reads_the_header_or_the_name(variant: dict[str, Any]) -> None:
    """Without a catalog (a signed URL alone) the product's own files say how to calibrate."""
    settings: SandboxSettings = variant["settings"]
    client = variant["client"]
    catalog = variant["catalogs"][0]
    download = client.downloads.wait(client.downloads.create(catalog_ids=[catalog.id]).id)
    cube = px.open_dataset(download.signed_url)
    if settings.header:
        assert cube.attrs["calibration_source"] == "ENVI header reflectance scale factor"
        assert cube.attrs["wavelength_source"] == "ENVI header"
    elif settings.gdal_metadata:
        assert cube.attrs["calibration_source"] == "GeoTIFF band scale/offset"
    else:
        assert cube.attrs["calibration_source"].startswith(f"product level {settings.level}")
    via_catalog = px.open_dataset(catalog, client=client)
    np.testing.assert_allclose(cube.values, via_catalog.values, rtol=1e-6)


def test_spectrum_agrees_with_open_dataset(variant: dict[str, Any]) -> None:
    catalog = variant["catalogs"][0]
    cube = px.open_dataset(catalog, client=variant["client"])
    west, south, east, north = catalog.bbox
    lon, lat = west + (east - west) * 0.4, south + (north - south) * 0.55
    wavelengths, values = px.spectrum(catalog, lon, lat, client=variant["client"])
    pixel = cube.sel(x=lon, y=lat, method="nearest") if cube.rio.crs.to_epsg() == 4326 else None
    assert pixel is not None
    np.testing.assert_allclose(wavelengths, cube.band.values)
    np.testing.assert_allclose(values, pixel.values, rtol=1e-6)


def test_quality_mask_is_read_as_written_and_masks(variant: dict[str, Any]) -> None:
    for catalog in variant["catalogs"]:
        zip_path = variant["zips"][catalog.id]
        written = _read(zip_path, _members(zip_path)["mask"])[0]
        mask = px.open_quality_mask(catalog, client=variant["client"])
        assert mask.dims == ("y", "x") and mask.dtype == np.uint8
        np.testing.assert_array_equal(mask.values, written)
        assert mask.attrs["flag_meanings"].split()[:2] == ["cloud", "cloud_shadow"]
        cube = px.open_dataset(catalog, client=variant["client"], chunks=True, mask=("cloud", "cloud_shadow"))
        plain = px.open_dataset(catalog, client=variant["client"])
        np.testing.assert_array_equal(mask.x.values, plain.x.values)
        np.testing.assert_array_equal(mask.y.values, plain.y.values)
        flagged = (written & 0b11) > 0
        values = cube.values
        assert np.isnan(values[:, flagged]).all()
        np.testing.assert_allclose(values[:, ~flagged], plain.values[:, ~flagged], rtol=1e-6)
        assert cube.attrs["masked_flags"] == "cloud cloud_shadow"


def test_the_image_is_never_the_mask(variant: dict[str, Any]) -> None:
    catalog = variant["catalogs"][0]
    with px.open_raster(catalog, client=variant["client"]) as src:
        assert src.count == variant["settings"].bands
    path = px.gdal_path(catalog, client=variant["client"])
    assert ".mask.tif" not in path


def test_several_products_in_one_archive(variant: dict[str, Any]) -> None:
    client = variant["client"]
    first, second = variant["catalogs"][:2]
    download = client.downloads.wait(client.downloads.create(catalog_ids=[first.id, second.id]).id)
    with pytest.raises(px.MultipleProductsError) as info:
        px.open_dataset(download.signed_url)
    message = str(info.value)
    assert first.item_id in message and second.item_id in message and "member=" in message
    assert isinstance(info.value, px.PixxelError) and set(info.value.products) == {first.item_id, second.item_id}
    with zipfile.ZipFile(io.BytesIO(httpx.get(download.signed_url, timeout=60).content)) as zf:
        image = next(n for n in zf.namelist() if n.endswith(f"{second.item_id}.tif"))
    cube = px.open_dataset(download.signed_url, member=image)
    own = px.open_dataset(second, client=client)
    np.testing.assert_allclose(cube.values, own.values, rtol=1e-6)


def test_an_undescribed_product_is_dn_and_says_so(range_server: str, served_dir: Path) -> None:
    """A product with no STAC, no header, no GeoTIFF scale and no level in its name gives DN,
    named so, with one warning; it is never called reflectance."""
    from rasterio.io import MemoryFile

    data = (np.arange(3 * 32 * 32, dtype="uint16").reshape(3, 32, 32) % 5000) + 1
    with MemoryFile() as mem:
        profile = {"driver": "GTiff", "width": 32, "height": 32, "count": 3, "dtype": "uint16", "nodata": 0}
        profile |= {"crs": "EPSG:32643", "transform": Affine(5.0, 0.0, 600000.0, 0.0, -5.0, 3340000.0)}
        with mem.open(**profile) as dst:
            dst.write(data)
        tif = mem.read()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as zf:
        zf.writestr("scene.tif", tif)
    (served_dir / "plain-product.zip").write_bytes(buffer.getvalue())
    url = f"{range_server}/plain-product.zip"
    with pytest.warns(px.UncalibratedWarning, match="raw digital numbers"):
        cube = px.open_dataset(url)
    assert cube.name == "dn" and cube.attrs["quantity"] == "dn" and cube.attrs["units"] == "DN"
    np.testing.assert_array_equal(cube.values, data.astype("float32"))
    with warnings_as_errors():
        again = px.open_dataset(url)  # warned once per product
    assert again.attrs["quantity"] == "dn"


class warnings_as_errors:
    def __enter__(self) -> None:
        import warnings

        self._catch = warnings.catch_warnings()
        self._catch.__enter__()
        warnings.simplefilter("error")

    def __exit__(self, *exc: object) -> None:
        self._catch.__exit__(*exc)


def test_stac_details_parse_with_pystac(variant: dict[str, Any]) -> None:
    import pystac

    for catalog in variant["catalogs"]:
        item = pystac.Item.from_dict(json.loads(json.dumps(catalog.details)))
        assert item.id == catalog.item_id


def test_quicklook_uses_the_thumbnail_and_keeps_natural_colours(sandbox: Any, client: Any, catalog: Any) -> None:
    """A quick look no larger than the thumbnail reads only the thumbnail; one stretch for all
    three channels keeps the colour balance the overview read gives (no per-channel tint)."""
    download = client.downloads.wait(client.downloads.create(catalog_ids=[catalog.id]).id)
    url = str(download.signed_url)
    archive = httpx.get(url, timeout=60).content
    with zipfile.ZipFile(io.BytesIO(archive)) as zf:
        image = next(i for i in zf.infolist() if i.filename.endswith(".tif") and ".mask" not in i.filename)
    image_bytes = range(image.header_offset, image.header_offset + 100 + image.compress_size)
    sandbox.reset_requests()
    from_thumbnail = px.quicklook(url + "&fresh=1", size=64)
    ranges = [r["range"] for r in sandbox.requests("/files/")]
    assert ranges and all(r and r.startswith("bytes=") for r in ranges)
    for spec in ranges:  # the directory and the thumbnail: not one byte of the image
        first, _, last = spec[len("bytes=") :].partition("-")
        start, end = (len(archive) - int(last), len(archive) - 1) if not first else (int(first), int(last or -1))
        assert end < image_bytes.start or start >= image_bytes.stop, spec
    from_image = px.quicklook(url, size=64, thumbnail=False)
    assert from_thumbnail.shape == from_image.shape == (64, 64, 3)
    inside = (from_image > 0).all(axis=2) & (from_thumbnail > 0).all(axis=2)
    balance_thumb = from_thumbnail[inside].mean(axis=0) / from_thumbnail[inside].mean()
    balance_image = from_image[inside].mean(axis=0) / from_image[inside].mean()
    np.testing.assert_allclose(balance_thumb, balance_image, atol=0.12)
