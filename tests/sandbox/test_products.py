"""Synthetic Pixxel products: determinism, COG layout, zip members, STAC, spectra."""

from __future__ import annotations

import dataclasses
import hashlib
import io
import itertools
import json
import re
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
from pixxel_geo.sandbox.spectra import ENDMEMBER_NAMES, nearest_band
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
        f"{stem}.mask.tif",
        f"{stem}.jpeg",
        f"{stem}_footprint.geojson",
        f"{stem}_bbox.geojson",
        f"{stem}.hdr",
        f"{stem}.xml",
    ]
    with zipfile.ZipFile(agri.zip_path) as zf:
        infos = zf.infolist()
        assert [i.filename for i in infos] == agri.members
        assert {i.compress_type for i in infos} == {zipfile.ZIP_STORED}
        assert zf.testzip() is None


def test_names_follow_pixxels_pattern() -> None:
    # XXnn_imageID_YYYYMMDD_LnX_YYYYMMDD_aaabbccc: satellite, image id, acquisition date, level,
    # creation date, then resolution (005 m), version (01) and band count.
    pattern = re.compile(r"^FF0[1-6]_\d{6}_(\d{8})_(L2A|L1C|L1B)_(\d{8})_005(\d{2})(\d{3})$")
    for spec in default_specs(bands=45) + default_specs(bands=16, level="L1B"):
        match = pattern.match(spec.item_id)
        assert match, spec.item_id
        acquired, level, created, version, bands = match.groups()
        assert acquired == spec.datetime[:10].replace("-", "") and created > acquired
        assert level == spec.level and version == "01" and int(bands) == spec.bands


def test_folder_layout_puts_members_in_a_folder_named_after_the_product(tmp_path: Path) -> None:
    spec = dataclasses.replace(AGRI, bands=4, width=64, height=64, layout="folder", header=False)
    product = build_product(spec, tmp_path)
    assert all(m.startswith(f"{spec.item_id}/") for m in product.members)
    assert not any(m.endswith(".hdr") for m in product.members)
    assert product.stac_item["assets"]["image"]["href"] == f"{spec.item_id}/{spec.item_id}.tif"
    with rasterio.open(_vsizip(product)) as ds:
        assert ds.count == 4


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


def test_image_is_a_band_interleaved_cog_in_wgs84_at_5m(agri: Any) -> None:
    with rasterio.open(_vsizip(agri)) as ds:
        assert ds.count == BANDS
        assert ds.dtypes == ("uint16",) * BANDS
        assert (ds.width, ds.height) == (SIZE, SIZE)
        assert ds.interleaving == rasterio.enums.Interleaving.band
        assert set(ds.block_shapes) == {(256, 256)}
        assert ds.overviews(1) == [2, 4, 8]
        assert ds.crs.to_epsg() == 4326
        # 5 m in degrees at the scene's latitude
        assert ds.res[1] * 110_574 == pytest.approx(5.0, rel=1e-3)
        assert ds.res[0] * 111_320 * np.cos(np.radians(AGRI.lat)) == pytest.approx(5.0, rel=1e-3)
        assert ds.transform.b == ds.transform.d == 0.0
        assert ds.nodata == 0
        # Pixxel publishes no GeoTIFF scale: by default the file carries none (the STAC, the
        # header and the level in the name do); gdal_metadata=True adds it.
        assert ds.scales == (1.0,) * BANDS
        assert ds.descriptions == AGRI.grid().names
        structure = ds.tags(ns="IMAGE_STRUCTURE")
        assert structure["COMPRESSION"] in ("ZSTD", "DEFLATE")
        assert structure["PREDICTOR"] == "2"
        data = ds.read()
        assert data.max() <= 50000 and data[data > 0].min() >= 1


def test_utm_and_gdal_metadata_when_asked(tmp_path: Path) -> None:
    spec = dataclasses.replace(AGRI, bands=4, width=64, height=64, crs="utm", gdal_metadata=True)
    product = build_product(spec, tmp_path)
    with rasterio.open(_vsizip(product)) as ds:
        assert ds.crs.to_epsg() == utm_epsg(AGRI.lon, AGRI.lat) == 32643
        assert ds.res == (5.0, 5.0)
        assert ds.scales == (1 / 50000,) * 4 and ds.offsets == (0.0,) * 4
        imagery = ds.tags(1, ns="IMAGERY")
        assert float(imagery["CENTRAL_WAVELENGTH_UM"]) == pytest.approx(spec.grid().centers[0] / 1000)
    assert product.stac_item["properties"]["proj:epsg"] == 32643


