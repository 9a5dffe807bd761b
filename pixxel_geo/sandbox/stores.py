"""Where deliveries land: a small interface over bucket writes, and the local-folder backend.

A delivered object's key is ``<store path_prefix>/<cloud path>/<target_path>`` (see
:func:`object_key`); a backend writes the archive under that key in the store's bucket. Other
backends (S3 / GCS / Azure protocol servers) implement the same :class:`StoreBackend` protocol.
"""

from __future__ import annotations

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
        raise ValueError(
            f"bucket name {bucket!r} is invalid: use 3-63 lower-case letters, digits, '.', '-', '_'"
        )


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


def backend_for(store: dict[str, Any], data_dir: Path) -> StoreBackend:
    """Return the backend that writes into ``store`` (the local folder backend for now)."""
    return LocalFolderBackend(data_dir / "buckets")
