"""The panel rendered in JupyterLab, in Chromium: map, selection, download, overlay, spectrum."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from playwright.sync_api import Page, Route, expect

REPO = Path(__file__).resolve().parents[3]
OUTPUT = REPO / "test-output" / "widgets"
SELECTED_COLOUR = "#e8590c"  # pixxel_geo.widgets.catalog.SELECTED_STYLE


def block_non_loopback(page: Page) -> list[str]:
    """Abort and record every request that leaves the machine."""
    blocked: list[str] = []

    def handle(route: Route) -> None:
        url = route.request.url
        host = urlsplit(url).hostname
        if url.startswith(("data:", "blob:")) or host in ("127.0.0.1", "localhost"):
            route.continue_()
        else:
            blocked.append(url)
            route.abort()

    page.route("**/*", handle)
    return blocked


def accept_kernel_dialog(page: Page) -> None:
    """Lab may ask which kernel to start; take the notebook's own (python3)."""
    dialog = page.locator(".jp-Dialog", has_text="Select Kernel")
    try:
        dialog.wait_for(state="visible", timeout=5_000)
    except Exception:  # no dialog: the kernel started by itself
        return
    dialog.locator("button.jp-mod-accept").click()
    dialog.wait_for(state="detached")


def run_all_cells(page: Page) -> None:
    page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(r"^Run$")).click()
    page.locator('[data-command="runmenu:run-all"]').click()


def progress_width(page: Page) -> str:
    return str(page.locator(".pixxel-progress .progress-bar").evaluate("e => e.style.width"))


def test_panel_round_trips_in_jupyterlab(page: Page, jupyter_lab: Any, sandbox: Any, client: Any) -> None:
    page.set_default_timeout(90_000)
    expect.set_options(timeout=60_000)
    blocked = block_non_loopback(page)
    page.set_viewport_size({"width": 1400, "height": 1000})
    page.goto(f"{jupyter_lab.url}/lab/tree/03-panel.ipynb?token={jupyter_lab.token}")
    page.wait_for_selector(".jp-NotebookPanel")
    accept_kernel_dialog(page)
    expect(page.locator('.jp-Notebook-ExecutionIndicator[data-status="idle"]')).to_have_count(1)
    run_all_cells(page)

    panel = page.locator(".pixxel-panel")
    expect(panel).to_be_visible()
    catalogs = list(client.catalogs.search())
    footprints = panel.locator(".leaflet-overlay-pane svg path.leaflet-interactive")
    expect(footprints).to_have_count(len(catalogs))  # the map shows every footprint
    table = panel.locator(".pixxel-catalog-table select")
    expect(table.locator("option")).to_have_count(len(catalogs))

    # Map -> table: clicking a footprint selects its row.
    footprints.nth(0).dispatch_event("click")
    expect(table.locator("option:checked")).to_have_count(1)
    expect(panel.locator(f'path[stroke="{SELECTED_COLOUR}"]')).to_have_count(1)
    # Table -> map: selecting another row highlights that footprint instead.
    table.select_option(index=1)
    expect(panel.locator(f'path[stroke="{SELECTED_COLOUR}"]')).to_have_count(1)
    selected_label = table.locator("option:checked").inner_text()
    assert selected_label == table.locator("option").nth(1).inner_text()

    # Download (slowed down) while a new cell runs: the kernel stays responsive.
    # ~2 MB over a few connections capped at 25 kB/s each: tens of seconds, however busy the machine
    sandbox.set_faults(bandwidth=25_000)
    try:
        panel.locator(".pixxel-download").click()
        expect(panel.locator(".pixxel-cancel")).to_be_enabled()
        page.locator(".jp-Notebook .jp-Cell").last.click()
        page.keyboard.press("Escape")
        page.keyboard.press("b")
        page.keyboard.press("Enter")
        page.keyboard.type("print('kernel says', 6 * 7)")
        page.keyboard.press("Shift+Enter")
        expect(page.locator(".jp-OutputArea-output", has_text="kernel says 42")).to_have_count(1)
        assert progress_width(page) != "100%"  # the cell finished while the download ran
        expect(panel.locator(".pixxel-progress .progress-bar")).to_have_attribute(
            "style", re.compile(r"width: 100%"), timeout=180_000
        )
        expect(panel.locator(".pixxel-progress-label")).to_contain_text("Saved")
    finally:
        sandbox.clear_faults()

    # Open: the quicklook appears as an image overlay at the footprint.
    panel.locator(".pixxel-open").click()
    overlay = panel.locator("img.leaflet-image-layer")
    expect(overlay).to_have_count(1)
    expect(overlay).to_have_attribute("src", re.compile(r"^data:image/png;base64,"))

    # Clicking a pixel inside it draws a spectrum. Lab may still be laying out the page
    # (messages appear, the notebook scrolls), so the point is recomputed on a retry.
    caption = panel.locator(".pixxel-spectrum-caption")
    for _attempt in range(5):
        overlay.scroll_into_view_if_needed()
        box = overlay.bounding_box()
        assert box is not None
        page.mouse.click(box["x"] + box["width"] * 0.4, box["y"] + box["height"] * 0.6)
        try:
            expect(caption).to_have_text("1 pixel(s)", timeout=10_000)
            break
        except AssertionError:
            continue
    expect(caption).to_have_text("1 pixel(s)")
    expect(panel.locator(".pixxel-messages .pixxel-error")).to_have_count(0)

    OUTPUT.mkdir(parents=True, exist_ok=True)
    panel.screenshot(path=str(OUTPUT / "panel.png"))
    assert (OUTPUT / "panel.png").stat().st_size > 0
    assert blocked == []
