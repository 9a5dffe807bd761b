"""Synthetic Pixxel products: determinism, COG layout, zip members, STAC, spectra."""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import json
import struct
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import rasterio
from openapi_schema_validator import OAS30Validator

from pixxel_geo.sandbox.products import (
    ProductSpec,
    build_product,
    default_specs,
    pack_zip,
    synthesize_scene,
    utm_epsg,
)
from pixxel_geo.sandbox.spectra import ENDMEMBER_NAMES, band_grid, nearest_band
from tests.data import OPENAPI_PATH

BANDS, SIZE = 16, 256
SPECS = default_specs(bands=BANDS, width=SIZE, height=SIZE)
AGRI = SPECS[0]  # farmland with a river and a town, cloud free
COAST = SPECS[1]  # coastal city, 12 % cloud


def _openapi_path() -> Path:
    return OPENAPI_PATH


@pytest.fixture(scope="module")
def products_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("products")


@pytest.fixture(scope="module")
def agri(products_dir: Path):
    return build_product(AGRI, products_dir)


@pytest.fixture(scope="module")
def coast(products_dir: Path):
    return build_product(COAST, products_dir)


def _vsizip(product: Any, member_index: int = 0) -> str:
    return f"/vsizip/{product.zip_path}/{product.members[member_index]}"


def _member_json(product: Any, index: int) -> Any:
    with zipfile.ZipFile(product.zip_path) as zf:
        return json.loads(zf.read(product.members[index]))


def _tiff_tile_offsets(data: bytes) -> list[tuple[int, list[int]]]:
    """(IFD offset, tile offsets) for each IFD of a classic or Big TIFF (little endian)."""
    assert data[:2] == b"II", "expected a little-endian TIFF"
    (magic,) = struct.unpack_from("<H", data, 2)
    big = magic == 43
    ifd = struct.unpack_from("<Q", data, 8)[0] if big else struct.unpack_from("<I", data, 4)[0]
    sizes = {3: 2, 4: 4, 16: 8}
    fmt = {3: "H", 4: "I", 16: "Q"}
    out = []
    while ifd:
        n = struct.unpack_from("<Q" if big else "<H", data, ifd)[0]
        entry0, esize = ifd + (8 if big else 2), (20 if big else 12)
        offsets: list[int] = []
        for i in range(n):
            e = entry0 + i * esize
            tag, typ = struct.unpack_from("<HH", data, e)
            count = struct.unpack_from("<Q" if big else "<I", data, e + 4)[0]
            value_at = e + (12 if big else 8)
            if tag == 324:  # TileOffsets
                if count * sizes[typ] > (8 if big else 4):
                    value_at = struct.unpack_from("<Q" if big else "<I", data, value_at)[0]
                offsets = list(struct.unpack_from(f"<{count}{fmt[typ]}", data, value_at))
        out.append((ifd, offsets))
        next_at = entry0 + n * esize
        ifd = struct.unpack_from("<Q" if big else "<I", data, next_at)[0]
    return out


def test_same_spec_gives_same_bytes_in_another_folder(agri: Any, tmp_path: Path) -> None:
    again = build_product(AGRI, tmp_path / "other")
    assert again.sha256 == agri.sha256
    assert again.size == agri.size == agri.zip_path.stat().st_size
    assert hashlib.sha256(agri.zip_path.read_bytes()).hexdigest() == agri.sha256
    assert again.stac_item == agri.stac_item


def test_cache_hit_returns_the_existing_archive(agri: Any, products_dir: Path) -> None:
    mtime = agri.zip_path.stat().st_mtime_ns
    cached = build_product(AGRI, products_dir)
    assert cached.zip_path == agri.zip_path
    assert cached.sha256 == agri.sha256
    assert cached.members == agri.members
    assert agri.zip_path.stat().st_mtime_ns == mtime
    leftovers = [p.name for p in products_dir.iterdir() if p.name.startswith(".build-")]
    assert leftovers == []


def test_changing_bands_gives_a_new_product(agri: Any, products_dir: Path) -> None:
    other = build_product(dataclasses.replace(AGRI, bands=8), products_dir)
    assert other.zip_path != agri.zip_path
    assert other.sha256 != agri.sha256
    assert agri.zip_path.exists()
    with rasterio.open(_vsizip(other)) as ds:
        assert ds.count == 8


