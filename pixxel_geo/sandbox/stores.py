"""Where deliveries land: a small interface over bucket writes, and the local-folder backend.

A delivered object's key is ``<store path_prefix>/<cloud path>/<target_path>`` (see
:func:`object_key`); a backend writes the archive under that key in the store's bucket. Other
backends write into local S3 / GCS / Azure protocol servers (moto, gcp-storage-emulator,
Azurite; see :mod:`pixxel_geo.sandbox.emulators`) when the sandbox runs them (``--stores``),
using the store's ``secrets`` as the real service would; a refusal raises
:class:`StoreWriteError`, whose message becomes the delivery's failure reason.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
from pathlib import Path
from typing import Any, Protocol

_BUCKET = re.compile(r"^[a-z0-9][a-z0-9._-]{1,61}[a-z0-9]$")


class StoreBackend(Protocol):
    """Writes objects into a store's bucket."""

    def put(self, store: dict[str, Any], key: str, src_path: Path) -> None:
        """Copy the file at ``src_path`` to ``key`` in the store's bucket."""


def normalise_key(*parts: str | None) -> str:
    """Join path parts with single slashes, dropping empty segments.

    Args:
        parts: path fragments; ``None`` and empty strings are skipped.

    Returns:
        The key, without leading or trailing slash.

    Raises:
        ValueError: a segment is ``.`` or ``..`` (a key must not climb out of its bucket).

    Example:
        >>> normalise_key("/data/", None, "//a//b/", "c.zip")
        'data/a/b/c.zip'
    """
    segments: list[str] = []
    for part in parts:
        for segment in (part or "").replace("\\", "/").split("/"):
            if segment in (".", ".."):
                raise ValueError(f"path segment {segment!r} is not allowed in a store path")
            if segment:
                segments.append(segment)
    return "/".join(segments)


def object_key(store: dict[str, Any], cloud_path: str | None, target_path: str) -> str:
    """Return where a delivery lands in its store's bucket.

    Example:
        >>> object_key({"configs": {"path_prefix": "p/"}}, "/x", "o/i/catalogs.zip")
        'p/x/o/i/catalogs.zip'
    """
    return normalise_key(store["configs"].get("path_prefix"), cloud_path, target_path)


def check_bucket_name(bucket: str) -> None:
    """Raise ValueError unless ``bucket`` is a DNS-style bucket name (3-63 chars)."""
    if not _BUCKET.match(bucket) or ".." in bucket:
        raise ValueError(f"bucket name {bucket!r} is invalid: use 3-63 lower-case letters, digits, '.', '-', '_'")


class LocalFolderBackend:
    """Buckets as folders: ``<root>/<bucket>/<key>``, written atomically.

    Example:
        >>> import tempfile
        >>> root = Path(tempfile.mkdtemp())
        >>> src = root / "a.txt"; _ = src.write_text("x")
        >>> LocalFolderBackend(root / "buckets").put({"configs": {"bucket": "b1b"}}, "k/a.txt", src)
        >>> (root / "buckets/b1b/k/a.txt").read_text()
        'x'
    """

    def __init__(self, root: Path) -> None:
        self.root = root

    def put(self, store: dict[str, Any], key: str, src_path: Path) -> None:
        """Copy ``src_path`` to ``<root>/<bucket>/<key>`` via a temporary file and a rename."""
        bucket = store["configs"]["bucket"]
        dest = self.root / bucket / normalise_key(key)
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = dest.with_name(f".{dest.name}.part")
        shutil.copyfile(src_path, tmp)
        os.replace(tmp, dest)


# -- protocol-server backends ---------------------------------------------------------------

SERVERS_FILE = "store-servers.json"
"""Written by the server at start into its data dir: the running emulators (see :func:`write_servers`)."""
_KIND_OF_TYPE = {"S3": "s3", "GCS": "gcs", "AZBLOB": "azure"}
UPLOAD_CHUNK = 1 << 20


class StoreWriteError(OSError):
    """A store refused a delivery (the message is the delivery's failure reason, no secrets)."""


def write_servers(data_dir: Path, servers: dict[str, dict[str, Any]]) -> None:
    """Record the running store servers (``Emulator.describe()`` by kind) for :func:`backend_for`."""
    path = data_dir / SERVERS_FILE
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(servers, handle, indent=1)
    os.replace(tmp, path)


