"""Helpers for the streaming tests."""

from __future__ import annotations

import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import ClassVar

from pixxel_geo.io.archive import ZipArchive
from pixxel_geo.io.filesystem import PixxelFileSystem, PixxelPath
from pixxel_geo.sandbox import Sandbox


def download_members(sb: Sandbox, catalog_id: str, out: Path) -> tuple[str, Path]:
    """Download a catalog of ``sb`` whole (one GET) and extract it into ``out``.

    Returns:
        (the download's signed URL, the extracted ``.tif``).
    """
    import httpx

    import pixxel_geo as px

    with px.Client(api_key=sb.token, base_url=sb.url) as c:
        download = c.downloads.wait(c.downloads.create(catalog_ids=[catalog_id]).id, timeout=60)
    out.mkdir(parents=True, exist_ok=True)
    zip_path = out / "product.zip"
    with httpx.stream("GET", download.signed_url) as response, zip_path.open("wb") as f:
        response.raise_for_status()
        for chunk in response.iter_bytes():
            f.write(chunk)
    with zipfile.ZipFile(zip_path) as zf:
        zf.extractall(out / "members")
    return str(download.signed_url), image_path(out / "members")


def image_path(folder: Path) -> Path:
    """The product image among extracted members: the ``.tif`` that is not the ``.mask.tif``."""
    images = [p for p in folder.rglob("*.tif") if not p.name.endswith(".mask.tif")]
    assert len(images) == 1, f"expected one image in {folder}, found {images}"
    return images[0]


def mask_path(folder: Path) -> Path:
    """The product's quality mask among extracted members."""
    return next(folder.rglob("*.mask.tif"))


class MountedFileSystem(PixxelFileSystem):
    """``pixxel://`` with test folders besides the API's: ``<kind>/<id>/…`` served by ``mounts[kind](id)``.

    For trees no product has (fsspec's scenarios, edge-case zips). The real filesystem's kinds
    are a read-only table (``pixxel_geo.io.resolve.PATH_KINDS``); tests add theirs here instead.
    """

    mounts: ClassVar[dict[str, Callable[[str], ZipArchive]]] = {}

    def archive(self, path: str | PixxelPath) -> ZipArchive:
        resolved = path if isinstance(path, PixxelPath) else self.resolve_path(path)
        mount = self.mounts.get(resolved.kind)
        if mount is not None and resolved.resource_id is not None:
            return mount(resolved.resource_id)
        return super().archive(resolved)


def mount(kind: str, archive: Callable[[str], ZipArchive]) -> None:
    """Serve ``<kind>/<id>/…`` of :class:`MountedFileSystem` from ``archive(id)``."""
    MountedFileSystem.mounts[kind] = archive
    if kind not in MountedFileSystem.kinds:
        MountedFileSystem.kinds = (*MountedFileSystem.kinds, kind)
