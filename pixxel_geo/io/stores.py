"""Deliveries read in place from the user's bucket (S3, GCS, Azure Blob) by range.

A delivered ``catalogs.zip`` sits at ``Delivery.location(store)`` (``s3://…``, ``gs://…``,
``az://…``). This module opens it through fsspec (s3fs, gcsfs, adlfs) with the *user's* cloud
credentials: the standard environment and config files of each SDK, or explicit
``storage_options``. Nothing of them goes to Pixxel's API; the API is asked only for the
delivery and its store. The zip's central directory is read once, then members by range,
with the same :class:`~pixxel_geo.io.archive.ZipArchive` machinery as signed URLs (the
range reader here is an fsspec file instead of HTTP). fsspec is used rather than GDAL's
``/vsizip//vsis3|vsigs|vsiaz/`` (as fast, the same pixels; figures in ``benchmarks/README.md``)
because it takes the user's ``storage_options`` and pickles to dask. The filesystems and
archives are kept in the :class:`~pixxel_geo.io.session.IOSession`.

Ways in:

- ``px.open_raster(delivery)``, ``px.open_dataset(delivery)``, ``px.read_vector(delivery, member)``
  with a ``Delivery`` (credentials from the environment), or with
  ``DeliverySource(delivery_or_id, storage_options={...})``;
- ``fsspec.open("pixxel://deliveries/<delivery_id>/<member>", store_options={...})``.

``storage_options`` go to the fsspec filesystem of the store's type, with one convenience:
``endpoint_url`` works for all three (S3: the endpoint; GCS: the endpoint, anonymous unless a
``token`` is given; Azure: an Azurite-style blob endpoint ``http://host:port/<account>``, used
with ``account_name`` / ``account_key``).

Example:
    >>> src = DeliverySource(delivery_id, storage_options={"endpoint_url": "http://127.0.0.1:9000"})  # doctest: +SKIP
    >>> with px.open_raster(src) as ds:  # doctest: +SKIP
    ...     ds.read(1, window=((0, 64), (0, 64)))
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator, Sequence
from typing import Any

from fsspec.spec import AbstractFileSystem

from pixxel_geo.api.errors import InvalidInputError, TransferError
from pixxel_geo.api.redact import redact_urls
from pixxel_geo.io.archive import ResolvedSource, ZipArchive, archive_for
from pixxel_geo.io.session import IOSession, client_for, default_session

__all__ = [
    "DeliverySource",
    "StoreArchive",
    "StoreObjectSource",
    "StoreRangeReader",
    "delivery_location",
    "filesystem_for",
    "resolve_delivery",
    "store_archive",
]

PROTOCOLS = {"s3": "s3", "gs": "gcs", "gcs": "gcs", "az": "az", "abfs": "az"}
STORE_OPTIONS_KEY = "store_options"
"""The ``pixxel://`` filesystem option that carries ``storage_options`` for deliveries."""
MAX_CONCURRENCY_KEY = "max_concurrency"
"""A ``storage_options`` key this module reads (not passed on): 1 sends one range request at a
time. It defaults to 1 for a GCS endpoint on loopback (gcp-storage-emulator serves one request
at a time; concurrent ones cost it ~1 s each), and to the library's concurrency otherwise."""


# Where each SDK finds credentials in the environment: a filesystem made before one of these changed
# (e.g. AWS_PROFILE set later in the program) must not be reused after.
_CREDENTIAL_ENV = {
    "s3": ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
           "AWS_SHARED_CREDENTIALS_FILE", "AWS_CONFIG_FILE", "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_ENDPOINT_URL"),
    "gcs": ("GOOGLE_APPLICATION_CREDENTIALS", "GOOGLE_CLOUD_PROJECT", "STORAGE_EMULATOR_HOST"),
    "azure": ("AZURE_STORAGE_CONNECTION_STRING", "AZURE_STORAGE_ACCOUNT_NAME", "AZURE_STORAGE_ACCOUNT_KEY",
              "AZURE_STORAGE_SAS_TOKEN", "AZURE_CLIENT_ID", "AZURE_TENANT_ID", "AZURE_CLIENT_SECRET"),
}  # fmt: skip


def _options_key(options: dict[str, Any], kind: str = "") -> str:
    """A digest of the options and of the SDK's credential environment (never kept in clear)."""
    environment = {name: os.environ.get(name) for name in _CREDENTIAL_ENV.get(kind, ())}
    text = json.dumps([options, environment], sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:24]


