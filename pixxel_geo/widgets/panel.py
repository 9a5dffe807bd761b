"""``PixxelPanel``: catalog browser, downloads, deliveries and spectra in one widget."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import ipywidgets as widgets

from pixxel_geo.api.errors import PixxelError
from pixxel_geo.widgets import _backend
from pixxel_geo.widgets._background import BackgroundRunner
from pixxel_geo.widgets.catalog import CatalogBrowser
from pixxel_geo.widgets.delivery import DeliveryTracker
from pixxel_geo.widgets.download import DownloadPanel, Scene
from pixxel_geo.widgets.messages import MessageArea
from pixxel_geo.widgets.spectrum import SpectrumView

__all__ = ["PixxelPanel"]

logger = logging.getLogger(__name__)


class _MissingClient:
    """Stands in for a client that could not be configured: every use raises the reason."""

    def __init__(self, error: PixxelError) -> None:
        self._error = error

    def __getattr__(self, name: str) -> Any:
        raise self._error


class PixxelPanel(widgets.VBox):
    """The Pixxel panel: browse catalogs on a map, deliver, download, open, and read spectra.

    Long operations run in the background, so the kernel stays responsive; errors appear
    in the panel's message line with what to do.

    Args:
        client: a ``px.Client`` (yours: :meth:`close` leaves it open); ``None`` builds one from
            ``PIXXEL_API_KEY`` / the config file, which :meth:`close` closes.
        basemap_url: optional XYZ tile URL for users who are online; the default map is
            offline (footprints on a blank background).
        dest: the download folder.

    Attributes:
        catalogs: the :class:`CatalogBrowser` (table, map, filters).
        downloads: the :class:`DownloadPanel`.
        deliveries: the :class:`DeliveryTracker`.
        spectra: the :class:`SpectrumView`.
        messages: the :class:`MessageArea`.

    Example:
        >>> import pixxel_geo as px
        >>> panel = px.widgets.PixxelPanel()  # doctest: +SKIP
        >>> panel  # doctest: +SKIP  (select a scene, press Open)
        >>> panel.selected.dataset  # doctest: +SKIP  (the xarray DataArray)
    """

    def __init__(
        self,
        client: Any = None,
        *,
        basemap_url: str | None = None,
        dest: str | Path = "pixxel-downloads",
    ) -> None:
        self.messages = MessageArea()
        self.runner = BackgroundRunner(on_error=self.messages.show_error)
        ready = True
        # Only a client the panel made is the panel's to close.
        self._owned_client: Any = None
        if client is None:
            import pixxel_geo as px

            try:
                client = self._owned_client = px.Client()
            except PixxelError as exc:
                self.messages.show_error(exc, "Connecting")
                client = _MissingClient(exc)
                ready = False
        self.client = client

        self.catalogs = CatalogBrowser(
            client, basemap_url=basemap_url, messages=self.messages, runner=self.runner, autoload=ready
        )
        self.downloads = DownloadPanel(
            client,
            map=self.catalogs.map,
            catalogs=self.catalogs.catalogs,
            dest=dest,
            messages=self.messages,
            runner=self.runner,
        )
        self.deliveries = DeliveryTracker(client, messages=self.messages, runner=self.runner, autoload=ready)
        self.spectra = SpectrumView()

        title = widgets.HTML("<h3 style='margin:4px 0'>Pixxel</h3>")
        downloads_box = widgets.VBox([widgets.HTML("<b>Download</b>"), self.downloads])
        deliveries_box = widgets.VBox([widgets.HTML("<b>Deliver to a store</b>"), self.deliveries])
        super().__init__(
            [
                title,
                self.messages,
                self.catalogs,
                widgets.HBox([downloads_box, deliveries_box]),
                widgets.HTML("<b>Spectra</b>"),
                self.spectra,
            ]
        )
        self.add_class("pixxel-panel")

        self.catalogs.observe(self._selection_changed, names="selected_id")
        self.catalogs.map.on_interaction(self._map_interaction)
        # A click on the opened scene's footprint reaches the footprint layer, not the map.
        self.catalogs.footprints.on_click(self._footprint_clicked)
        self._last_pick: tuple[float, float] | None = None

    def _selection_changed(self, change: dict[str, Any]) -> None:
        self.downloads.catalog_id = change["new"]
        self.deliveries.catalog_id = change["new"]

    @property
    def selected(self) -> Scene | None:
        """The selected catalog's :class:`Scene` (``.catalog``, ``.dataset`` after Open, ``.paths``)."""
        catalog_id = self.catalogs.selected_id
        return self.downloads.scene(catalog_id) if catalog_id else None

    def _map_interaction(self, **event: Any) -> None:
        if event.get("type") != "click":
            return
        try:
            lat, lon = (float(v) for v in event.get("coordinates", ()))
        except (TypeError, ValueError):
            return
        self._pick_once(lon, lat)

    def _footprint_clicked(self, coordinates: Any = None, **_: Any) -> None:
        try:
            lat, lon = (float(v) for v in coordinates or ())
        except (TypeError, ValueError):
            return
        self._pick_once(lon, lat)

    def _pick_once(self, lon: float, lat: float) -> None:
        # Leaflet may report one click both to the footprint and to the map.
        if self._last_pick == (lon, lat):
            return
        if self.pick_pixel(lon, lat):
            self._last_pick = (lon, lat)

    def pick_pixel(self, lon: float, lat: float) -> bool:
        """Add the spectrum at ``lon``, ``lat`` if it falls inside the opened scene.

        Returns:
            True if a spectrum is being read (in the background).
        """
        scene = self.downloads.scenes.get(self.downloads.opened_id or "")
        if scene is None or not scene.contains(lon, lat):
            return False

        def work() -> tuple[Any, Any]:
            return _backend.spectrum(scene.catalog, lon, lat, self.client)

        def done(result: tuple[Any, Any]) -> None:
            wavelengths, values = result
            self.spectra.add(lon, lat, wavelengths, values)

        self.runner.submit(work, done=done, on_error=lambda e: self.messages.show_error(e, "Spectrum"))
        return True

    async def wait_idle(self, timeout: float = 120.0) -> None:
        """Await until no background work is pending (useful in notebooks: ``await panel.wait_idle()``).

        Raises:
            TimeoutError: still busy after ``timeout`` seconds.
        """
        await self.runner.wait_idle(timeout)

    def close(self) -> None:
        """Stop background work and close the widgets.

        A client the panel created itself is closed too, once work already running has
        ended (in the background: this returns at once); a client you passed stays open.
        """
        owned, self._owned_client = self._owned_client, None
        self.runner.close(then=owned.close if owned is not None else None)
        for scene in self.downloads.scenes.values():
            scene.close()
        for part in (self.catalogs, self.downloads, self.deliveries, self.spectra, self.messages):
            part.close()
        super().close()
