"""The archive behind a download: one product's zip, or one zip holding several products.

A download for several catalogs serves a single ``catalogs.zip`` with every member of every
product, STORED (so members stay readable by range). It is built on first use and cached in
``<data_dir>/archives/``, keyed by the set of catalogs, together with its SHA-256.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import zipfile
from dataclasses import dataclass
from pathlib import Path

ZIP64_LIMIT = (1 << 31) - 1


@dataclass(frozen=True)
class Archive:
    """A file ready to serve, with its size and SHA-256 (hex)."""

    path: Path
    size: int
    sha256: str


def file_sha256(path: Path) -> str:
    """Return the SHA-256 (hex) of a file, read in chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def combined_archive(sources: list[Path], cache_dir: Path, key: str) -> Archive:
    """Return a cached zip holding every member of ``sources`` (built when missing).

    Args:
        sources: product zips, in the order their members should appear.
        cache_dir: where combined archives are kept.
        key: a name that identifies this set of sources.

    Returns:
        The archive.

    Example:
        >>> combined_archive([a_zip, b_zip], tmp, "a+b").size > 0  # doctest: +SKIP
        True
    """
    cache_dir.mkdir(parents=True, exist_ok=True)
    path = cache_dir / f"{key}.zip"
    digest_path = cache_dir / f"{key}.sha256"
    if not (path.exists() and digest_path.exists()):
        tmp = cache_dir / f".{key}.{os.getpid()}.part"
        with zipfile.ZipFile(tmp, "w", zipfile.ZIP_STORED) as out:
            for source in sources:
                with zipfile.ZipFile(source) as src:
                    for info in src.infolist():
                        entry = zipfile.ZipInfo(info.filename, date_time=info.date_time)
                        entry.compress_type = zipfile.ZIP_STORED
                        entry.file_size = info.file_size
                        with (
                            src.open(info) as reader,
                            out.open(entry, "w", force_zip64=info.file_size > ZIP64_LIMIT) as w,
                        ):
                            shutil.copyfileobj(reader, w, 1 << 20)
        digest = file_sha256(tmp)
        os.replace(tmp, path)
        digest_path.write_text(digest, encoding="ascii")
    return Archive(path, path.stat().st_size, digest_path.read_text(encoding="ascii").strip())