def test_members_are_stored_in_order(agri: Any) -> None:
    stem = AGRI.item_id
    assert agri.members == [
        f"{stem}.tif",
        f"{stem}_metadata.json",
        f"{stem}_footprint.geojson",
        f"{stem}_stac.json",
    ]
    with zipfile.ZipFile(agri.zip_path) as zf:
        infos = zf.infolist()
        assert [i.filename for i in infos] == agri.members
        assert {i.compress_type for i in infos} == {zipfile.ZIP_STORED}
        assert zf.testzip() is None


def test_deflated_members_when_asked(tmp_path: Path) -> None:
    spec = dataclasses.replace(AGRI, bands=4, width=64, height=64, deflate_members=True)
    product = build_product(spec, tmp_path)
    with zipfile.ZipFile(product.zip_path) as zf:
        assert {i.compress_type for i in zf.infolist()} == {zipfile.ZIP_DEFLATED}
        assert zf.testzip() is None


def test_pack_zip_is_deterministic_and_streams_files(tmp_path: Path) -> None:
    a, b = tmp_path / "a.bin", tmp_path / "b.json"
    a.write_bytes(bytes(range(256)) * 100)
    b.write_text('{"x": 1}')
    pack_zip([a, b], tmp_path / "one.zip")
    pack_zip([a, b], tmp_path / "two.zip")
    assert (tmp_path / "one.zip").read_bytes() == (tmp_path / "two.zip").read_bytes()
    with zipfile.ZipFile(tmp_path / "one.zip") as zf:
        assert zf.read("a.bin") == a.read_bytes()
        assert zf.getinfo("a.bin").date_time == (2020, 1, 1, 0, 0, 0)
    with pytest.raises(ValueError, match="unique"):
        pack_zip([a, a], tmp_path / "dup.zip")


def test_image_is_a_band_interleaved_cog_in_utm_at_5m(agri: Any) -> None:
    with rasterio.open(_vsizip(agri)) as ds:
        assert ds.count == BANDS
        assert ds.dtypes == ("uint16",) * BANDS
        assert (ds.width, ds.height) == (SIZE, SIZE)
        assert ds.interleaving == rasterio.enums.Interleaving.band
        assert set(ds.block_shapes) == {(256, 256)}
        assert ds.overviews(1) == [2, 4, 8]
        assert ds.crs.to_epsg() == utm_epsg(AGRI.lon, AGRI.lat) == 32643
        assert ds.res == (5.0, 5.0)
        assert ds.transform.b == ds.transform.d == 0.0
        assert ds.nodata == 0
        assert ds.scales == (0.0001,) * BANDS
        assert ds.offsets == (0.0,) * BANDS
        assert ds.descriptions == tuple(f"B{i:03d}" for i in range(1, BANDS + 1))
        structure = ds.tags(ns="IMAGE_STRUCTURE")
        assert structure["COMPRESSION"] in ("ZSTD", "DEFLATE")
        assert structure["PREDICTOR"] == "2"
        imagery = ds.tags(1, ns="IMAGERY")
        assert float(imagery["CENTRAL_WAVELENGTH_UM"]) == pytest.approx(0.4)


