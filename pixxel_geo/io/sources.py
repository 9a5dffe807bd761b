"""The names earlier releases (and the local range server, and ``stack``) import from here.

Sources now live where their job is: the API's URL sources in :mod:`pixxel_geo.io.api_sources`,
the one dispatch from any source to an archive in :mod:`pixxel_geo.io.resolve`, the shared
clients in :mod:`pixxel_geo.io.session`. Nothing in ``pixxel_geo.io`` below this module imports it.

Example:
    >>> from pixxel_geo.io.sources import resolve_source
    >>> resolve_source("cat_123").archive.names()  # doctest: +SKIP
"""

from __future__ import annotations

from pixxel_geo.io.api_sources import CatalogURLSource, DownloadURLSource, _config_of
from pixxel_geo.io.archive import ResolvedSource
from pixxel_geo.io.resolve import resolve_source
from pixxel_geo.io.session import client_for

__all__ = ["CatalogURLSource", "DownloadURLSource", "ResolvedSource", "client_for", "resolve_source"]
__all__ += ["_config_of"]  # the local range server's (pixxel_geo/io/localserver.py)
