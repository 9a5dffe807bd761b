"""Helpers for the streaming tests."""

from __future__ import annotations

import zipfile
from pathlib import Path

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