def read_servers(data_dir: Path) -> dict[str, dict[str, Any]]:
    """The store servers this sandbox runs, by kind (``{}`` when it runs none)."""
    try:
        data = json.loads((data_dir / SERVERS_FILE).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    return data if isinstance(data, dict) else {}


def _secret(store: dict[str, Any], name: str) -> str | None:
    value = (store.get("secrets") or {}).get(name)
    return value if isinstance(value, str) and value else None


def _where(store: dict[str, Any], scheme: str, key: str) -> str:
    return f"{scheme}://{store['configs']['bucket']}/{key}"


class S3Backend:
    """Writes into moto with the store's ``access_key_id`` / ``secret_access_key``.

    The bucket is created with the server's own key when missing (it stands for the customer's
    existing bucket); the write uses only the store's secrets, so wrong ones are refused by moto.
    """

    def __init__(self, server: dict[str, Any]) -> None:
        self.endpoint = server["endpoint"]
        self.admin = server["credentials"]

    def _client(self, key_id: str, secret: str, region: str) -> Any:
        import boto3
        from botocore.config import Config

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            region_name=region or "us-east-1",
            aws_access_key_id=key_id,
            aws_secret_access_key=secret,
            config=Config(retries={"max_attempts": 2}, s3={"addressing_style": "path"}),
        )

    def put(self, store: dict[str, Any], key: str, src_path: Path) -> None:
        """Upload ``src_path`` to ``s3://<bucket>/<key>``.

        Raises:
            StoreWriteError: secrets missing, or S3 refused them.
        """
        from botocore.exceptions import BotoCoreError, ClientError

        key_id, secret = _secret(store, "access_key_id"), _secret(store, "secret_access_key")
        where = _where(store, "s3", key)
        if key_id is None or secret is None:
            raise StoreWriteError(
                f"could not write {where}: the S3 store's secrets need access_key_id and secret_access_key"
            )
        bucket = store["configs"]["bucket"]
        admin = self._client(self.admin["access_key_id"], self.admin["secret_access_key"], "us-east-1")
        try:
            admin.head_bucket(Bucket=bucket)
        except ClientError:
            admin.create_bucket(Bucket=bucket)
        client = self._client(key_id, secret, store["configs"].get("region", ""))
        try:
            with src_path.open("rb") as handle:
                client.put_object(Bucket=bucket, Key=key, Body=handle, ContentType="application/zip")
        except ClientError as exc:
            error = exc.response.get("Error", {})
            raise StoreWriteError(
                f"S3 refused the write to {where} with the store's credentials: "
                f"{error.get('Code', 'error')}: {error.get('Message', '')}".rstrip(": ")
            ) from None
        except (BotoCoreError, OSError) as exc:
            raise StoreWriteError(f"could not write {where}: {type(exc).__name__}: {exc}") from None


class GCSBackend:
    """Writes into gcp-storage-emulator (JSON API, one streamed ``uploadType=media`` request).

    The emulator checks no credentials, so the sandbox does: the store's
    ``service_account_credentials`` must be the service account the sandbox issued
    (``Sandbox.info()["stores"]["gcs"]["credentials"]``); others are refused with a 403-style
    reason, as GCS would refuse an account without access to the bucket.
    """

    def __init__(self, server: dict[str, Any]) -> None:
        self.endpoint = server["endpoint"]
        self.issued = json.loads(server["credentials"]["service_account_credentials"])

    def _check_account(self, store: dict[str, Any], where: str) -> None:
        raw = _secret(store, "service_account_credentials")
        if raw is None:
            raise StoreWriteError(
                f"could not write {where}: the GCS store's secrets need service_account_credentials "
                "(the service account's JSON key)"
            )
        try:
            account = json.loads(raw)
        except ValueError:
            raise StoreWriteError(
                f"could not write {where}: service_account_credentials is not JSON (paste the key file)"
            ) from None
        if not isinstance(account, dict):
            raise StoreWriteError(f"could not write {where}: service_account_credentials must be a JSON object")
        email = account.get("client_email")
        if email != self.issued["client_email"] or account.get("private_key_id") != self.issued["private_key_id"]:
            raise StoreWriteError(
                f"GCS refused the write to {where}: 403 Forbidden: service account {email!r} "
                "(or its key) has no storage.objects.create permission on the bucket"
            )

    def put(self, store: dict[str, Any], key: str, src_path: Path) -> None:
        """Upload ``src_path`` to ``gs://<bucket>/<key>``.

        Raises:
            StoreWriteError: the service account is not the one the bucket grants, or the
                emulator refused the upload.
        """
        import httpx

        where = _where(store, "gs", key)
        self._check_account(store, where)
        bucket = store["configs"]["bucket"]
        size = src_path.stat().st_size

        def chunks() -> Any:
            with src_path.open("rb") as handle:
                while chunk := handle.read(UPLOAD_CHUNK):
                    yield chunk

        with httpx.Client(base_url=self.endpoint, timeout=120.0) as http:
            if http.get(f"/storage/v1/b/{bucket}").status_code == 404:
                created = http.post(
                    "/storage/v1/b", params={"project": self.issued["project_id"]}, json={"name": bucket}
                )
                if created.status_code not in (200, 409):
                    raise StoreWriteError(f"could not create bucket gs://{bucket}: {created.status_code}")
            response = http.post(
                f"/upload/storage/v1/b/{bucket}/o",
                params={"uploadType": "media", "name": key},
                content=chunks(),
                headers={"Content-Length": str(size), "Content-Type": "application/zip"},
            )
        if response.status_code != 200:
            raise StoreWriteError(f"GCS refused the write to {where}: {response.status_code} {response.text[:200]}")


