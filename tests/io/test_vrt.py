"""The calibrated VRT: GDAL (rasterio's) reads the product's calibration from it."""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import rasterio

import pixxel_geo as px
from pixxel_geo.io.product import gdal_bands, resolve_product
from pixxel_geo.io.vrt import band_label, calibrated_vrt

from .io_helpers import download_members


def test_gdal_sees_scale_offset_nodata_and_wavelengths(sandbox: Any, client: Any, catalog: Any, tmp_path: Path) -> None:
    _, image = download_members(sandbox, catalog.id, tmp_path)
    product = resolve_product(catalog, client=client)
    with rasterio.open(image) as src:
        calibration = product.calibration(gdal_bands(src))
        stored = src.read()
        transform = src.transform
        xml = calibrated_vrt(
            str(image), src.width, src.height, "UInt16", calibration,
            crs_wkt=src.crs.to_wkt(), geotransform=src.transform.to_gdal(),
        )  # fmt: skip
    (tmp_path / "product.vrt").write_text(xml)
    with rasterio.open(tmp_path / "product.vrt") as vrt:
        assert vrt.scales == (1 / 50000,) * vrt.count and vrt.offsets == (0.0,) * vrt.count
        assert vrt.nodata == 0
        assert vrt.descriptions[0] == band_label(calibration, 0) == f"{catalog.bands[0].name} (470.0 nm)"
        assert float(vrt.tags(1)["wavelength"]) == catalog.bands[0].center_wavelength
        assert vrt.crs.to_epsg() == 4326 and vrt.transform == transform
        np.testing.assert_array_equal(vrt.read(), stored)
        assert vrt.overviews(1)  # the image's overviews show through
    cube = px.open_dataset(catalog, client=client)
    physical = stored[3].astype("float64") * vrt.scales[3]
    np.testing.assert_allclose(np.where(stored[3] == 0, np.nan, physical), cube.isel(band=3).values, rtol=1e-6)
    with zipfile.ZipFile(tmp_path / "product.zip") as zf:
        assert not any(n.endswith(".vrt") for n in zf.namelist())  # nothing written into the product
