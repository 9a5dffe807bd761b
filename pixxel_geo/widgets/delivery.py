"""The delivery tracker: pick a store, deliver the selected catalog, follow it to the bucket."""

from __future__ import annotations

import html
import threading
from typing import Any

import ipywidgets as widgets
import traitlets

from pixxel_geo.api.errors import DeliveryFailedError, InvalidInputError
from pixxel_geo.api.events import Event, StateChanged
from pixxel_geo.widgets._background import BackgroundRunner
from pixxel_geo.widgets.messages import MessageArea

__all__ = ["DeliveryTracker"]

WAIT_TIMEOUT = 3600.0


class DeliveryTracker(widgets.VBox):
    """Deliver catalogs into a store and show each delivery's live status and location.

    Statuses refresh in the background with a growing interval (the client's wait:
    ~1 s backing off to ~12 s) and stop once every delivery is final. A finished
    delivery shows where it landed: ``<bucket>/<path_prefix>/<path>/<target_path>``.

    Args:
        client: a ``px.Client``.
        catalog_id: the catalog to deliver (the panel keeps it in sync with its selection).
        messages: where errors go.
        runner: background runner.
        autoload: list the stores right away (in the background).

    Example:
        >>> tracker = DeliveryTracker(client, catalog_id=catalog.id)  # doctest: +SKIP
        >>> tracker.store_picker.value = store.id; tracker.deliver()  # doctest: +SKIP
    """

    catalog_id = traitlets.Unicode(None, allow_none=True)

    def __init__(
        self,
        client: Any,
        *,
        catalog_id: str | None = None,
        messages: MessageArea | None = None,
        runner: BackgroundRunner | None = None,
        autoload: bool = True,
    ) -> None:
        self.client = client
        self.messages = messages or MessageArea()
        self.runner = runner or BackgroundRunner(on_error=lambda e: self.messages.show_error(e))
        self.stores: dict[str, Any] = {}
        self.deliveries: dict[str, Any] = {}
        self.statuses: dict[str, str] = {}
        self._lock = threading.Lock()

        self.store_picker = widgets.Dropdown(options=[], description="Store")
        self.store_picker.add_class("pixxel-store-picker")
        self.reload_button = widgets.Button(description="Stores", icon="refresh", tooltip="Reload stores")
        self.reload_button.add_class("pixxel-reload-stores")
        self.deliver_button = widgets.Button(description="Deliver", icon="cloud-upload", disabled=True)
        self.deliver_button.add_class("pixxel-deliver")
        self.table = widgets.HTML(value="")
        self.table.add_class("pixxel-delivery-table")
        super().__init__([widgets.HBox([self.store_picker, self.reload_button, self.deliver_button]), self.table])
        self.add_class("pixxel-delivery-tracker")

        self.reload_button.on_click(self.messages.guard("Listing stores", self.load_stores))
        self.deliver_button.on_click(self.messages.guard("Deliver", self.deliver))
        self.store_picker.observe(lambda _: self._update_button(), names="value")
        self.catalog_id = catalog_id
        self._render()
        if autoload:
            self.load_stores()

    @traitlets.observe("catalog_id")
    def _catalog_changed(self, change: dict[str, Any]) -> None:
        self._update_button()

    def _update_button(self) -> None:
        self.deliver_button.disabled = not (self.catalog_id and self.store_picker.value)

    def load_stores(self) -> None:
        """List the workspace's stores in the background and fill the picker."""

        def loaded(stores: list[Any]) -> None:
            self.stores = {s.id: s for s in stores}
            self.store_picker.options = [(f"{s.name} ({s.type} {s.configs.bucket})", s.id) for s in stores]
            if not stores:
                self.messages.show_info("No store yet: create one with client.stores.create(...), then reload.")
            self._update_button()

        self.runner.submit(self.client.stores.list, done=loaded)

    def deliver(self) -> None:
        """Deliver the current catalog into the picked store; track it until final.

        Raises:
            InvalidInputError: no catalog or no store chosen (shown in the panel when clicked).
        """
        if not self.catalog_id:
            raise InvalidInputError("Select a catalog first, then press Deliver.")
        store_id = self.store_picker.value
        if not store_id:
            raise InvalidInputError("Pick a store first (create one with client.stores.create).")
        catalog_id = self.catalog_id

        def work() -> list[Any]:
            created = self.client.deliveries.create(store_id, catalog_ids=[catalog_id])
            with self._lock:
                for delivery in created:
                    self.deliveries[delivery.delivery_id] = delivery
                    self.statuses[delivery.delivery_id] = delivery.status.value
            self._render()
            ids = [d.delivery_id for d in created]
            try:
                return list(self.client.deliveries.wait(ids, timeout=WAIT_TIMEOUT, on_event=self._on_event))
            except DeliveryFailedError:
                for delivery_id in ids:
                    for delivery in self.client.deliveries.list(delivery_id=delivery_id):
                        self._record(delivery)
                raise

        def done(finished: list[Any]) -> None:
            for delivery in finished:
                self._record(delivery)
            self.messages.show_info(f"Delivered {len(finished)} catalog(s).")

        self.runner.submit(work, done=done)

    def _on_event(self, event: Event) -> None:
        if isinstance(event, StateChanged):
            with self._lock:
                self.statuses[event.subject] = event.status
            self._render()

    def _record(self, delivery: Any) -> None:
        with self._lock:
            self.deliveries[delivery.delivery_id] = delivery
            self.statuses[delivery.delivery_id] = delivery.status.value
        self._render()

    def location(self, delivery_id: str) -> str | None:
        """Where a delivery landed (``s3://bucket/key`` …), once it succeeded."""
        delivery = self.deliveries.get(delivery_id)
        if delivery is None or self.statuses.get(delivery_id) != "SUCCESS":
            return None
        store = self.stores.get(delivery.cloud_delivery.config) if delivery.cloud_delivery else None
        if store is None:
            return None
        return str(delivery.location(store))

    def _render(self) -> None:
        with self._lock:
            rows = [
                (delivery_id, d.catalog_id or "", self.statuses.get(delivery_id, ""))
                for delivery_id, d in self.deliveries.items()
            ]
        if not rows:
            self.table.value = '<div class="pixxel-no-deliveries" style="color:#555">No deliveries yet.</div>'
            return
        body = "".join(
            f'<tr data-delivery-id="{html.escape(i)}" data-status="{html.escape(s)}">'
            f"<td>{html.escape(i[:8])}</td><td>{html.escape(c[:8])}</td><td>{html.escape(s)}</td>"
            f"<td>{html.escape(self.location(i) or '')}</td></tr>"
            for i, c, s in rows
        )
        self.table.value = (
            '<table class="pixxel-deliveries"><tr><th>delivery</th><th>catalog</th>'
            f"<th>status</th><th>location</th></tr>{body}</table>"
        )
