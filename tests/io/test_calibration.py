"""Calibration, member picking and ENVI headers, unit by unit (no server: the sources are values).

The end-to-end behaviour on real archives is in test_real_products.py; these pin down the order
of the sources, the unit conversions and the edge cases no sandbox variant produces.
"""

from __future__ import annotations

from typing import Any

import pytest

import pixxel_geo as px
from pixxel_geo.io.calibration import GdalBands, calibration_from, level_of
from pixxel_geo.io.envi import envi_floats, parse_envi_header
from pixxel_geo.io.members import choose_product, products_in
from pixxel_geo.io.quality import QUALITY_FLAGS, flags_from_tags, mask_value, normalise_mask_request

NAME = "FF01_001234_20250301_L2A_20250302_00501003"


def _stac(scale: float | None = 0.00002, centres: list[float] | None = None, unit: str | None = None) -> dict[str, Any]:
    raster: dict[str, Any] = {"nodata": 0, "offset": 0}
    if scale is not None:
        raster["scale"] = scale
    if unit:
        raster["unit"] = unit
    eo = [{"name": f"B00{i + 1}", "center_wavelength": c, "fwhm": 0.005} for i, c in enumerate(centres or [])]
    asset = {"href": f"{NAME}.tif", "roles": ["data"], "raster:bands": [raster], "eo:bands": eo}
    return {"id": NAME, "properties": {"rd:product_level": "L2A"}, "assets": {"image": asset}}


HEADER = parse_envi_header(
    "ENVI\nbands = 3\nwavelength units = Nanometers\nwavelength = {500, 600,\n 700}\nfwhm = {4, 4, 4}\n"
    "band names = {B010, B040, B070}\nreflectance scale factor = 10000\ndata ignore value = 65535\n"
)


def test_stac_comes_first_then_the_header_then_gdal_then_the_name() -> None:
    gdal = GdalBands(count=3, scales=(0.5,) * 3, offsets=(0.0,) * 3, nodata=7.0)
    both = calibration_from(count=3, stac=_stac(centres=[0.47, 0.48, 0.49]), header=HEADER, gdal=gdal)
    assert both.scales == (0.00002,) * 3 and both.scale_source == "STAC raster:bands"
    assert both.wavelengths == (470.0, 480.0, 490.0) and both.wavelength_source == "STAC eo:bands"
    assert both.nodata == 0 and both.nodata_source == "STAC raster:bands"
    header = calibration_from(count=3, header=HEADER, gdal=gdal, product_name=NAME)
    assert header.scales == (1 / 10000,) * 3 and header.scale_source.startswith("ENVI header")
    assert header.wavelengths == (500.0, 600.0, 700.0) and header.band_names == ("B010", "B040", "B070")
    assert header.nodata == 65535
    own = calibration_from(count=3, gdal=gdal, product_name=NAME)
    assert own.scales == (0.5,) * 3 and own.scale_source == "GeoTIFF band scale/offset" and own.nodata == 7
    name_only = calibration_from(count=3, product_name=NAME)
    assert name_only.scales == (1 / 50000,) * 3 and name_only.quantity == "reflectance"
    assert name_only.wavelengths is None and name_only.wavelength_source == "none"


def test_wavelengths_in_micrometres_or_nanometres() -> None:
    assert calibration_from(count=1, stac=_stac(centres=[493])).wavelengths == (493.0,)  # Pixxel's example
    assert calibration_from(count=1, stac=_stac(centres=[0.443])).wavelengths == (443.0,)  # the STAC spec's
    micro = parse_envi_header("ENVI\nwavelength units = Micrometers\nwavelength = {0.5}\nfwhm = {0.004}\n")
    cal = calibration_from(count=1, header=micro)
    assert cal.wavelengths == (500.0,) and cal.fwhm == (4.0,)
    imagery = GdalBands(count=1, imagery_tags=({"CENTRAL_WAVELENGTH_UM": "0.65", "FWHM_UM": "0.01"},))
    assert calibration_from(count=1, gdal=imagery).wavelengths == (650.0,)


def test_levels_give_reflectance_radiance_or_dn() -> None:
    l1b = calibration_from(count=2, product_name=NAME.replace("L2A", "L1B"))
    assert l1b.quantity == "radiance" and l1b.units == "W m-2 sr-1 um-1" and l1b.is_identity
    l1c = calibration_from(count=2, product_name=NAME.replace("L2A", "L1C"))
    assert l1c.quantity == "reflectance" and l1c.scales == (1 / 50000,) * 2
    unknown = calibration_from(count=2, product_name="scene")
    assert unknown.quantity == "dn" and unknown.units == "DN" and unknown.is_identity
    assert unknown.nodata is None
    radiance_stac = _stac(scale=None, unit="W m-2 sr-1 um-1")
    radiance_stac["properties"]["rd:product_level"] = "L1B"
    cal = calibration_from(count=2, stac=radiance_stac)
    assert cal.quantity == "radiance" and cal.nodata == 0 and cal.scale_source.startswith("product level L1B")