def _import_gcsfs() -> Any:
    """Import gcsfs without its experimental gRPC probing (it waits ~60 s per bucket offline)."""
    name = "GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT"
    previous = os.environ.get(name)
    if previous is None:
        os.environ[name] = "false"
    try:
        import gcsfs
    finally:
        if previous is None:
            os.environ.pop(name, None)
    return gcsfs


def filesystem_for(
    url: str, storage_options: dict[str, Any] | None = None, session: IOSession | None = None
) -> AbstractFileSystem:
    """The fsspec filesystem that reads ``url`` (one per protocol and options, per session).

    Args:
        url: ``s3://bucket/key``, ``gs://bucket/key`` or ``az://container/key``.
        storage_options: passed to s3fs / gcsfs / adlfs (see the module docstring for
            ``endpoint_url``); empty: each SDK's standard credentials.
        session: whose filesystems (default: the process's session).

    Returns:
        An fsspec filesystem.

    Raises:
        InvalidInputError: not a store URL.

    Example:
        >>> fs = filesystem_for("s3://b/k.zip", {"endpoint_url": "http://127.0.0.1:9000"})  # doctest: +SKIP
    """
    scheme = url.split("://", 1)[0].lower() if "://" in url else ""
    kind = PROTOCOLS.get(scheme)
    if kind is None:
        raise InvalidInputError(f"{url!r} is not in a cloud store: expected s3://, gs:// or az://")
    options = dict(storage_options or {})
    options.pop(MAX_CONCURRENCY_KEY, None)
    cache_key = (kind, _options_key(options, kind))
    cache = (session or default_session()).store_filesystems
    found = cache.get(cache_key)
    if found is not None:
        return found
    endpoint = options.pop("endpoint_url", None)
    if kind == "s3":
        import s3fs

        if endpoint:
            # A new nested dict: the caller's (and the source's, whose key hashes it) stay as given.
            options["client_kwargs"] = {**(options.get("client_kwargs") or {}), "endpoint_url": endpoint}
        fs = s3fs.S3FileSystem(**options, skip_instance_cache=True)  # the session's cache is the owner
    elif kind == "gcs":
        gcsfs = _import_gcsfs()
        if endpoint:
            options["endpoint_url"] = endpoint
            options.setdefault("token", "anon")
        fs = gcsfs.GCSFileSystem(**options, skip_instance_cache=True)
    else:
        import adlfs

        if endpoint and "connection_string" not in options:
            account = options.get("account_name") or endpoint.rstrip("/").rsplit("/", 1)[-1]
            key = options.pop("account_key", None)
            parts = [f"AccountName={account}", f"BlobEndpoint={endpoint.rstrip('/')}"]
            if key:
                parts.insert(1, f"AccountKey={key}")
            options["connection_string"] = ";".join(parts) + ";"
            options.pop("account_name", None)
        fs = adlfs.AzureBlobFileSystem(**options, skip_instance_cache=True)
    shared: AbstractFileSystem = cache.setdefault(cache_key, fs)
    return shared


class StoreObjectSource:
    """One object in a cloud store: its URL (no secrets) and the options to reach it.

    It satisfies :class:`~pixxel_geo.io.reader.URLSource`: ``signed_url()`` is the object URL
    itself (``s3://…``), which never expires. Pickles with its ``storage_options`` (so dask
    workers can read); ``repr`` shows the URL only.
    """

    def __init__(self, url: str, storage_options: dict[str, Any] | None = None) -> None:
        self.url = url
        self.storage_options = dict(storage_options or {})

    @property
    def key(self) -> str:
        kind = PROTOCOLS.get(self.url.split("://", 1)[0].lower(), "")
        return f"store:{self.url}:{_options_key(self.storage_options, kind)}"

    def signed_url(self, fresh: bool = False) -> str:
        return self.url

    def open_reader(self, session: IOSession | None = None) -> StoreRangeReader:
        """The reader of this object (what :class:`~pixxel_geo.io.archive.ZipArchive` reads with)."""
        return StoreRangeReader(self, session=session)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, StoreObjectSource) and other.key == self.key

    def __hash__(self) -> int:
        return hash(self.key)

    def __repr__(self) -> str:
        return f"StoreObjectSource({self.url!r})"


