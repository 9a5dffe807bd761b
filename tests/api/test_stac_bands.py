"""Bands from a catalog's STAC item: one parser for the client, the CLI and the imagery readers."""

from __future__ import annotations

import pixxel_geo as px
from pixxel_geo.api.models import stac_bands, stac_image_asset


def _catalog(centres: list[float], fwhm: float = 0.0) -> px.Catalog:
    eo = [{"name": f"B{i + 1:03d}", "center_wavelength": c, "fwhm": fwhm} for i, c in enumerate(centres)]
    return px.Catalog.from_api({"id": "c1", "details": {"assets": {"image": {"roles": ["data"], "eo:bands": eo}}}})


def test_micrometres_and_nanometres_both_give_nanometres() -> None:
    assert [b.center_wavelength for b in _catalog([0.443, 0.49]).bands] == [443.0, 490.0]  # the STAC spec
    assert [b.center_wavelength for b in _catalog([493.0, 560.0]).bands] == [493.0, 560.0]  # Pixxel's example
    assert [b.fwhm for b in _catalog([0.443], fwhm=0.027).bands] == [27.0]
    assert _catalog([493.0]).bands[0].fwhm is None  # Pixxel's example says 0: unknown


def test_the_image_asset_is_found_by_its_file_name() -> None:
    item = {
        "assets": {
            "thumb": {"href": "x.jpeg", "eo:bands": [{"center_wavelength": 650}]},
            "image": {"href": "s3://b/FF01_x.tif?sig=1", "eo:bands": [{"center_wavelength": 470}] * 2},
        }
    }
    assert stac_image_asset(item, "folder/FF01_x.tif")["href"].startswith("s3://")
    assert len(stac_bands(item, "FF01_x.tif")) == 2


def test_odd_entries_never_raise() -> None:
    item = {"assets": {"image": {"roles": ["data"], "eo:bands": [None, {"center_wavelength": "x"}, 5]}}}
    bands = stac_bands(item)
    assert [b.center_wavelength for b in bands] == [None, None, None]
    assert stac_bands({"assets": []}) == [] and stac_bands(None) == []
