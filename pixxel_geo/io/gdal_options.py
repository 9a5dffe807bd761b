"""GDAL settings and paths for streaming products, kept in one place.

Why these values (the figures are in ``benchmarks/README.md``, "Streaming"): 256 KiB
chunks beat smaller ones on a WAN; ``VSI_CACHE`` only adds bytes and memory; signed URLs
allow GET only, so never HEAD.

Example:
    >>> with tuned_env():  # doctest: +SKIP
    ...     with rasterio.open(vsizip_path(url, "scene.tif")) as src:
    ...         ...
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

__all__ = [
    "FIRST_HEAD_BYTES",
    "HEAD_BYTES",
    "OPENER_OPTIONS",
    "TUNED_OPTIONS",
    "opener_env",
    "tuned_env",
    "vsicurl_path",
    "vsisubfile_path",
    "vsizip_path",
    "vsizip_store_path",
]

TUNED_OPTIONS: dict[str, Any] = {
    "GDAL_DISABLE_READDIR_ON_OPEN": "EMPTY_DIR",
    "CPL_VSIL_CURL_USE_HEAD": "NO",
    "CPL_VSIL_CURL_CHUNK_SIZE": 262_144,
    "GDAL_HTTP_MULTIRANGE": "YES",
    "GDAL_HTTP_MERGE_CONSECUTIVE_RANGES": "YES",
    "GDAL_NUM_THREADS": "ALL_CPUS",
    "VSI_CACHE": "FALSE",
    "CPL_VSIL_CURL_CACHE_SIZE": 536_870_912,
    "GDAL_INGESTED_BYTES_AT_OPEN": 262_144,
}
"""GDAL's own HTTP path (``/vsicurl``), tuned for signed URLs on a WAN."""

FIRST_HEAD_BYTES = 16 * 1024
"""Bytes of a member read with its local header at open; a TIFF whose directories (IFDs and the
tag values they point to: a COG's tile tables) reach further is read on to their end, up to
:data:`HEAD_BYTES` (a 45-band 1024² COG's directories take 13 KiB). GDAL is told to ingest as much
at open (``GDAL_INGESTED_BYTES_AT_OPEN``), so its first read is served from the head."""

HEAD_BYTES = 128 * 1024
"""The most of a member's start kept as its head (directories reaching further are read by GDAL)."""

OPENER_OPTIONS: dict[str, Any] = {
    "GDAL_DISABLE_READDIR_ON_OPEN": "EMPTY_DIR",
    # One thread makes GDAL hand all ranges of a read to the opener at once,
    # which then fetches them in parallel itself.
    "GDAL_NUM_THREADS": 1,
    "VSI_CACHE": "FALSE",
    "GDAL_INGESTED_BYTES_AT_OPEN": FIRST_HEAD_BYTES,
}
"""GDAL reading through our range reader (rasterio's ``opener=``)."""


def tuned_env(**overrides: Any) -> Any:
    """A ``rasterio.Env`` with :data:`TUNED_OPTIONS` (plus ``overrides``), for ``/vsicurl`` paths.

    Returns:
        A context manager; the options apply only inside it.
    """
    import rasterio

    return rasterio.Env(**{**TUNED_OPTIONS, **overrides})


def opener_env(**overrides: Any) -> Any:
    """A ``rasterio.Env`` with :data:`OPENER_OPTIONS` (plus ``overrides``), for opener reads."""
    import rasterio

    return rasterio.Env(**{**OPENER_OPTIONS, **overrides})


def vsicurl_path(url: str) -> str:
    """GDAL's ``/vsicurl`` path for a signed URL, with the URL as a ``url=`` option.

    The URL is fully percent-encoded (``.`` too), so neither GDAL nor QGIS
    appends anything to the signature.

    >>> vsicurl_path("http://h/f.zip?sig=a")
    '/vsicurl?use_head=no&list_dir=no&url=http%3A%2F%2Fh%2Ff%2Ezip%3Fsig%3Da'
    """
    encoded = quote(url, safe="").replace(".", "%2E")
    return f"/vsicurl?use_head=no&list_dir=no&url={encoded}"


def vsisubfile_path(url: str, offset: int, size: int) -> str:
    """GDAL path to ``size`` bytes at ``offset`` of a signed URL (a STORED zip member).

    >>> vsisubfile_path("http://h/f.zip", 100, 20)
    '/vsisubfile/100_20,/vsicurl?use_head=no&list_dir=no&url=http%3A%2F%2Fh%2Ff%2Ezip'
    """
    return f"/vsisubfile/{offset}_{size},{vsicurl_path(url)}"


def vsizip_path(url: str, member: str) -> str:
    """GDAL path to a zip member behind a signed URL (the brace form).

    >>> vsizip_path("http://h/f.zip", "a.tif")
    '/vsizip/{/vsicurl?use_head=no&list_dir=no&url=http%3A%2F%2Fh%2Ff%2Ezip}/a.tif'
    """
    return f"/vsizip/{{{vsicurl_path(url)}}}/{member}"


STORE_PREFIXES = {"s3": "/vsis3/", "gs": "/vsigs/", "gcs": "/vsigs/", "az": "/vsiaz/", "abfs": "/vsiaz/"}
"""GDAL's virtual file system for each store URL scheme (S3, GCS, Azure Blob)."""


def vsizip_store_path(url: str, member: str) -> str:
    """GDAL path to a zip member in a cloud store (``s3://``, ``gs://``, ``az://`` URL).

    GDAL reaches the store with its own configuration, not Pixxel's: credentials and
    endpoints come from the standard environment variables / config options of each
    virtual file system (``AWS_*`` for ``/vsis3/``, ``GS_*`` / ``CPL_GS_ENDPOINT`` for
    ``/vsigs/``, ``AZURE_STORAGE_*`` for ``/vsiaz/``).

    >>> vsizip_store_path("s3://bucket/deliveries/d1/catalogs.zip", "a.tif")
    '/vsizip//vsis3/bucket/deliveries/d1/catalogs.zip/a.tif'
    >>> vsizip_store_path("az://container/catalogs.zip", "a.tif")
    '/vsizip//vsiaz/container/catalogs.zip/a.tif'

    Raises:
        ValueError: ``url`` is not an S3, GCS or Azure Blob URL.
    """
    scheme, sep, rest = url.partition("://")
    prefix = STORE_PREFIXES.get(scheme.lower()) if sep else None
    if prefix is None:
        raise ValueError(f"not a cloud store URL (s3://, gs://, az://): {url!r}")
    return f"/vsizip/{prefix}{rest.lstrip('/')}/{member}"
