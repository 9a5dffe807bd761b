"""Typed, frozen views of the API's resources.

Attributes use the API's own field names. Each model keeps the full answer in
``raw`` (hidden from its repr), so fields this version does not know about are
never lost, and a model never fails on an unexpected or missing field.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

from pixxel_geo.api.redact import redact_url
from pixxel_geo.api.status import DeliveryStatus, DownloadStatus

__all__ = [
    "Band",
    "Catalog",
    "CloudDelivery",
    "Delivery",
    "Download",
    "OrderItem",
    "Page",
    "Store",
    "StoreConfigs",
    "parse_time",
    "stac_bands",
    "stac_image_asset",
]


def parse_time(value: Any) -> dt.datetime | None:
    """Parse an RFC 3339 timestamp (``2024-05-27T06:50:20.056549Z``); ``None`` if absent or bad."""
    if not value or not isinstance(value, str):
        return None
    try:
        return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def _str(value: Any) -> str | None:
    return None if value is None else str(value)


def _text(value: Any) -> str:
    """A text field, "" when absent or null (never the string "None")."""
    return "" if value is None else str(value)


def _int(value: Any) -> int | None:
    """An integer, or ``None`` when the API sent nothing usable (never an exception)."""
    try:
        return None if value is None or isinstance(value, bool) else int(value)
    except (TypeError, ValueError, OverflowError):  # OverflowError: JSON's 1e999 reads as infinity
        return None


def _float(value: Any) -> float | None:
    """A float, or ``None`` when the API sent nothing usable (never an exception)."""
    try:
        return None if value is None or isinstance(value, bool) else float(value)
    except (TypeError, ValueError):
        return None


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


@dataclass(frozen=True)
class Page:
    """Paging information of a list answer."""

    limit: int | None = None
    offset: int | None = None
    total: int | None = None

    @classmethod
    def from_api(cls, data: Any) -> Page:
        data = _dict(data)
        return cls(limit=_int(data.get("limit")), offset=_int(data.get("offset")), total=_int(data.get("total")))


@dataclass(frozen=True)
class StoreConfigs:
    """Where a store points: ``bucket``, ``region`` and optional ``path_prefix``."""

    bucket: str
    region: str | None = None
    path_prefix: str | None = None

    @classmethod
    def from_api(cls, data: Any) -> StoreConfigs:
        data = _dict(data)
        return cls(
            bucket=_text(data.get("bucket")),
            region=_str(data.get("region")),
            path_prefix=_str(data.get("path_prefix")),
        )


@dataclass(frozen=True)
class Store:
    """A customer bucket Pixxel delivers into (``type`` S3, GCS or AZBLOB). Secrets are write-only."""

    id: str
    name: str
    type: str
    configs: StoreConfigs
    labels: dict[str, str] = field(default_factory=dict)
    created_at: dt.datetime | None = None
    updated_at: dt.datetime | None = None
    created_by: str | None = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_api(cls, data: Any) -> Store:
        data = _dict(data)
        return cls(
            id=_text(data.get("id")),
            name=_text(data.get("name")),
            type=_text(data.get("type")),
            configs=StoreConfigs.from_api(data.get("configs")),
            labels={str(k): str(v) for k, v in _dict(data.get("labels")).items()},
            created_at=parse_time(data.get("created_at")),
            updated_at=parse_time(data.get("updated_at")),
            created_by=_str(data.get("created_by")),
            raw=data,
        )


@dataclass(frozen=True)
class Band:
    """One spectral band: ``center_wavelength`` and ``fwhm`` in nanometres."""

    name: str
    center_wavelength: float | None = None
    fwhm: float | None = None
    common_name: str | None = None


def stac_image_asset(item: Any, image_name: str | None = None) -> dict[str, Any]:
    """The asset of a STAC item that describes the image's bands.

    The asset whose ``href`` names ``image_name`` (a zip member or file name), else the first
    ``data`` asset listing ``eo:bands`` or ``raster:bands``, else the first asset listing them.

    Example:
        >>> stac_image_asset({"assets": {"a": {"roles": ["data"], "eo:bands": [{}]}}})["roles"]
        ['data']
    """
    assets = [a for a in _dict(_dict(item).get("assets")).values() if isinstance(a, dict)]
    if image_name:
        base = image_name.rsplit("/", 1)[-1]
        for asset in assets:
            href = asset.get("href")
            if isinstance(href, str) and href.split("?")[0].rsplit("/", 1)[-1] == base:
                return asset
    described = [a for a in assets if a.get("eo:bands") or a.get("raster:bands")]
    for asset in described:
        if "data" in _list(asset.get("roles")):
            return asset
    return described[0] if described else {}


def stac_bands(item: Any, image_name: str | None = None) -> list[Band]:
    """The bands a STAC item's ``eo:bands`` list (the image asset's, else the item's), in file order.

    Wavelengths come out in nanometres: STAC's eo extension (and the OpenAPI field description)
    says micrometres while Pixxel's own example gives nanometres (``"center_wavelength": 493``),
    so a list whose centres are all below 100 is read as micrometres. A ``fwhm`` of 0 (as in
    Pixxel's example) means unknown.

    Example:
        >>> [b.center_wavelength for b in stac_bands({"properties": {"eo:bands": [{"center_wavelength": 0.47}]}})]
        [470.0]
    """
    eo = _list(stac_image_asset(item, image_name).get("eo:bands")) or _list(
        _dict(_dict(item).get("properties")).get("eo:bands")
    )
    entries = [_dict(b) for b in eo]
    centres = [_float(b.get("center_wavelength")) for b in entries]
    known = [c for c in centres if c is not None]
    factor = 1000.0 if known and max(known) < 100.0 else 1.0
    bands = []
    for i, (band, centre) in enumerate(zip(entries, centres, strict=True)):
        fwhm = _float(band.get("fwhm"))
        bands.append(
            Band(
                name=str(band.get("name") or f"B{i + 1:03d}"),
                center_wavelength=None if centre is None else round(centre * factor, 6),
                fwhm=round(fwhm * factor, 6) if fwhm else None,
                common_name=_str(band.get("common_name")),
            )
        )
    return bands


@dataclass(frozen=True)
class Catalog:
    """One delivered image. ``details`` is its STAC item.

    Example:
        >>> c = Catalog.from_api({"id": "c1", "details": {"properties": {"eo:cloud_cover": 3}}})
        >>> c.cloud_cover
        3.0
    """

    id: str
    details: dict[str, Any] = field(default_factory=dict, repr=False)
    area: float | None = None
    bandset_id: str | None = None
    delivery_status: DeliveryStatus | None = None
    task_id: str | None = None
    org_id: str | None = None
    created_at: dt.datetime | None = None
    updated_at: dt.datetime | None = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_api(cls, data: Any) -> Catalog:
        data = _dict(data)
        status = data.get("delivery_status")
        return cls(
            id=_text(data.get("id")),
            details=_dict(data.get("details")),
            area=_float(data.get("area")),
            bandset_id=_str(data.get("bandset_id")),
            delivery_status=DeliveryStatus(status) if status is not None else None,
            task_id=_str(data.get("task_id")),
            org_id=_str(data.get("org_id")),
            created_at=parse_time(data.get("created_at")),
            updated_at=parse_time(data.get("updated_at")),
            raw=data,
        )

    @property
    def properties(self) -> dict[str, Any]:
        return _dict(self.details.get("properties"))

    @property
    def item_id(self) -> str | None:
        """The STAC item id (the product's name)."""
        return _str(self.details.get("id"))

    @property
    def datetime(self) -> dt.datetime | None:
        return parse_time(self.properties.get("datetime"))

    @property
    def cloud_cover(self) -> float | None:
        return _float(self.properties.get("eo:cloud_cover"))

    @property
    def gsd(self) -> float | None:
        return _float(self.properties.get("gsd"))

    @property
    def epsg(self) -> int | None:
        return _int(self.properties.get("proj:epsg"))

    @property
    def geometry(self) -> dict[str, Any] | None:
        """The footprint as a GeoJSON geometry (EPSG:4326)."""
        geometry = self.details.get("geometry")
        return geometry if isinstance(geometry, dict) else None

    @property
    def bbox(self) -> tuple[float, ...] | None:
        bbox = self.details.get("bbox")
        values = [_float(v) for v in bbox] if isinstance(bbox, list) else []
        return tuple(v for v in values if v is not None) if values and None not in values else None

    @property
    def assets(self) -> dict[str, Any]:
        return _dict(self.details.get("assets"))

    @property
    def bands(self) -> list[Band]:
        """The image's bands from the STAC item's ``eo:bands``, in file order, wavelengths in nm."""
        return stac_bands(self.details)


@dataclass(frozen=True)
class OrderItem:
    """An order item: what was ordered, and the images (STAC item ids) it produced."""

    id: str
    order_id: str | None = None
    name: str | None = None
    status: str | None = None
    type: str | None = None
    images: list[dict[str, Any]] = field(default_factory=list, repr=False)
    tasks: list[dict[str, Any]] = field(default_factory=list, repr=False)
    created_at: dt.datetime | None = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_api(cls, data: Any) -> OrderItem:
        data = _dict(data)
        return cls(
            id=_text(data.get("id")),
            order_id=_str(data.get("order_id")),
            name=_str(data.get("name")),
            status=_str(data.get("status")),
            type=_str(data.get("type")),
            images=[_dict(i) for i in _list(data.get("images"))],
            tasks=[_dict(t) for t in _list(data.get("tasks"))],
            created_at=parse_time(data.get("created_at")),
            raw=data,
        )


@dataclass(frozen=True)
class CloudDelivery:
    """The store a delivery goes to (``config`` = store id) and its prefix ``path``."""

    config: str
    path: str | None = None

    @classmethod
    def from_api(cls, data: Any) -> CloudDelivery:
        data = _dict(data)
        return cls(config=_text(data.get("config")), path=_str(data.get("path")))


@dataclass(frozen=True)
class Delivery:
    """An asynchronous copy of one catalog into a store.

    The object lands at ``<bucket>/<store path_prefix>/<cloud_delivery.path>/<target_path>``.
    """

    delivery_id: str
    status: DeliveryStatus
    catalog_id: str | None = None
    cloud_delivery: CloudDelivery | None = None
    target_path: str | None = None
    task_id: str | None = None
    created_at: dt.datetime | None = None
    updated_at: dt.datetime | None = None
    created_by: str | None = None
    updated_by: str | None = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_api(cls, data: Any) -> Delivery:
        data = _dict(data)
        cloud = data.get("cloud_delivery")
        return cls(
            delivery_id=_text(data.get("delivery_id")),
            status=DeliveryStatus(data.get("status")),
            catalog_id=_str(data.get("catalog_id")),
            cloud_delivery=CloudDelivery.from_api(cloud) if isinstance(cloud, dict) else None,
            target_path=_str(data.get("target_path")),
            task_id=_str(data.get("task_id")),
            created_at=parse_time(data.get("created_at")),
            updated_at=parse_time(data.get("updated_at")),
            created_by=_str(data.get("created_by")),
            updated_by=_str(data.get("updated_by")),
            raw=data,
        )

    def object_key(self, store: Store) -> str:
        """The delivered object's key inside ``store``'s bucket.

        Example:
            >>> d = Delivery.from_api({"delivery_id": "d", "status": "SUCCESS",
            ...     "cloud_delivery": {"config": "s", "path": "/in/"}, "target_path": "o/catalogs.zip"})
            >>> d.object_key(Store.from_api({"configs": {"bucket": "b", "path_prefix": "data/"}}))
            'data/in/o/catalogs.zip'
        """
        parts = [
            store.configs.path_prefix or "",
            self.cloud_delivery.path if self.cloud_delivery and self.cloud_delivery.path else "",
            self.target_path or "",
        ]
        return "/".join(p.strip("/") for p in parts if p.strip("/"))

    def location(self, store: Store) -> str:
        """The delivered object's URL in ``store``: ``s3://…``, ``gs://…`` or ``az://…``."""
        scheme = {"S3": "s3", "GCS": "gs", "AZBLOB": "az"}.get(store.type.upper(), "file")
        return f"{scheme}://{store.configs.bucket}/{self.object_key(store)}"


@dataclass(frozen=True)
class Download:
    """A download resource. ``signed_url`` is set once ``status`` is SUCCESS.

    The signed URL is a bearer credential: the repr shows only its host and path.
    """

    id: str
    status: DownloadStatus
    signed_url: str | None = field(default=None, repr=False)
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_api(cls, data: Any) -> Download:
        data = _dict(data)
        return cls(
            id=_text(data.get("id")),
            status=DownloadStatus(data.get("status")),
            signed_url=_str(data.get("signed_url")) or None,
            raw=data,
        )

    @property
    def ready(self) -> bool:
        """True once the status is SUCCESS and a signed URL is set (an unknown status is never ready)."""
        return self.status.is_success and bool(self.signed_url)

    @property
    def expires_at(self) -> dt.datetime | None:
        """When the signed URL expires, if the URL says (S3, GCS, Azure, sandbox styles)."""
        return signed_url_expiry(self.signed_url)

    def __repr__(self) -> str:
        url = redact_url(self.signed_url) if self.signed_url else None
        return f"Download(id={self.id!r}, status={self.status!r}, signed_url={url!r})"


def signed_url_expiry(url: str | None) -> dt.datetime | None:
    """Read a signed URL's expiry from its query string, without revealing it.

    Understands ``X-Amz-Date`` + ``X-Amz-Expires`` (S3 SigV4), ``X-Goog-Date`` +
    ``X-Goog-Expires`` (GCS), ``Expires`` (epoch), ``se`` (Azure SAS) and the
    sandbox's ``X-Pixxel-Expires`` (epoch).
    """
    if not url:
        return None
    query = {k.lower(): v[0] for k, v in parse_qs(urlsplit(url).query).items()}
    try:
        for prefix in ("x-amz", "x-goog"):
            if f"{prefix}-date" in query and f"{prefix}-expires" in query:
                start = dt.datetime.strptime(query[f"{prefix}-date"], "%Y%m%dT%H%M%SZ")
                start = start.replace(tzinfo=dt.UTC)
                return start + dt.timedelta(seconds=int(query[f"{prefix}-expires"]))
        for key in ("x-pixxel-expires", "expires"):
            if key in query:
                return dt.datetime.fromtimestamp(int(query[key]), tz=dt.UTC)
        if "se" in query:
            return parse_time(query["se"])
    except (ValueError, OverflowError):
        return None
    return None