def test_tiff_layout_is_cloud_optimized(agri: Any) -> None:
    with zipfile.ZipFile(agri.zip_path) as zf:
        data = zf.read(agri.members[0])
    ifds = _tiff_tile_offsets(data)
    assert len(ifds) == 4  # full resolution + 3 overviews
    all_tiles = [o for _, offsets in ifds for o in offsets]
    assert max(ifd for ifd, _ in ifds) < min(all_tiles), "IFDs must precede image data"
    for (_, larger), (_, smaller) in itertools.pairwise(ifds):
        assert max(smaller) < min(larger), "overview data must precede higher resolutions"
    # band-interleaved: full resolution holds one run of tiles per band
    assert len(ifds[0][1]) == BANDS * (SIZE // 256) ** 2


def test_pixel_interleave_for_benchmarks(tmp_path: Path) -> None:
    spec = dataclasses.replace(AGRI, bands=6, width=300, height=200, interleave="pixel")
    product = build_product(spec, tmp_path)
    with rasterio.open(_vsizip(product)) as ds:
        assert ds.interleaving == rasterio.enums.Interleaving.pixel
        assert set(ds.block_shapes) == {(256, 256)}
        assert ds.overviews(1) == [2, 4]
        assert (ds.width, ds.height, ds.count) == (300, 200, 6)


def test_eo_bands_match_the_image(agri: Any) -> None:
    bands = agri.stac_item["assets"]["image"]["eo:bands"]
    assert len(bands) == BANDS
    assert [b["name"] for b in bands] == [f"B{i:03d}" for i in range(1, BANDS + 1)]
    centres = [b["center_wavelength"] for b in bands]
    assert all(b > a for a, b in itertools.pairwise(centres))
    assert centres[0] == pytest.approx(AGRI.min_nm) and centres[-1] == pytest.approx(AGRI.max_nm)
    spacing = centres[1] - centres[0]
    assert all(spacing <= b["fwhm"] <= 1.5 * spacing for b in bands)
    common = {b["common_name"]: b["center_wavelength"] for b in bands if "common_name" in b}
    assert {"red", "green", "nir"} <= common.keys()
    assert 600 <= common["red"] <= 700 and 760 <= common["nir"] <= 900
    assert "nanometres" in agri.stac_item["assets"]["image"]["description"]


def test_spectra_are_plausible(agri: Any) -> None:
    scene = synthesize_scene(AGRI)
    classes = scene.class_map()
    grid = band_grid(BANDS)
    red, nir, blue = (nearest_band(grid, w) + 1 for w in (650.0, 860.0, 470.0))
    with rasterio.open(_vsizip(agri)) as ds:
        cube = ds.read([blue, red, nir]).astype(np.float64) * 0.0001
    b, r, n = cube
    veg = classes == ENDMEMBER_NAMES.index("vegetation")
    water = classes == ENDMEMBER_NAMES.index("turbid_water")
    water |= classes == ENDMEMBER_NAMES.index("water")
    soil = classes == ENDMEMBER_NAMES.index("soil")
    assert veg.sum() > 1000 and water.sum() > 200 and soil.sum() > 200
    assert np.median(n[veg] / r[veg]) > 2.0
    assert np.median(n[water]) < 0.05
    assert np.median(n[soil]) > np.median(b[soil])  # bare soil brightens towards the NIR
    valid = scene.valid
    ndvi = (n[valid] - r[valid]) / (n[valid] + r[valid])
    assert ndvi.mean() > 0.2


def test_nodata_exactly_outside_the_footprint(agri: Any) -> None:
    valid = synthesize_scene(AGRI).valid
    assert 0.8 < valid.mean() < 1.0
    with rasterio.open(_vsizip(agri)) as ds:
        data = ds.read()
    assert (data[:, ~valid] == 0).all()
    assert (data[:, valid] > 0).all()


def test_clouds_cover_about_the_requested_fraction() -> None:
    spec = dataclasses.replace(SPECS[3], width=128, height=128)
    assert spec.cloud_cover == 35.0
    scene = synthesize_scene(spec)
    cloudy = scene.class_map()[scene.valid] == ENDMEMBER_NAMES.index("cloud")
    assert 0.2 < cloudy.mean() < 0.5
    clear = synthesize_scene(dataclasses.replace(AGRI, width=128, height=128))
    assert not (clear.class_map() == ENDMEMBER_NAMES.index("cloud")).any()


def test_stac_item_validates_against_the_api_schema(agri: Any, coast: Any) -> None:
    spec = json.loads(_openapi_path().read_text())
    schema = {"$ref": "#/components/schemas/clerk.STACItem", "components": spec["components"]}
    validator = OAS30Validator(schema)
    for product in (agri, coast):
        item = product.stac_item
        validator.validate(item)
        assert item == _member_json(product, 3)
        assert item["id"] == product.spec.item_id
        assert item["stac_version"] == "1.0.0"
        props = item["properties"]
        assert props["gsd"] == 5 and isinstance(props["gsd"], int)
        assert props["constellation"] == "firefly"
        assert props["eo:cloud_cover"] == product.spec.cloud_cover
        assert props["proj:shape"] == [SIZE, SIZE]
        assert props["proj:epsg"] == utm_epsg(product.spec.lon, product.spec.lat)
        assert props["datetime"] == product.spec.datetime
        assert 0 < props["view:sun_elevation"] < 90
        assert item["assets"]["image"]["href"] == product.members[0]
        assert item["assets"]["image"]["type"] == ("image/tiff; application=geotiff; profile=cloud-optimized")
        assert all(isinstance(u, str) for u in item["stac_extensions"])


def test_footprint_lies_inside_the_bbox_and_around_the_centre(coast: Any) -> None:
    footprint = _member_json(coast, 2)
    assert footprint == coast.footprint
    assert footprint["type"] == "FeatureCollection"
    geometry = footprint["features"][0]["geometry"]
    assert geometry == coast.stac_item["geometry"]
    ring = geometry["coordinates"][0]
    assert ring[0] == ring[-1] and len(ring) == 5
    west, south, east, north = coast.stac_item["bbox"]
    assert all(west <= lon <= east and south <= lat <= north for lon, lat in ring)
    assert abs((west + east) / 2 - COAST.lon) < 0.01
    assert abs((south + north) / 2 - COAST.lat) < 0.01
    # 256 px x 5 m = 1.28 km across
    assert 0.005 < north - south < 0.02


def test_metadata_document(coast: Any) -> None:
    meta = _member_json(coast, 1)
    assert meta["item_id"] == COAST.item_id
    assert meta["processing_level"] == "L2A"
    assert meta["radiometry"]["scale_factor"] == 0.0001
    assert len(meta["bands"]) == BANDS
    assert meta["bands"][0] == {
        "index": 1,
        "name": "B001",
        "wavelength": 400.0,
        "fwhm": meta["bands"][0]["fwhm"],
        "unit": "nm",
    }
    acq = meta["acquisition"]
    assert acq["datetime"] == COAST.datetime
    assert 0 < acq["sun_elevation_deg"] < 90 and 0 <= acq["sun_azimuth_deg"] < 360


def test_default_specs_are_deterministic_and_varied() -> None:
    specs = default_specs()
    assert specs == default_specs()
    assert len(specs) == 6
    assert len({s.item_id for s in specs}) == 6
    assert all(s.bands == 150 and s.width == s.height == 1024 for s in specs)
    assert [s.seed for s in specs] == list(range(6))
    assert {s.datetime[:4] for s in specs} == {"2024", "2025"}
    assert all(0 <= s.cloud_cover <= 35 for s in specs)
    assert any(utm_epsg(s.lon, s.lat) // 100 == 327 for s in specs)  # southern hemisphere
    assert all(s.item_id.startswith("FF0") and "_L2A_" in s.item_id for s in specs)
    assert len(default_specs(count=8)) == 8


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"interleave": "tile"}, "interleave"),
        ({"bands": 0}, "bands"),
        ({"datetime": "yesterday"}, "RFC 3339"),
        ({"cloud_cover": 120.0}, "cloud_cover"),
        ({"item_id": "a/b"}, "item_id"),
        ({"lat": 88.0}, "UTM"),
        ({"min_nm": 900.0, "max_nm": 400.0}, "wavelength range"),
    ],
)
def test_bad_specs_are_refused_with_a_clear_message(change: dict[str, Any], message: str) -> None:
    fields = dataclasses.asdict(AGRI) | change
    with pytest.raises(ValueError, match=message):
        ProductSpec(**fields)


def test_zip64_members_stay_readable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from pixxel_geo.sandbox import products

    monkeypatch.setattr(products, "_ZIP64_THRESHOLD", 1)  # treat every member as "large"
    spec = dataclasses.replace(AGRI, bands=3, width=64, height=64)
    product = build_product(spec, tmp_path)
    with zipfile.ZipFile(product.zip_path) as zf:
        info = zf.getinfo(product.members[0])
        assert info.compress_type == zipfile.ZIP_STORED
        raw = product.zip_path.read_bytes()
        local_extra_len = struct.unpack_from("<H", raw, info.header_offset + 28)[0]
        assert local_extra_len >= 20  # zip64 extra field in the local header
        assert json.loads(zf.read(product.members[3]))["id"] == spec.item_id
    with rasterio.open(_vsizip(product)) as ds:
        assert ds.read(1).shape == (64, 64)