class AzureBackend:
    """Writes into Azurite with the store's ``connection_string`` or ``account_name`` + ``account_key``.

    The container is created with Azurite's own key when missing; the upload uses only the
    store's secrets, whose shared-key signatures Azurite checks. Azure AD service principals
    (``tenant_id`` / ``client_id`` / ``client_secret``) are not supported: Azurite has no AAD.
    """

    def __init__(self, server: dict[str, Any]) -> None:
        self.endpoint = server["endpoint"]
        self.admin = server["credentials"]

    def _service(self, account: str, account_key: str) -> Any:
        from azure.storage.blob import BlobServiceClient

        return BlobServiceClient(
            account_url=f"{self.endpoint}/{account}",
            credential={"account_name": account, "account_key": account_key},
            retry_total=1,
        )

    def _store_service(self, store: dict[str, Any], where: str) -> Any:
        from azure.storage.blob import BlobServiceClient

        connection = _secret(store, "connection_string")
        if connection is not None:
            try:
                return BlobServiceClient.from_connection_string(connection, retry_total=1)
            except ValueError as exc:
                raise StoreWriteError(f"could not write {where}: bad connection_string: {exc}") from None
        account, account_key = _secret(store, "account_name"), _secret(store, "account_key")
        if account and account_key:
            return self._service(account, account_key)
        if _secret(store, "client_secret") or _secret(store, "tenant_id"):
            raise StoreWriteError(
                f"could not write {where}: the sandbox's Azure server (Azurite) has no Azure AD; "
                "give account_name and account_key (or connection_string) in the store's secrets"
            )
        raise StoreWriteError(
            f"could not write {where}: the AZBLOB store's secrets need account_name and account_key "
            "(or connection_string)"
        )

    def put(self, store: dict[str, Any], key: str, src_path: Path) -> None:
        """Upload ``src_path`` to ``az://<container>/<key>``.

        Raises:
            StoreWriteError: secrets missing, or Azurite refused them.
        """
        from azure.core.exceptions import AzureError, HttpResponseError, ResourceExistsError

        where = _where(store, "az", key)
        container = store["configs"]["bucket"]
        admin = self._service(self.admin["account_name"], self.admin["account_key"])
        with contextlib.suppress(ResourceExistsError):
            admin.create_container(container)
        service = self._store_service(store, where)
        try:
            blob = service.get_blob_client(container, key)
            with src_path.open("rb") as handle:
                blob.upload_blob(handle, length=src_path.stat().st_size, overwrite=True, max_concurrency=2)
        except HttpResponseError as exc:
            code = getattr(exc, "error_code", None) or (exc.reason or "error")
            code = getattr(code, "value", code)  # StorageErrorCode enum -> its wire name
            raise StoreWriteError(
                f"Azure refused the write to {where} with the store's credentials: {exc.status_code} {code}"
            ) from None
        except (AzureError, ValueError) as exc:
            raise StoreWriteError(f"could not write {where}: {type(exc).__name__}: {exc}") from None


def backend_for(store: dict[str, Any], data_dir: Path) -> StoreBackend:
    """Return the backend that writes into ``store``.

    A store whose type has a running protocol server (``--stores``) writes there; any other
    lands in the local folder ``<data_dir>/buckets``.

    Example:
        >>> backend_for({"type": "S3", "configs": {"bucket": "b1b"}}, Path("/tmp/none"))  # doctest: +ELLIPSIS
        <...LocalFolderBackend object at ...>
    """
    server = read_servers(data_dir).get(_KIND_OF_TYPE.get(str(store.get("type", "")).upper(), ""))
    if server is None:
        return LocalFolderBackend(data_dir / "buckets")
    kind = server["kind"]
    if kind == "s3":
        return S3Backend(server)
    if kind == "gcs":
        return GCSBackend(server)
    return AzureBackend(server)
