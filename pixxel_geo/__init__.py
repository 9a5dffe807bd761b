"""pixxel-geo: Pixxel hyperspectral imagery straight into notebooks, QGIS and analysis code.

Example:
    >>> import pixxel_geo as px
    >>> client = px.Client()  # doctest: +SKIP
    >>> catalog = next(client.catalogs.search(max_items=1))  # doctest: +SKIP
    >>> cube = px.open_dataset(catalog)  # doctest: +SKIP  (streams; no download)

``import pixxel_geo`` stays light (httpx only): the imagery functions
(``open_raster``, ``open_dataset``, ...) load numpy/rasterio on first use.
"""

from __future__ import annotations

import importlib
import logging
from typing import Any

from pixxel_geo._version import __version__
from pixxel_geo.api import (
    Band,
    Catalog,
    ClientConfig,
    Clock,
    CloudDelivery,
    Delivery,
    DeliveryStatus,
    Download,
    DownloadStatus,
    OrderItem,
    PollSchedule,
    RetryPolicy,
    Store,
    StoreConfigs,
    redact_url,
    redact_urls,
)
from pixxel_geo.api.errors import (
    APIError,
    AuthenticationError,
    BadRequestError,
    ConfigurationError,
    ConflictError,
    DeliveryFailedError,
    DownloadFailedError,
    IntegrityError,
    InvalidInputError,
    MalformedResponseError,
    MemberNotFoundError,
    MissingDependencyError,
    NetworkError,
    NotFoundError,
    PermissionDeniedError,
    PixxelError,
    RateLimitError,
    RequestTimeoutError,
    ResourceFailedError,
    ServerError,
    SignedURLError,
    TransferCancelled,
    TransferError,
    TransportError,
    UnsafeArchiveError,
    WaitTimeoutError,
)
from pixxel_geo.api.events import Event, Failed, Finished, Progress, Started, StateChanged
from pixxel_geo.api.redact import redact_httpx_logs
from pixxel_geo.transfer.client import AsyncClient, Client

logging.getLogger("pixxel_geo").addHandler(logging.NullHandler())
redact_httpx_logs()  # its request lines would carry signed URLs' signatures

# Imagery functions and front ends: imported on first use (they need numpy, rasterio, ...).
_LAZY = {
    "Calibration": "pixxel_geo.io.calibration",
    "DeliverySource": "pixxel_geo.io.stores",
    "MultipleProductsError": "pixxel_geo.io.members",
    "QUALITY_FLAGS": "pixxel_geo.io.quality",
    "UncalibratedWarning": "pixxel_geo.io.calibration",
    "PixxelFileSystem": "pixxel_geo.io.filesystem",
    "LocalRangeServer": "pixxel_geo.io.localserver",
    "gdal_path": "pixxel_geo.io.raster",
    "indices": "pixxel_geo.io.indices",
    "local_gdal_path": "pixxel_geo.io.localserver",
    "open_dataset": "pixxel_geo.io.dataset",
    "open_quality_mask": "pixxel_geo.io.dataset",
    "open_raster": "pixxel_geo.io.raster",
    "quicklook": "pixxel_geo.io.quicklook",
    "read_footprints": "pixxel_geo.io.vector",
    "read_vector": "pixxel_geo.io.vector",
    "serve": "pixxel_geo.io.localserver",
    "spectrum": "pixxel_geo.io.quicklook",
    "stack": "pixxel_geo.io.stack",
    "widgets": "pixxel_geo.widgets",
}


def __getattr__(name: str) -> Any:
    module_name = _LAZY.get(name)
    if module_name is None:
        raise AttributeError(f"module 'pixxel_geo' has no attribute {name!r}")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        from pixxel_geo._extras import missing_extra

        error = missing_extra(exc, f"px.{name}", prefer="widgets" if name == "widgets" else "io")
        if error is None:
            raise
        raise error from None
    value = module if name == "widgets" else getattr(module, name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


__all__ = [  # noqa: RUF022  (plainly sorted: tests/api/test_surface.py checks sorted())
    "APIError",
    "AsyncClient",
    "AuthenticationError",
    "BadRequestError",
    "Band",
    "Calibration",
    "Catalog",
    "Client",
    "ClientConfig",
    "Clock",
    "CloudDelivery",
    "ConfigurationError",
    "ConflictError",
    "Delivery",
    "DeliveryFailedError",
    "DeliverySource",
    "DeliveryStatus",
    "Download",
    "DownloadFailedError",
    "DownloadStatus",
    "Event",
    "Failed",
    "Finished",
    "IntegrityError",
    "InvalidInputError",
    "LocalRangeServer",
    "MalformedResponseError",
    "MemberNotFoundError",
    "MissingDependencyError",
    "MultipleProductsError",
    "NetworkError",
    "NotFoundError",
    "OrderItem",
    "PermissionDeniedError",
    "PixxelError",
    "PixxelFileSystem",
    "PollSchedule",
    "Progress",
    "QUALITY_FLAGS",
    "RateLimitError",
    "RequestTimeoutError",
    "ResourceFailedError",
    "RetryPolicy",
    "ServerError",
    "SignedURLError",
    "Started",
    "StateChanged",
    "Store",
    "StoreConfigs",
    "TransferCancelled",
    "TransferError",
    "TransportError",
    "UncalibratedWarning",
    "UnsafeArchiveError",
    "WaitTimeoutError",
    "__version__",
    "gdal_path",
    "indices",
    "local_gdal_path",
    "open_dataset",
    "open_quality_mask",
    "open_raster",
    "quicklook",
    "read_footprints",
    "read_vector",
    "redact_url",
    "redact_urls",
    "serve",
    "spectrum",
    "stack",
]
