"""Vectors: catalog footprints as a GeoDataFrame, and a product's vector members.

Example:
    >>> import pixxel_geo as px
    >>> gdf = px.read_footprints(client.catalogs.search(bbox=(77, 12, 78, 13)))  # doctest: +SKIP
    >>> outline = px.read_vector("cat_123")  # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

from pixxel_geo.api.errors import MemberNotFoundError, SignedURLError, TransferError
from pixxel_geo.api.redact import redact_urls
from pixxel_geo.io.gdal_options import TUNED_OPTIONS, vsisubfile_path, vsizip_path
from pixxel_geo.io.reader import redact_url
from pixxel_geo.io.resolve import resolve_source

if TYPE_CHECKING:
    import geopandas as gpd

__all__ = ["pyogrio_options", "read_footprints", "read_vector"]

_VECTOR_SUFFIXES = (".geojson", ".json", ".gpkg", ".fgb", ".shp", ".kml")


def read_footprints(catalogs: Iterable[Any]) -> gpd.GeoDataFrame:
    """Catalog footprints as a GeoDataFrame (EPSG:4326), with no network access.

    Args:
        catalogs: ``px.Catalog`` models (e.g. from ``client.catalogs.search(...)``).

    Returns:
        Columns ``id``, ``datetime``, ``cloud_cover``, ``gsd`` and ``geometry``.

    Example:
        >>> gdf = read_footprints(client.catalogs.search(limit=10))  # doctest: +SKIP
        >>> gdf.explore()  # doctest: +SKIP
    """
    import geopandas as gpd
    import pandas as pd
    from shapely.geometry import shape

    rows = []
    for catalog in catalogs:
        geometry = catalog.geometry
        rows.append(
            {
                "id": catalog.id,
                "datetime": pd.to_datetime(catalog.datetime, utc=True),
                "cloud_cover": catalog.cloud_cover,
                "gsd": catalog.gsd,
                "geometry": shape(geometry) if geometry else None,
            }
        )
    columns = ["id", "datetime", "cloud_cover", "gsd", "geometry"]
    frame = pd.DataFrame(rows, columns=columns)
    frame["datetime"] = pd.to_datetime(frame["datetime"], utc=True)
    return gpd.GeoDataFrame(frame, geometry="geometry", crs="EPSG:4326")


_options_lock = threading.Lock()


@contextlib.contextmanager
def pyogrio_options(options: dict[str, Any]) -> Iterator[None]:
    """Set pyogrio's GDAL options (its GDAL is not rasterio's) and restore them after.

    pyogrio sets GDAL config options process-wide only (no per-call or thread-local
    form), so the block holds a module lock: concurrent callers run one at a time
    instead of restoring each other's options mid-read.
    """
    import pyogrio

    with _options_lock:
        previous = {k: pyogrio.get_gdal_config_option(k) for k in options}
        pyogrio.set_gdal_config_options({k: str(v) for k, v in options.items()})
        try:
            yield
        finally:
            pyogrio.set_gdal_config_options(previous)


def read_vector(
    source: Any, member: str | None = None, *, client: Any | None = None, **kwargs: Any
) -> gpd.GeoDataFrame:
    """Read a product's vector member (e.g. its footprint GeoJSON) with pyogrio.

    Args:
        source: a catalog id, ``Catalog``, ``Download``, signed URL or ``pixxel://`` path.
        member: the member (default: the product's first vector member, its footprint).
        client: a ``px.Client``.
        **kwargs: passed to ``pyogrio.read_dataframe``.

    Returns:
        A GeoDataFrame.

    Raises:
        MemberNotFoundError: no such member, or no vector member at all.

    Example:
        >>> footprint = read_vector(catalog_id, "scene_footprint.geojson")  # doctest: +SKIP
    """
    import pyogrio

    resolved = resolve_source(source, client)
    archive = resolved.archive
    name = member or resolved.member
    if name is None:
        names = archive.names()
        candidates = [n for n in names if n.lower().endswith(_VECTOR_SUFFIXES)]
        candidates.sort(key=lambda n: ("footprint" not in n.lower(), n.lower().endswith("json")))
        if not candidates:
            raise MemberNotFoundError(
                f"the product has no vector member; it has: {', '.join(names)}",
                member="*.geojson",
                members=names,
            )
        name = candidates[0]
    entry = archive.member(name)
    if not archive.reader.current_url().startswith(("http://", "https://")):
        # Not behind an HTTP URL (e.g. a delivery in a cloud store): GDAL cannot range-read it
        # with /vsicurl/, so read the (small) member through the archive's own reader.
        return pyogrio.read_dataframe(archive.read(name), **kwargs)
    options = {k: TUNED_OPTIONS[k] for k in ("GDAL_DISABLE_READDIR_ON_OPEN", "CPL_VSIL_CURL_USE_HEAD")}
    for attempt in (1, 2):
        url = archive.reader.current_url()
        if entry.is_stored:
            offset, size = archive.data_range(name)
            path = vsisubfile_path(url, offset, size)
        else:
            path = vsizip_path(url, name)
        try:
            with pyogrio_options(options):
                return pyogrio.read_dataframe(path, **kwargs)
        except pyogrio.errors.DataSourceError as exc:
            # GDAL's message may quote the path (the URL percent-encoded) or the URL itself,
            # decoded ("HTTP response code on https://…?sig…"): strip every query string.
            message = redact_urls(str(exc).replace(path, f"{name} in {redact_url(url)}"))
            if attempt == 2 or "403" not in message:
                raise TransferError(f"could not read {name!r}: {message}") from None
            archive.reader.refresh_url(url)
    raise SignedURLError(f"could not read {name!r}: its URL was refused")
