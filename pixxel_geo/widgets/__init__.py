"""Jupyter widgets for Pixxel imagery (needs the ``widgets`` extra and ``ipykernel>=7.1``).

``PixxelPanel`` puts everything together; its parts also work alone:
``CatalogBrowser``, ``DeliveryTracker``, ``DownloadPanel``, ``SpectrumView``.

Example:
    >>> import pixxel_geo as px
    >>> panel = px.widgets.PixxelPanel()  # doctest: +SKIP
    >>> panel  # doctest: +SKIP
"""

from __future__ import annotations

from pixxel_geo.widgets.catalog import CatalogBrowser, make_map
from pixxel_geo.widgets.delivery import DeliveryTracker
from pixxel_geo.widgets.download import DownloadPanel, Scene
from pixxel_geo.widgets.messages import MessageArea
from pixxel_geo.widgets.panel import PixxelPanel
from pixxel_geo.widgets.spectrum import SpectrumView

__all__ = [
    "CatalogBrowser",
    "DeliveryTracker",
    "DownloadPanel",
    "MessageArea",
    "PixxelPanel",
    "Scene",
    "SpectrumView",
    "make_map",
]