def test_levels_store_what_pixxel_describes(tmp_path: Path) -> None:
    base = dataclasses.replace(AGRI, bands=6, width=64, height=64)
    stored = {}
    for level in ("L2A", "L1C", "L1B"):
        product = build_product(dataclasses.replace(base, level=level), tmp_path)
        with rasterio.open(_vsizip(product)) as ds:
            stored[level] = (ds.dtypes[0], ds.read(1))  # 470 nm: where the path reflectance is largest
        raster = product.stac_item["assets"]["image"]["raster:bands"][0]
        if level == "L1B":
            assert "scale" not in raster and raster["unit"] == "W m-2 sr-1 um-1"
        else:
            assert raster["scale"] == 0.00002 and raster["offset"] == 0 and raster["nodata"] == 0
    assert stored["L2A"][0] == stored["L1C"][0] == "uint16" and stored["L1B"][0] == "float32"
    valid = stored["L2A"][1] > 0
    # top of atmosphere adds path reflectance: L1C is brighter than L2A in the blue
    assert np.median(stored["L1C"][1][valid].astype(float)) > np.median(stored["L2A"][1][valid].astype(float))
    radiance = stored["L1B"][1][valid]
    assert 1.0 < float(np.median(radiance)) < 400.0  # W m-2 sr-1 um-1 for a land surface


def test_quality_mask_flags_clouds_shadows_water_and_outside(coast: Any) -> None:
    scene = synthesize_scene(COAST)
    with rasterio.open(_vsizip(coast, 1)) as ds:
        assert ds.dtypes == ("uint8",) and ds.count == 1
        assert ds.tags(1)["flag_meanings"].split()[:2] == ["cloud", "cloud_shadow"]
        mask = ds.read(1)
    assert ((mask & 128) > 0).tolist() == (~scene.valid).tolist()
    assert scene.cloud is not None
    assert ((mask & 1) > 0).tolist() == ((scene.cloud >= 0.5) & scene.valid).tolist()
    cloudy = ((mask & 1) > 0)[scene.valid].mean()
    assert 0.05 < cloudy < 0.25  # the coast is 12 % cloud
    assert ((mask & 2) > 0).any() and ((mask & 8) > 0).any()  # shadows; the sea


def test_thumbnail_is_an_rgb_jpeg_of_the_scene(agri: Any) -> None:
    from PIL import Image

    with zipfile.ZipFile(agri.zip_path) as zf:
        picture = Image.open(io.BytesIO(zf.read(agri.members[2])))
        picture.load()
    assert picture.format == "JPEG" and picture.mode == "RGB" and max(picture.size) == SIZE
    rgb = np.asarray(picture).astype(float)
    assert rgb.mean() > 30 and rgb.std() > 10


def test_envi_header_describes_the_bands(agri: Any) -> None:
    from pixxel_geo.io.envi import envi_floats, envi_list, parse_envi_header

    with zipfile.ZipFile(agri.zip_path) as zf:
        header = parse_envi_header(zf.read(agri.members[5]).decode())
    grid = AGRI.grid()
    assert header["wavelength units"] == "Nanometers"
    assert envi_floats(header["wavelength"]) == pytest.approx(list(grid.centers))
    assert envi_floats(header["fwhm"]) == pytest.approx(list(grid.fwhm))
    assert envi_list(header["band names"]) == list(grid.names)
    assert header["reflectance scale factor"] == "50000" and header["data ignore value"] == "0"
    assert (header["samples"], header["lines"], header["bands"]) == (str(SIZE), str(SIZE), str(BANDS))


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
    assert [b["name"] for b in bands] == list(AGRI.grid().names)
    centres = [b["center_wavelength"] for b in bands]
    assert all(b > a for a, b in itertools.pairwise(centres))
    assert centres[0] == pytest.approx(470.0) and centres[-1] == pytest.approx(900.0)  # Firefly's range
    assert all(0 < b["fwhm"] < 10 for b in bands)
    assert all(b["solar_irradiance"] > 500 for b in bands)
    common = {b["common_name"]: b["center_wavelength"] for b in bands if "common_name" in b}
    assert {"red", "green", "nir"} <= common.keys()
    assert 600 <= common["red"] <= 700 and 760 <= common["nir"] <= 900


def test_band_sets_share_native_bands() -> None:
    from pixxel_geo.sandbox.products import season_band_sets

    wide, narrow = season_band_sets(45)
    a = dataclasses.replace(AGRI, bands=45, band_numbers=wide).grid()
    b = dataclasses.replace(AGRI, bands=45, band_numbers=narrow).grid()
    shared = set(a.names) & set(b.names)
    assert 0 < len(shared) < 45
    for name in shared:
        assert a.centers[a.names.index(name)] == b.centers[b.names.index(name)]


