"""The catalog browser against the sandbox: loading, selection sync, filters."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from pixxel_geo.widgets import CatalogBrowser
from pixxel_geo.widgets.catalog import FOOTPRINT_STYLE, SELECTED_STYLE


def click_footprint(catalog_browser: CatalogBrowser, catalog_id: str) -> None:
    """Send what Leaflet sends when the user clicks a footprint."""
    feature = next(
        f for f in catalog_browser.footprints.data["features"] if f["properties"]["catalog_id"] == catalog_id
    )
    catalog_browser.footprints._handle_mouse_events(
        None, {"event": "click", "feature": feature, "properties": feature["properties"]}, None
    )


def styles(catalog_browser: CatalogBrowser) -> dict[str, str]:
    return {
        f["properties"]["catalog_id"]: f["properties"]["style"]["color"]
        for f in catalog_browser.footprints.data["features"]
    }


@pytest.fixture
async def catalog_browser(client: Any) -> Any:
    b = CatalogBrowser(client)
    await b.runner.wait_idle(timeout=60)
    yield b
    b.runner.close()
    b.close()


async def test_loads_every_catalog_into_table_and_map(catalog_browser: CatalogBrowser, client: Any) -> None:
    expected = {c.id for c in client.catalogs.search()}
    assert {value for _, value in catalog_browser.table.options} == expected
    assert set(styles(catalog_browser)) == expected
    assert catalog_browser.count_label.value == f"{len(expected)} of {len(expected)} catalogs"
    assert catalog_browser.map.layers[0] is catalog_browser.footprints  # offline: no basemap tile layer


async def test_clicking_a_footprint_selects_its_row(catalog_browser: CatalogBrowser) -> None:
    target = catalog_browser.visible_ids[2]
    click_footprint(catalog_browser, target)
    assert catalog_browser.selected_id == target
    assert catalog_browser.table.value == target
    colours = styles(catalog_browser)
    assert colours[target] == SELECTED_STYLE["color"]
    assert {c for i, c in colours.items() if i != target} == {FOOTPRINT_STYLE["color"]}


async def test_selecting_a_row_highlights_and_centres_its_footprint(catalog_browser: CatalogBrowser) -> None:
    target = catalog_browser.visible_ids[-1]
    catalog_browser.table.value = target
    assert catalog_browser.selected_id == target
    assert styles(catalog_browser)[target] == SELECTED_STYLE["color"]
    west, south, east, north = catalog_browser.catalog_box(target) or (0, 0, 0, 0)
    assert catalog_browser.map.center == pytest.approx(((south + north) / 2, (west + east) / 2))
    assert catalog_browser.map.zoom >= 12


async def test_cloud_and_date_filters(catalog_browser: CatalogBrowser) -> None:
    catalogs = list(catalog_browser.catalogs.values())
    catalog_browser.max_cloud.value = 10.0
    assert set(catalog_browser.visible_ids) == {c.id for c in catalogs if (c.cloud_cover or 0) <= 10.0}
    assert len(catalog_browser.footprints.data["features"]) == len(catalog_browser.visible_ids)
    catalog_browser.max_cloud.value = 100.0
    catalog_browser.start_date.value = dt.date(2025, 1, 1)
    catalog_browser.end_date.value = dt.date(2025, 6, 30)
    expected = {c.id for c in catalogs if dt.date(2025, 1, 1) <= c.datetime.date() <= dt.date(2025, 6, 30)}
    assert expected and set(catalog_browser.visible_ids) == expected
    assert {v for _, v in catalog_browser.table.options} == expected


async def test_filter_keeps_selection_only_while_visible(catalog_browser: CatalogBrowser) -> None:
    cloudy = max(catalog_browser.catalogs.values(), key=lambda c: c.cloud_cover or 0)
    catalog_browser.selected_id = cloudy.id
    catalog_browser.max_cloud.value = 50.0
    assert catalog_browser.selected_id == cloudy.id
    catalog_browser.max_cloud.value = (cloudy.cloud_cover or 0) - 1
    assert catalog_browser.selected_id is None and catalog_browser.table.value is None


async def test_drawn_box_and_map_view_filters(catalog_browser: CatalogBrowser) -> None:
    target = catalog_browser.catalogs[catalog_browser.visible_ids[0]]
    west, south, east, north = catalog_browser.catalog_box(target.id) or (0, 0, 0, 0)
    rectangle = {
        "type": "Feature",
        "geometry": {
            "type": "Polygon",
            "coordinates": [[[west, south], [east, south], [east, north], [west, north], [west, south]]],
        },
    }
    catalog_browser.draw._handle_leaflet_event(None, {"event": "draw:created", "geo_json": rectangle}, None)
    assert catalog_browser.visible_ids == [target.id]
    assert catalog_browser.clear_box_button.disabled is False
    catalog_browser.clear_box_button.click()
    assert len(catalog_browser.visible_ids) == len(catalog_browser.catalogs)

    catalog_browser.in_view.value = True
    # The browser reports the view's bounds as ((south, west), (north, east)).
    catalog_browser.map.set_trait("bounds", ((south - 0.01, west - 0.01), (north + 0.01, east + 0.01)))
    assert catalog_browser.visible_ids == [target.id]
    catalog_browser.map.set_trait("bounds", ((-80.0, -179.0), (80.0, 179.0)))
    assert len(catalog_browser.visible_ids) == len(catalog_browser.catalogs)


async def test_refresh_error_is_shown_not_lost(sandbox: Any) -> None:
    import pixxel_geo as px

    with px.Client(api_key="wrong-token-0123456789", base_url=sandbox.url) as bad:
        b = CatalogBrowser(bad)
        await b.runner.wait_idle(timeout=60)
        assert b.messages.kind == "error"
        assert "API key" in b.messages.text or "key" in b.messages.text.lower()
        assert b.count_label.value == "Could not load catalogs."
        assert b.refresh_button.disabled is False
        b.runner.close()
        b.close()


def test_works_without_an_event_loop(client: Any) -> None:
    """In a plain script (no running loop) the work runs in threads."""
    b = CatalogBrowser(client)
    b.runner.join(timeout=60)
    assert len(b.visible_ids) == len(b.catalogs) > 0
    b.runner.close()
    b.close()
