"""Pixxel imagery in QGIS: search, stream onto the map, deliver to a bucket, download.

QGIS calls :func:`classFactory` to load the plugin. Its dependencies (the
pixxel_geo core client and httpx) are vendored in ``_vendor/`` by
``qgis_plugin/build.py`` and imported relatively, so nothing is added to
``sys.path``.
"""

from __future__ import annotations

from typing import Any


def classFactory(iface: Any) -> Any:
    """Return the plugin object for QGIS.

    Args:
        iface: QGIS's ``QgisInterface``.

    Returns:
        A :class:`pixxel_plugin.plugin.PixxelPlugin`.
    """
    from .plugin import PixxelPlugin

    return PixxelPlugin(iface)