def test_spectra_are_plausible(agri: Any) -> None:
    scene = synthesize_scene(AGRI)
    classes = scene.class_map()
    grid = AGRI.grid()
    red, nir, blue = (nearest_band(grid, w) + 1 for w in (650.0, 860.0, 470.0))
    with rasterio.open(_vsizip(agri)) as ds:
        cube = ds.read([blue, red, nir]).astype(np.float64) / 50000
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
        assert item["id"] == product.spec.item_id
        assert item["stac_version"] == "1.0.0"
        props = item["properties"]
        assert props["gsd"] == 5 and isinstance(props["gsd"], int)
        assert props["constellation"] == "firefly"
        assert props["eo:cloud_cover"] == product.spec.cloud_cover
        assert props["proj:shape"] == [SIZE, SIZE]
        assert props["proj:epsg"] == 4326
        assert props["rd:product_level"] == props["processing:level"] == "L2A"
        assert props["datetime"] == product.spec.datetime
        assert 0 < props["view:sun_elevation"] < 90
        assert item["assets"]["image"]["href"] == product.members[0]
        assert item["assets"]["mask"]["href"] == product.members[1]
        assert item["assets"]["image"]["type"] == ("image/tiff; application=geotiff; profile=cloud-optimized")


def test_stac_items_pass_independent_validators(agri: Any, coast: Any) -> None:
    """stac-pydantic (the STAC 1.0 item model, offline) and pystac's extension readers accept
    every item; and the rule STAC 1.0's item schema adds for a `collection` holds: a link with
    rel="collection"."""
    import pystac
    from pystac.extensions.eo import EOExtension
    from pystac.extensions.raster import RasterExtension
    from stac_pydantic import Item

    specs = [AGRI, COAST, dataclasses.replace(AGRI, bands=4, width=64, height=64, level="L1B", layout="folder")]
    items = [agri.stac_item, coast.stac_item]
    items.append(build_product(specs[2], Path(agri.zip_path).parent).stac_item)
    for item in items:
        Item.model_validate(item)
        parsed = pystac.Item.from_dict(item)
        assert parsed.collection_id == item["collection"]
        assert [link["rel"] for link in item["links"]].count("collection") == 1
        eo = EOExtension.ext(parsed.assets["image"])
        raster = RasterExtension.ext(parsed.assets["image"])
        assert eo.bands is not None and raster.bands is not None and len(eo.bands) == len(raster.bands)
        assert parsed.properties["eo:cloud_cover"] >= 0


def test_footprints_run_counterclockwise(agri: Any, coast: Any) -> None:
    """RFC 7946: exterior rings are counterclockwise (checked with shapely, not by our own code)."""
    import shapely
    from shapely.geometry import shape

    for product in (agri, coast):
        for geometry in (product.stac_item["geometry"], product.footprint["features"][0]["geometry"]):
            ring = shape(geometry).exterior
            assert shapely.is_ccw(ring), product.spec.item_id


def test_footprint_lies_inside_the_bbox_and_around_the_centre(coast: Any) -> None:
    footprint = _member_json(coast, 3)
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
    bbox = _member_json(coast, 4)["features"][0]["geometry"]["coordinates"][0]
    assert [min(p[0] for p in bbox), min(p[1] for p in bbox), max(p[0] for p in bbox), max(p[1] for p in bbox)] == [
        west,
        south,
        east,
        north,
    ]


def test_xml_metadata_names_the_product(coast: Any) -> None:
    import xml.etree.ElementTree as ET

    with zipfile.ZipFile(coast.zip_path) as zf:
        root = ET.fromstring(zf.read(coast.members[6]))
    assert root.findtext("ProductId") == COAST.item_id
    assert root.findtext("ProcessingLevel") == "L2A"
    bands = root.find("Bands")
    assert bands is not None and int(bands.get("count", "0")) == BANDS
    assert [b.get("name") for b in bands] == list(COAST.grid().names)


def test_default_specs_are_deterministic_and_varied() -> None:
    specs = default_specs()
    assert specs == default_specs()
    assert len(specs) == 6
    assert len({s.item_id for s in specs}) == 6
    assert all(s.bands == 45 and s.width == s.height == 1024 for s in specs)
    assert [s.seed for s in specs] == list(range(6))
    assert {s.datetime[:4] for s in specs} == {"2024", "2025"}
    assert all(0 <= s.cloud_cover <= 35 for s in specs)
    assert any(s.lat < 0 for s in specs)  # southern hemisphere
    assert all(s.item_id.startswith("FF0") and "_L2A_" in s.item_id and s.crs == "EPSG:4326" for s in specs)
    assert len(default_specs(count=8)) == 8


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"interleave": "tile"}, "interleave"),
        ({"bands": 0}, "bands"),
        ({"datetime": "yesterday"}, "RFC 3339"),
        ({"cloud_cover": 120.0}, "cloud_cover"),
        ({"item_id": "a/b"}, "item_id"),
        ({"lat": 88.0}, "lon/lat"),
        ({"bands": 2, "band_numbers": (5, 3)}, "band numbers"),
        ({"level": "L3"}, "level"),
        ({"layout": "nested"}, "layout"),
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
        assert json.loads(zf.read(product.members[3]))["features"][0]["id"] == spec.item_id
    with rasterio.open(_vsizip(product)) as ds:
        assert ds.read(1).shape == (64, 64)
