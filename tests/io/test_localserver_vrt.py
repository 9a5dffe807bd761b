"""The local range server's calibrated VRT: Debian's GDAL 3.6 sees reflectance scale, nodata and band
names with wavelengths, reading the image beside it through the same server."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
import rasterio

import pixxel_geo as px
from pixxel_geo.io.localserver import LocalRangeServer

SIGNATURE = "X-Pixxel-Signature"


def _gdalinfo(path: str) -> subprocess.CompletedProcess[str]:
    tool = shutil.which("gdalinfo", path="/usr/bin")
    assert tool, "gdalinfo is not installed: apt-get install gdal-bin"
    env = {"PATH": "/usr/bin:/bin", "HOME": os.environ.get("HOME", "/tmp"), "GDAL_DISABLE_READDIR_ON_OPEN": "EMPTY_DIR"}
    return subprocess.run([tool, "-json", path], capture_output=True, text=True, env=env, timeout=120)


@pytest.fixture
def server(client: Any) -> Iterator[LocalRangeServer]:
    with LocalRangeServer(client=client) as srv:
        yield srv


def test_gdal_36_reads_the_calibration_from_the_vrt(
    server: LocalRangeServer, client: Any, catalog: Any, tmp_path: Path
) -> None:
    image = f"{catalog.item_id}.tif"
    vrt = server.vrt_name(image)
    body = httpx.get(server.url(catalog.id, vrt)).text
    assert body.startswith("<VRTDataset") and f'relativeToVRT="1">{image}<' in body
    assert server.base_url not in body and SIGNATURE not in body  # nothing that changes or is secret
    result = _gdalinfo(server.gdal_path(catalog.id, vrt))
    assert result.returncode == 0, result.stderr
    import json

    info = json.loads(result.stdout)
    bands = info["bands"]
    assert len(bands) == len(catalog.bands)
    assert bands[0]["scale"] == pytest.approx(1 / 50000) and bands[0]["offset"] == 0
    assert bands[0]["noDataValue"] == 0
    first = catalog.bands[0]
    assert bands[0]["description"] == f"{first.name} ({first.center_wavelength:.1f} nm)"
    assert info["coordinateSystem"]["wkt"].startswith("GEOGCRS") and info["size"] == [256, 256]
    # The pixels are the image's own. (GDAL reads the server from another process: rasterio in
    # this one would hold the GIL while its GDAL waits for this process's server.)
    out = tmp_path / "chip.tif"
    translate = shutil.which("gdal_translate", path="/usr/bin")
    assert translate
    env = {"PATH": "/usr/bin:/bin", "HOME": os.environ.get("HOME", "/tmp")}
    command = [translate, "-b", "2", "-srcwin", "0", "0", "64", "64", server.gdal_path(catalog.id, vrt), str(out)]
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    with rasterio.open(out) as chip, px.open_raster(catalog, client=client) as src:
        np.testing.assert_array_equal(chip.read(1), src.read(2, window=((0, 64), (0, 64))))
        assert chip.scales == (1 / 50000,)


def test_no_vrt_for_a_member_that_is_not_an_image(server: LocalRangeServer, catalog: Any) -> None:
    response = httpx.get(server.url(catalog.id, f"{catalog.item_id}_footprint.vrt"))
    assert response.status_code == 404