def test_band_counts_that_disagree_are_ignored_and_said_so() -> None:
    cal = calibration_from(count=4, stac=_stac(centres=[470, 480]), product_name=NAME)
    assert cal.wavelengths is None
    assert "eo:bands lists 2 bands, the image has 4" in cal.attrs()["calibration_notes"]
    # one raster:bands entry stands for every band, as in the API's own example
    assert cal.scales == (0.00002,) * 4


@pytest.mark.parametrize(
    ("stac", "level"),
    [({"properties": {"processing:level": "l1c"}}, "L1C"), ({"properties": {}}, "L2A"), (None, "L2A")],
)
def test_level_from_stac_or_name(stac: Any, level: str) -> None:
    assert level_of(NAME, stac) == level


def test_garbage_in_the_sources_never_crashes() -> None:
    stac = {"assets": {"image": {"roles": ["data"], "eo:bands": [{"center_wavelength": "x"}], "raster:bands": [5]}}}
    cal = calibration_from(count=1, stac=stac, header={"wavelength": "{a, b}"}, product_name=NAME)
    assert cal.wavelengths is None and cal.scales == (1 / 50000,)
    assert calibration_from(count=1, stac={"assets": []}).quantity == "dn"


def test_members_are_told_apart_by_what_they_are() -> None:
    names = [
        "out/",
        f"out/{NAME}/{NAME}.mask.tif",
        f"out/{NAME}/{NAME}.tif",
        f"out/{NAME}/{NAME}.jpeg",
        f"out/{NAME}/{NAME}_footprint.geojson",
        f"out/{NAME}/{NAME}_bbox.geojson",
        f"out/{NAME}/{NAME}.hdr",
        f"out/{NAME}/{NAME}.xml",
        "README.txt",
    ]
    [product] = products_in(names)
    assert product.image == f"out/{NAME}/{NAME}.tif" and product.mask == f"out/{NAME}/{NAME}.mask.tif"
    assert product.thumbnail.endswith(".jpeg") and product.header.endswith(".hdr")
    assert product.footprint.endswith("_footprint.geojson") and product.bbox.endswith("_bbox.geojson")
    assert choose_product(names).image == product.image


def test_several_products_need_a_choice() -> None:
    other = NAME.replace("001234", "009999")
    names = [f"{NAME}.tif", f"{NAME}.mask.tif", f"{other}.tif", f"{other}.mask.tif"]
    assert choose_product(names, item_id=other).mask == f"{other}.mask.tif"
    assert choose_product(names, member=f"{other}.mask.tif").image == f"{other}.tif"
    with pytest.raises(px.MultipleProductsError, match="holds 2 products") as info:
        choose_product(names)
    assert info.value.products == [NAME, other]
    with pytest.raises(px.MemberNotFoundError):
        choose_product([f"{NAME}.mask.tif", f"{NAME}.hdr"])


def test_envi_lists_span_lines_and_keys_are_case_blind() -> None:
    header = parse_envi_header("ENVI\nWavelength = {1,\n2,\n3}\nData Ignore Value = 0\n; comment\n")
    assert envi_floats(header["wavelength"]) == [1.0, 2.0, 3.0]
    assert header["data ignore value"] == "0"
    assert parse_envi_header("ENVI\nwavelength = {1, 2")["wavelength"] == "{1, 2"


def test_quality_flags_from_the_mask_or_the_table() -> None:
    assert flags_from_tags({"flag_masks": "1,2,4", "flag_meanings": "cloud cloud_shadow haze"}) == {
        "cloud": 0,
        "cloud_shadow": 1,
        "haze": 2,
    }
    assert flags_from_tags({"flag_masks": "3", "flag_meanings": "two_bits"}) is None
    assert flags_from_tags({}) is None
    assert mask_value(["cloud", "no_data"]) == 1 | 128 and px.QUALITY_FLAGS == QUALITY_FLAGS
    with pytest.raises(px.InvalidInputError, match="unknown quality flag 'clouds'"):
        mask_value(["clouds"])
    with pytest.raises(px.InvalidInputError):
        normalise_mask_request(5)
    assert normalise_mask_request(True) == ("cloud", "cloud_shadow")


def test_the_sandbox_writes_the_documented_mask_bits() -> None:
    """The sandbox keeps its own copy (it imports nothing from the client side): they must agree."""
    from pixxel_geo.sandbox._cog import MASK_BITS

    assert MASK_BITS == QUALITY_FLAGS