class StoreRangeReader:
    """Byte ranges of a store object through fsspec (the same interface as ``RangeReader``).

    Ranges of one read go out together (``cat_ranges``, concurrent in s3fs / gcsfs / adlfs).

    Args:
        source: the object.
        session: whose filesystems (default: the process's session).

    Attributes:
        bytes_read: bytes fetched by this reader so far (to see that reads are ranges, not the
            whole object).
    """

    def __init__(self, source: StoreObjectSource, session: IOSession | None = None) -> None:
        self.source = source
        self.session = session or default_session()
        self.size: int | None = None
        self.bytes_read = 0
        options = source.storage_options
        endpoint = str(options.get("endpoint_url", ""))
        loopback = "://127.0.0.1" in endpoint or "://localhost" in endpoint
        local_gcs = source.url.startswith(("gs://", "gcs://")) and loopback
        self.sequential = options.get(MAX_CONCURRENCY_KEY) == 1 or (MAX_CONCURRENCY_KEY not in options and local_gcs)
        self._fs: Any = None

    @property
    def fs(self) -> Any:
        if self._fs is None:
            self._fs = filesystem_for(self.source.url, self.source.storage_options, self.session)
        return self._fs

    @property
    def path(self) -> str:
        return self.source.url.split("://", 1)[1]

    def __getstate__(self) -> dict[str, Any]:
        return {"source": self.source, "size": self.size, "session": self.session}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["source"], state.get("session"))  # type: ignore[misc]
        self.size = state["size"]

    def __repr__(self) -> str:
        return f"StoreRangeReader({self.source.url!r})"

    def current_url(self) -> str:
        """The object's URL (it holds no credentials)."""
        return self.source.url

    def refresh_url(self, stale: str) -> str:
        """Store URLs do not expire: the same URL."""
        return self.source.url

    def _call(self, what: str, function: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return function(*args, **kwargs)
        except PermissionError as exc:
            raise TransferError(
                f"the store refused {what} {self.source.url}: {redact_urls(str(exc))}. Check your own cloud "
                "credentials (environment, SDK config) or pass storage_options=",
                path=self.source.url,
            ) from None
        except FileNotFoundError:
            raise TransferError(
                f"{self.source.url} does not exist (was the delivery removed from the bucket?)",
                path=self.source.url,
            ) from None

    def get_size(self) -> int:
        """The object's size in bytes (asked once)."""
        if self.size is None:
            info = self._call("the size of", self.fs.info, self.path)
            self.size = int(info["size"])
        return self.size

    def read_tail(self, length: int) -> tuple[bytes, int]:
        """The last ``length`` bytes and their offset."""
        size = self.get_size()
        start = max(0, size - length)
        return self.read(start, size), start

    def read(self, start: int, end: int) -> bytes:
        """Bytes ``[start, end)``."""
        if end <= start:
            return b""
        data: bytes = self._call("a read of", self.fs.cat_file, self.path, start=start, end=end)
        self.bytes_read += len(data)
        return data

    def read_ranges(self, ranges: Sequence[tuple[int, int]]) -> list[bytes]:
        """Several ranges at once, in order."""
        todo = [(s, e) for s, e in ranges if e > s]
        if not todo:
            return [b"" for _ in ranges]
        if self.sequential:
            return [self.read(s, e) if e > s else b"" for s, e in ranges]
        blobs = self._call(
            "a read of",
            self.fs.cat_ranges,
            [self.path] * len(todo),
            [s for s, _ in todo],
            [e for _, e in todo],
            on_error="raise",
        )
        self.bytes_read += sum(len(b) for b in blobs)
        found = iter(blobs)
        return [next(found) if e > s else b"" for s, e in ranges]

    def iter_bytes(self, start: int, end: int, chunk: int = 1024 * 1024) -> Iterator[bytes]:
        """Bytes ``[start, end)`` in chunks."""
        for offset in range(start, end, chunk):
            yield self.read(offset, min(end, offset + chunk))


class StoreArchive(ZipArchive):
    """A product zip in a cloud store, read by range through fsspec (a :class:`StoreRangeReader`).

    :func:`store_archive` gives the session's shared one; this class makes a private one.
    """

    def __init__(self, source: StoreObjectSource, session: IOSession | None = None) -> None:
        # StoreRangeReader has RangeReader's interface (duck-typed: no HTTP, no re-signing).
        super().__init__(source, reader=source.open_reader(session), session=session)  # type: ignore[arg-type]


def store_archive(
    url: str, storage_options: dict[str, Any] | None = None, session: IOSession | None = None
) -> ZipArchive:
    """The session's archive for a store object (its directory is read once per session).

    Args:
        url: ``s3://…``, ``gs://…`` or ``az://…``.
        storage_options: as for :func:`filesystem_for`.
        session: whose archives (default: the process's session).

    Returns:
        The archive, read through a :class:`StoreRangeReader`.

    Example:
        >>> store_archive("s3://bucket/deliveries/catalogs.zip").names()  # doctest: +SKIP
    """
    return archive_for(StoreObjectSource(url, storage_options), session)


def _find_delivery(delivery: Any, client: Any) -> Any:
    if isinstance(delivery, str):
        found = client.deliveries.list(delivery_id=delivery)
        found = [d for d in found if d.delivery_id == delivery]
        if not found:
            raise InvalidInputError(f"no delivery with id {delivery!r}; see client.deliveries.list()")
        delivery = found[0]
    if not hasattr(delivery, "location") or not hasattr(delivery, "delivery_id"):
        raise InvalidInputError(f"expected a Delivery or a delivery id, not {type(delivery).__name__}")
    return delivery


def delivery_location(
    delivery: Any, client: Any | None = None, session: IOSession | None = None
) -> tuple[Any, Any, str]:
    """Find a delivery, its store and the delivered object's URL.

    Args:
        delivery: a ``Delivery`` or a delivery id.
        client: a ``px.Client`` (default: the session's, configured from the environment).
        session: whose client when ``client`` is not given.

    Returns:
        ``(delivery, store, url)`` with ``url`` like ``s3://bucket/prefix/…/catalogs.zip``.

    Raises:
        InvalidInputError: unknown delivery, not delivered (yet), or its store is gone.

    Example:
        >>> delivery, store, url = delivery_location("5b0d…")  # doctest: +SKIP
    """
    client = client if client is not None else client_for(None, session)
    delivery = _find_delivery(delivery, client)
    status = delivery.status
    if not status.is_success:
        hint = "wait with client.deliveries.wait()" if not status.is_final else "create it again"
        raise InvalidInputError(f"delivery {delivery.delivery_id} is {status.value}, not delivered: {hint}")
    store_id = delivery.cloud_delivery.config if delivery.cloud_delivery else None
    store = next((s for s in client.stores.list() if s.id == store_id), None)
    if store is None:
        raise InvalidInputError(
            f"delivery {delivery.delivery_id} went to store {store_id!r}, which no longer exists; "
            "open the object by its URL instead"
        )
    return delivery, store, delivery.location(store)


class DeliverySource:
    """A delivery to read in place, with the storage options to reach its bucket.

    Pass it wherever a source is accepted (``px.open_raster``, ``px.open_dataset``,
    ``px.read_vector``).

    Args:
        delivery: a ``Delivery`` or a delivery id.
        storage_options: for s3fs / gcsfs / adlfs (default: each SDK's standard credentials).

    Example:
        >>> px.read_vector(DeliverySource(d, storage_options=opts), "scene_footprint.geojson")  # doctest: +SKIP
    """

    def __init__(self, delivery: Any, storage_options: dict[str, Any] | None = None) -> None:
        self.delivery = delivery
        self.storage_options = dict(storage_options or {})

    def __repr__(self) -> str:
        ident = self.delivery if isinstance(self.delivery, str) else getattr(self.delivery, "delivery_id", "?")
        return f"DeliverySource({ident!r})"


def resolve_delivery(
    delivery: Any,
    client: Any | None = None,
    storage_options: dict[str, Any] | None = None,
    session: IOSession | None = None,
) -> ResolvedSource:
    """A delivery (or :class:`DeliverySource`) as a readable archive.

    Args:
        delivery: a ``Delivery``, a delivery id or a :class:`DeliverySource`.
        client: a ``px.Client`` (default: one from the environment).
        storage_options: used when ``delivery`` is not a :class:`DeliverySource`.
        session: whose archives and client (default: the process's session).

    Returns:
        The archive in the store (member ``None``; the delivered catalog's id).

    Raises:
        InvalidInputError: see :func:`delivery_location`.
    """
    if isinstance(delivery, DeliverySource):
        storage_options = delivery.storage_options
        delivery = delivery.delivery
    found, _store, url = delivery_location(delivery, client, session)
    return ResolvedSource(store_archive(url, storage_options, session), None, found.catalog_id)
