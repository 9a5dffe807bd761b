"""The download panel: signed link, download with progress and cancel, and Open on the map."""

from __future__ import annotations

import base64
import datetime as dt
import html
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import ipyleaflet
import ipywidgets as widgets
import traitlets

from pixxel_geo.api.errors import InvalidInputError
from pixxel_geo.api.events import Event, Failed, Finished, Progress, Started, StateChanged
from pixxel_geo.api.redact import redact_url
from pixxel_geo.widgets import _backend
from pixxel_geo.widgets._background import BackgroundRunner
from pixxel_geo.widgets._mapview import Box, geometry_box, leaflet_bounds
from pixxel_geo.widgets.messages import MessageArea

__all__ = ["DownloadPanel", "Scene", "format_bytes", "link_summary"]

LINK_WAIT_TIMEOUT = 900.0


@dataclass
class Scene:
    """What the panel holds for one catalog.

    Attributes:
        catalog: the ``px.Catalog``.
        quicklook: the true-colour PNG shown on the map (after Open).
        paths: files written by Download.
        signed_url: the signed download link from Get link (``None`` before). It is a
            credential until it expires, so the panel never displays it: widget state
            reaches the browser and can be saved into the ``.ipynb``. Read it in Python.
        link_expires_at: when ``signed_url`` stops working (UTC), if the API said.
    """

    catalog: Any
    client: Any = field(default=None, repr=False)
    quicklook: bytes | None = None
    paths: list[Path] = field(default_factory=list)
    signed_url: str | None = field(default=None, repr=False)
    link_expires_at: dt.datetime | None = None
    _dataset: Any = field(default=None, repr=False)

    @property
    def dataset(self) -> Any:
        """The catalog's cube: the ``xarray.DataArray`` from ``px.open_dataset`` (lazy, streamed).

        Opened on first access, so a scene that is only looked at costs no open.
        """
        if self._dataset is None:
            self._dataset = _backend.open_dataset(self.catalog, self.client)
        return self._dataset

    def close(self) -> None:
        """Close the cube if it was opened."""
        if self._dataset is not None:
            self._dataset.close()
            self._dataset = None

    @property
    def box(self) -> Box | None:
        """The footprint's ``(west, south, east, north)``."""
        bbox = self.catalog.bbox
        if bbox and len(bbox) >= 4:
            return (bbox[0], bbox[1], bbox[2], bbox[3])
        return geometry_box(self.catalog.geometry) if self.catalog.geometry else None

    def contains(self, lon: float, lat: float) -> bool:
        """True when the point is inside the footprint's bounding box."""
        box = self.box
        return box is not None and box[0] <= lon <= box[2] and box[1] <= lat <= box[3]


def format_bytes(n: float) -> str:
    """``1536`` → ``'1.5 KB'``.

    Example:
        >>> format_bytes(3_500_000)
        '3.5 MB'
    """
    for unit in ("B", "KB", "MB", "GB"):
        if abs(n) < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} TB"  # pragma: no cover


def link_summary(signed_url: str | None, expires_at: dt.datetime | None) -> str:
    """HTML for a signed link without its signature: the redacted URL, its expiry, where the full one is.

    Example:
        >>> link_summary("https://h/files/a.zip?X-Sig=abc", None).split(". ")[0]
        'Link ready: <code>https://h/files/a.zip?…</code>'
    """
    until = f" (valid until {expires_at:%Y-%m-%d %H:%M} UTC)" if expires_at else ""
    return (
        f"Link ready: <code>{html.escape(redact_url(signed_url))}</code>{html.escape(until)}. "
        "The full URL is a credential and is not shown here (widget state can be saved with the notebook): "
        "read <code>panel.selected.signed_url</code> in Python."
    )


