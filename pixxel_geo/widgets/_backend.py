"""The one place the widgets call the imagery and transfer layers.

Keeping these calls together means a change in ``pixxel_geo.io`` or
``pixxel_geo.transfer`` is a change here only.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pixxel_geo.api.events import EventCallback

__all__ = ["download", "open_dataset", "quicklook_png", "spectrum"]


def open_dataset(catalog: Any, client: Any) -> Any:
    """The catalog's cube as a lazy ``xarray.DataArray`` (streamed by range)."""
    from pixxel_geo.io.dataset import open_dataset as _open_dataset

    return _open_dataset(catalog, client=client)


def quicklook_png(source: Any, client: Any, size: int = 512) -> bytes:
    """A true-colour PNG of ``source`` (a catalog or an opened DataArray)."""
    from pixxel_geo.io.quicklook import quicklook

    _rgb, png = quicklook(source, size=size, png=True, client=client)
    return bytes(png)


def spectrum(source: Any, lon: float, lat: float, client: Any) -> tuple[Any, Any]:
    """``(wavelengths_nm, reflectance)`` of the pixel at ``lon``, ``lat`` (EPSG:4326)."""
    from pixxel_geo.io.quicklook import spectrum as _spectrum

    return _spectrum(source, lon, lat, client=client)


def download(
    client: Any,
    catalog_ids: Sequence[str],
    dest: str | Path,
    on_event: EventCallback,
    cancel: threading.Event,
) -> list[Path]:
    """Download the catalogs' products into ``dest``; ``cancel.set()`` stops it."""
    from pixxel_geo.transfer.products import download_products

    return list(download_products(client, catalog_ids=list(catalog_ids), dest=dest, on_event=on_event, cancel=cancel))
