"""The core: configuration, models, errors, events and the two clients (httpx only)."""

from pixxel_geo.api._waiting import PollSchedule
from pixxel_geo.api.client import AsyncClient, Client
from pixxel_geo.api.clock import Clock
from pixxel_geo.api.config import ClientConfig
from pixxel_geo.api.models import (
    Band,
    Catalog,
    CloudDelivery,
    Delivery,
    Download,
    OrderItem,
    Store,
    StoreConfigs,
)
from pixxel_geo.api.redact import redact_url, redact_urls
from pixxel_geo.api.retry import RetryPolicy
from pixxel_geo.api.status import DeliveryStatus, DownloadStatus

__all__ = [
    "AsyncClient",
    "Band",
    "Catalog",
    "Client",
    "ClientConfig",
    "Clock",
    "CloudDelivery",
    "Delivery",
    "DeliveryStatus",
    "Download",
    "DownloadStatus",
    "OrderItem",
    "PollSchedule",
    "RetryPolicy",
    "Store",
    "StoreConfigs",
    "redact_url",
    "redact_urls",
]