class DownloadPanel(widgets.VBox):
    """Get a signed link, download with progress (rate, ETA) and cancel, or Open on the map.

    Args:
        client: a ``px.Client``.
        catalog_id: the catalog to act on (the panel keeps it in sync with its selection).
        map: an ipyleaflet map for the quicklook overlay (optional).
        catalogs: known catalogs by id (else they are fetched with ``client.catalogs.get``).
        dest: the download folder.
        messages: where errors go.
        runner: background runner.

    Example:
        >>> panel = DownloadPanel(client, catalog_id=catalog.id, dest="downloads")  # doctest: +SKIP
        >>> panel.download()  # doctest: +SKIP
    """

    catalog_id = traitlets.Unicode(None, allow_none=True)

    def __init__(
        self,
        client: Any,
        *,
        catalog_id: str | None = None,
        map: ipyleaflet.Map | None = None,
        catalogs: dict[str, Any] | None = None,
        dest: str | Path = "pixxel-downloads",
        messages: MessageArea | None = None,
        runner: BackgroundRunner | None = None,
    ) -> None:
        self.client = client
        self.map = map
        self.catalogs = catalogs if catalogs is not None else {}
        self.messages = messages or MessageArea()
        self.runner = runner or BackgroundRunner(on_error=lambda e: self.messages.show_error(e))
        self.scenes: dict[str, Scene] = {}
        self.overlay: ipyleaflet.ImageOverlay | None = None
        self.opened_id: str | None = None
        self._cancel: threading.Event | None = None

        self.link_button = widgets.Button(description="Get link", icon="link")
        self.link_button.add_class("pixxel-get-link")
        self.download_button = widgets.Button(description="Download", icon="download")
        self.download_button.add_class("pixxel-download")
        self.cancel_button = widgets.Button(description="Cancel", icon="stop", disabled=True)
        self.cancel_button.add_class("pixxel-cancel")
        self.open_button = widgets.Button(
            description="Open", icon="eye", tooltip="Quicklook on the map; data in .selected.dataset"
        )
        self.open_button.add_class("pixxel-open")
        self.dest = widgets.Text(value=str(dest), description="Folder")
        self.dest.add_class("pixxel-dest")
        self.progress = widgets.FloatProgress(value=0.0, min=0.0, max=100.0, description="")
        self.progress.add_class("pixxel-progress")
        self.progress_label = widgets.Label("")
        self.progress_label.add_class("pixxel-progress-label")
        self.link = widgets.HTML("")
        self.link.add_class("pixxel-link")
        super().__init__(
            [
                widgets.HBox([self.link_button, self.download_button, self.cancel_button, self.open_button]),
                self.dest,
                widgets.HBox([self.progress, self.progress_label]),
                self.link,
            ]
        )
        self.add_class("pixxel-download-panel")

        self.link_button.on_click(self.messages.guard("Get link", self.get_link))
        self.download_button.on_click(self.messages.guard("Download", self.download))
        self.cancel_button.on_click(self.messages.guard("Cancel", self.cancel))
        self.open_button.on_click(self.messages.guard("Open", self.open_scene))
        self.catalog_id = catalog_id
        self._update_buttons()

    @traitlets.observe("catalog_id")
    def _catalog_changed(self, change: dict[str, Any]) -> None:
        self._update_buttons()

    def _update_buttons(self) -> None:
        busy = self._cancel is not None
        none = not self.catalog_id
        self.link_button.disabled = none
        self.download_button.disabled = none or busy
        self.open_button.disabled = none
        self.cancel_button.disabled = not busy

    # -- scenes ---------------------------------------------------------------------

    def _require_catalog(self) -> str:
        if not self.catalog_id:
            raise InvalidInputError("Select a catalog first.")
        return self.catalog_id

    def scene(self, catalog_id: str) -> Scene:
        """The :class:`Scene` of ``catalog_id`` (fetching the catalog if it is not known)."""
        scene = self.scenes.get(catalog_id)
        if scene is None:
            catalog = self.catalogs.get(catalog_id) or self.client.catalogs.get(catalog_id)
            scene = self.scenes.setdefault(catalog_id, Scene(catalog, self.client))
        return scene

    # -- link -------------------------------------------------------------------------

    def get_link(self) -> None:
        """Ask for a signed download link (in the background); keep it on the scene, show it redacted.

        The full URL goes to ``scene(catalog_id).signed_url`` (``panel.selected.signed_url``
        in a :class:`~pixxel_geo.widgets.PixxelPanel`), never into a widget: widget state is
        sent to the browser and saved with the notebook. The panel shows the link without its
        query string, and its expiry.
        """
        catalog_id = self._require_catalog()
        self.link.value = "Preparing link…"

        def work() -> tuple[Scene, Any]:
            scene = self.scene(catalog_id)
            download = self.client.downloads.create(catalog_ids=[catalog_id])
            return scene, self.client.downloads.wait(download.id, timeout=LINK_WAIT_TIMEOUT)

        def done(result: tuple[Scene, Any]) -> None:
            scene, download = result
            scene.signed_url = download.signed_url
            scene.link_expires_at = download.expires_at
            self.link.value = link_summary(download.signed_url, download.expires_at)

        def failed(error: BaseException) -> None:
            self.link.value = ""
            self.messages.show_error(error, "Get link")

        self.runner.submit(work, done=done, on_error=failed)

    @property
    def signed_url(self) -> str | None:
        """The current catalog's signed link from Get link, or ``None`` (a credential: keep it private)."""
        scene = self.scenes.get(self.catalog_id or "")
        return scene.signed_url if scene is not None else None

    # -- download ------------------------------------------------------------------

    def download(self) -> None:
        """Download the catalog's product into the folder, with progress; :meth:`cancel` stops it."""
        catalog_id = self._require_catalog()
        if self._cancel is not None:
            raise InvalidInputError("A download is already running: wait for it or press Cancel.")
        dest = Path(self.dest.value).expanduser()
        cancel = threading.Event()
        self._cancel = cancel
        self.progress.value = 0.0
        self.progress.bar_style = ""
        self.progress_label.value = "Preparing…"
        self._update_buttons()

        def work() -> list[Path]:
            return _backend.download(self.client, [catalog_id], dest, on_event=self._on_event, cancel=cancel)

        def done(paths: list[Path]) -> None:
            self._cancel = None
            self.scene(catalog_id).paths = list(paths)
            self.progress.value = 100.0
            self.progress.bar_style = "success"
            names = ", ".join(p.name for p in paths)
            self.progress_label.value = f"Saved {names} in {dest}"
            self._update_buttons()

        def failed(error: BaseException) -> None:
            self._cancel = None
            self.progress.bar_style = "warning" if cancel.is_set() else "danger"
            self.progress_label.value = "Cancelled" if cancel.is_set() else "Failed"
            self._update_buttons()
            self.messages.show_error(error, "Download")

        self.runner.submit(work, done=done, on_error=failed)

    def cancel(self) -> None:
        """Stop the running download (finished parts are kept; Download resumes)."""
        if self._cancel is not None:
            self._cancel.set()
            self.progress_label.value = "Cancelling…"

    def _on_event(self, event: Event) -> None:
        # Called from transfer threads: set traits only.
        if isinstance(event, Progress):
            if event.fraction is not None:
                self.progress.value = round(100.0 * event.fraction, 1)
            parts = [format_bytes(event.done) + (f" / {format_bytes(event.total)}" if event.total else "")]
            if event.rate:
                parts.append(f"{format_bytes(event.rate)}/s")
            if event.eta is not None:
                parts.append(f"ETA {dt.timedelta(seconds=round(event.eta))}")
            self.progress_label.value = " · ".join(parts)
        elif isinstance(event, Started) and event.total:
            self.progress_label.value = f"Downloading {format_bytes(event.total)}…"
        elif isinstance(event, StateChanged):
            self.progress_label.value = f"{event.status.replace('_', ' ').capitalize()}…"
        elif isinstance(event, Finished) and self.progress.max:
            self.progress.value = 100.0
        elif isinstance(event, Failed):
            self.progress.bar_style = "danger"

    # -- open -------------------------------------------------------------------------

    def open_scene(self) -> None:
        """Show the catalog's quicklook on the map; its data is then ``scene(id).dataset``."""
        catalog_id = self._require_catalog()
        self.open_button.disabled = True
        self.messages.show_info("Opening… (streaming the quicklook)")

        def work() -> Scene:
            scene = self.scene(catalog_id)
            if scene.quicklook is None:
                scene.quicklook = _backend.quicklook_png(scene.catalog, self.client)
            return scene

        def done(scene: Scene) -> None:
            self._update_buttons()
            self.opened_id = catalog_id
            self._show_overlay(scene)
            self.messages.show_info(
                f"Opened {scene.catalog.item_id or catalog_id}: panel.selected.dataset holds the data; "
                "click the map inside the scene for a spectrum."
            )

        def failed(error: BaseException) -> None:
            self._update_buttons()
            self.messages.show_error(error, "Open")

        self.runner.submit(work, done=done, on_error=failed)

    def _show_overlay(self, scene: Scene) -> None:
        if self.map is None or scene.quicklook is None or scene.box is None:
            return
        url = "data:image/png;base64," + base64.b64encode(scene.quicklook).decode("ascii")
        bounds = leaflet_bounds(scene.box)
        if self.overlay is not None and self.overlay in self.map.layers:
            self.map.remove(self.overlay)
        self.overlay = ipyleaflet.ImageOverlay(url=url, bounds=bounds, name="quicklook")
        self.map.add(self.overlay)
