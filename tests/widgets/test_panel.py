"""PixxelPanel against the sandbox: selection, delivery, download, open, spectrum, errors."""

from __future__ import annotations

import asyncio
import json
import logging
import time
import zipfile
from pathlib import Path
from typing import Any

import ipywidgets as widgets
import pytest
from widget_guard import swallowed

import pixxel_geo as px
from pixxel_geo.widgets import DeliveryTracker, DownloadPanel, PixxelPanel, SpectrumView


def test_guard_catches_a_swallowed_callback_error(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING)
    button = widgets.Button()
    button.on_click(lambda _: 1 / 0)
    button.click()  # ipywidgets logs the ZeroDivisionError instead of raising it
    assert swallowed(caplog.records)
    caplog.clear()  # this test provoked it on purpose


async def until(condition: Any, timeout: float = 60.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        if loop.time() > deadline:
            raise TimeoutError("condition not met")
        await asyncio.sleep(0.02)


async def test_selection_flows_to_download_and_delivery_parts(panel: PixxelPanel) -> None:
    assert panel.downloads.download_button.disabled
    target = panel.catalogs.visible_ids[0]
    panel.catalogs.table.value = target
    assert panel.downloads.catalog_id == target == panel.deliveries.catalog_id
    assert not panel.downloads.download_button.disabled
    assert panel.selected is not None and panel.selected.catalog.id == target


async def test_download_fills_progress_and_writes_a_verified_zip(panel: PixxelPanel, tmp_path: Path) -> None:
    panel.catalogs.table.value = panel.catalogs.visible_ids[0]
    panel.downloads.download_button.click()
    assert panel.downloads.cancel_button.disabled is False
    await panel.wait_idle()
    assert panel.downloads.progress.value == 100.0
    assert panel.downloads.progress.bar_style == "success"
    paths = panel.selected.paths if panel.selected else []
    assert paths and paths[0].parent == tmp_path / "downloads"
    with zipfile.ZipFile(paths[0]) as archive:
        assert any(name.endswith(".tif") for name in archive.namelist())
    assert "Saved" in panel.downloads.progress_label.value
    assert panel.downloads.cancel_button.disabled is True


async def test_cancel_stops_a_slow_download(panel: PixxelPanel, sandbox: Any, tmp_path: Path) -> None:
    sandbox.set_faults(bandwidth=200_000)
    panel.catalogs.table.value = panel.catalogs.visible_ids[1]
    panel.downloads.download_button.click()
    await until(lambda: 0 < panel.downloads.progress.value < 100)
    panel.downloads.cancel_button.click()
    await panel.wait_idle()
    assert panel.downloads.progress_label.value == "Cancelled"
    assert panel.messages.kind == "error" and "resume" in panel.messages.text
    assert not list((tmp_path / "downloads").glob("*.zip"))
    assert panel.downloads.download_button.disabled is False


def all_widget_states() -> str:
    """Every live widget's state as the browser receives it (and a saved notebook keeps it)."""
    from ipywidgets.widgets.widget import _instances

    states = []
    for widget in list(_instances.values()):
        for key in widget.keys:
            try:
                states.append(json.dumps(widget.get_state(key), default=str))
            except AttributeError:  # a reference to a widget closed by an earlier test (no comm)
                continue
    return "\n".join(states)


async def test_get_link_keeps_the_signed_url_out_of_every_widget(panel: PixxelPanel, sandbox: Any) -> None:
    panel.catalogs.table.value = panel.catalogs.visible_ids[0]
    panel.downloads.link_button.click()
    await panel.wait_idle()
    scene = panel.selected
    assert scene is not None and scene.signed_url is not None
    assert scene.signed_url.startswith(f"{sandbox.url}/files/") and "X-Pixxel-Signature" in scene.signed_url
    assert panel.downloads.signed_url == scene.signed_url
    query = scene.signed_url.split("?", 1)[1]
    states = all_widget_states()
    assert "X-Pixxel-Signature" not in states and query not in states
    assert "X-Pixxel-Signature" not in repr(scene)
    shown = panel.downloads.link.value
    assert f"{sandbox.url}/files/" in shown and "?…" in shown  # the redacted link
    assert "valid until" in shown and "panel.selected.signed_url" in shown


def wait_closed(client: px.Client, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not client._http.is_closed:
        if time.monotonic() > deadline:
            raise TimeoutError("the panel never closed its client")
        time.sleep(0.02)


def test_close_closes_a_client_the_panel_created(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, sandbox: Any) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    monkeypatch.setenv("PIXXEL_API_KEY", sandbox.token)
    monkeypatch.setenv("PIXXEL_API_URL", sandbox.url)
    p = PixxelPanel(dest=tmp_path)
    p.runner.join(timeout=60)
    assert p.catalogs.visible_ids  # the panel's own client works
    client = p.client
    assert isinstance(client, px.Client) and not client._http.is_closed
    p.close()
    wait_closed(client)


def test_close_leaves_the_callers_client_open(fast_client: px.Client, tmp_path: Path) -> None:
    p = PixxelPanel(fast_client, dest=tmp_path)
    p.runner.join(timeout=60)
    p.close()
    p.runner._pool.shutdown(wait=True)  # anything close() scheduled after the work has run by now
    assert not fast_client._http.is_closed
    assert fast_client.ping() == "pong"


def test_open_shows_quicklook_overlay_and_hands_over_the_dataset(fast_client: Any, tmp_path: Path) -> None:
    """Synchronous on purpose: the cube is opened and released in this one context.

    (rasterio's Python openers must be closed in the contextvars context that opened them.)
    """
    import xarray as xr

    panel = PixxelPanel(fast_client, dest=tmp_path)
    panel.runner.join(timeout=60)
    target = panel.catalogs.visible_ids[0]
    panel.catalogs.table.value = target
    panel.downloads.open_button.click()
    panel.runner.join(timeout=60)
    overlay = panel.downloads.overlay
    assert overlay is not None and overlay in panel.catalogs.map.layers
    assert overlay.url.startswith("data:image/png;base64,")
    west, south, east, north = panel.catalogs.catalog_box(target) or (0, 0, 0, 0)
    assert overlay.bounds == [[south, west], [north, east]]
    scene = panel.selected
    assert scene is not None and scene.quicklook is not None
    dataset = scene.dataset
    assert isinstance(dataset, xr.DataArray)
    assert dataset.coords["band"].values.tolist() == [
        b.center_wavelength for b in panel.catalogs.catalogs[target].bands
    ]
    assert float(dataset.isel(band=0, x=0, y=0)) >= 0.0
    panel.close()


async def test_clicking_pixels_overlays_spectra_and_clear_removes_them(panel: PixxelPanel) -> None:
    target = panel.catalogs.visible_ids[0]
    panel.catalogs.table.value = target
    panel.downloads.open_button.click()
    await panel.wait_idle()
    west, south, east, north = panel.catalogs.catalog_box(target) or (0, 0, 0, 0)
    for fraction in (0.3, 0.6):
        lat, lon = south + fraction * (north - south), west + fraction * (east - west)
        panel.catalogs.map._handle_leaflet_event(
            None, {"event": "interaction", "type": "click", "coordinates": [lat, lon]}, None
        )
        await panel.wait_idle()
    assert len(panel.spectra.spectra) == 2
    # A click on the scene's footprint (above the overlay) reads the pixel too, once.
    feature = next(f for f in panel.catalogs.footprints.data["features"] if f["properties"]["catalog_id"] == target)
    content = {
        "event": "click",
        "feature": feature,
        "coordinates": [south + 0.5 * (north - south), west + 0.5 * (east - west)],
    }
    panel.catalogs.footprints._handle_mouse_events(None, content, None)
    panel.catalogs.map._handle_leaflet_event(
        None, {"event": "interaction", "type": "click", "coordinates": content["coordinates"]}, None
    )
    await panel.wait_idle()
    assert len(panel.spectra.spectra) == 3
    first = panel.spectra.spectra[0]
    assert len(first.wavelengths) == len(first.values) == 16
    assert min(first.values) >= 0.0 and max(first.values) <= 1.5
    assert bytes(panel.spectra.image.value).startswith(b"\x89PNG")
    # A click outside the opened scene reads nothing.
    assert panel.pick_pixel(west - 1.0, south - 1.0) is False
    panel.spectra.clear_button.click()
    assert panel.spectra.spectra == []


async def test_deliver_tracks_to_success_and_shows_the_location(panel: PixxelPanel, fast_client: Any) -> None:
    store = fast_client.stores.create("widgets", "S3", "widget-bucket", "us-east-1", {"k": "v"}, path_prefix="pre/")
    try:
        panel.deliveries.reload_button.click()
        await panel.wait_idle()
        panel.deliveries.store_picker.value = store.id
        target = panel.catalogs.visible_ids[0]
        panel.catalogs.table.value = target
        panel.deliveries.deliver_button.click()
        await panel.wait_idle()
        [(delivery_id, delivery)] = panel.deliveries.deliveries.items()
        assert delivery.catalog_id == target
        assert panel.deliveries.statuses[delivery_id] == "SUCCESS"
        location = panel.deliveries.location(delivery_id)
        assert location is not None and location.startswith("s3://widget-bucket/pre/")
        assert location in panel.deliveries.table.value
        assert 'data-status="SUCCESS"' in panel.deliveries.table.value
    finally:
        fast_client.stores.delete(store.id)


def test_deliver_without_selection_shows_advice(fast_client: Any) -> None:
    tracker = DeliveryTracker(fast_client, autoload=False)
    tracker.deliver_button.disabled = False
    tracker.deliver_button.click()
    assert tracker.messages.kind == "error"
    assert "Select a catalog first" in tracker.messages.text
    tracker.runner.close()


def test_download_panel_alone_reports_server_errors(sandbox: Any, tmp_path: Path) -> None:
    with px.Client(api_key=sandbox.token, base_url=sandbox.url) as c:
        part = DownloadPanel(c, catalog_id="00000000-0000-0000-0000-000000000000", dest=tmp_path)
        part.download_button.click()
        part.runner.join(timeout=60)
        assert part.messages.kind == "error"
        assert "Download failed" in part.messages.text
        assert part.progress_label.value == "Failed"
        part.runner.close()


def test_panel_without_configuration_says_how_to_configure(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("PIXXEL_API_KEY", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    p = PixxelPanel()
    assert p.messages.kind == "error"
    assert "PIXXEL_API_KEY" in p.messages.text
    p.catalogs.refresh_button.click()
    p.runner.join(timeout=10)
    assert "PIXXEL_API_KEY" in p.messages.text
    p.close()


def test_spectrum_view_rejects_mismatched_lengths() -> None:
    view = SpectrumView()
    with pytest.raises(ValueError, match="must match"):
        view.add(0.0, 0.0, [500.0, 600.0], [0.1])
    view.add(0.0, 0.0, [500.0, 600.0], [0.1, 0.2], label="a")
    assert view.caption.value == "1 pixel(s)"
