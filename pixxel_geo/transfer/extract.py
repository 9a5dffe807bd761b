"""Safe extraction of product archives: no zip-slip, no links, no zip bombs.

Everything is checked before a byte is written: member paths (absolute,
drive letters, ``..``), member types (symlinks and other special files, from
the zip's Unix mode bits), and the declared sizes (compression ratio of
deflated members, a total cap, the free space at the destination). Members
are written into a temporary folder inside the destination's parent and the
folder is moved into place in one rename, so a failed extraction leaves
nothing half-written where the result should be.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import stat
import tempfile
import zipfile
from pathlib import Path, PurePosixPath

from pixxel_geo.api.errors import IntegrityError, TransferError, UnsafeArchiveError

__all__ = ["DEFAULT_MAX_RATIO", "DEFAULT_MAX_TOTAL", "check_archive", "extracted_files", "safe_extract"]

logger = logging.getLogger(__name__)

DEFAULT_MAX_RATIO = 200
"""Largest accepted uncompressed/compressed ratio for a compressed member."""
DEFAULT_MAX_TOTAL = 256 << 30
"""Largest accepted total uncompressed size (256 GiB)."""
_MIN_RATIO_CHECK = 1 << 20  # tiny members may compress extremely well; ignore below 1 MiB
_COPY_CHUNK = 1 << 20


def _member_problem(info: zipfile.ZipInfo) -> str | None:
    name = info.filename
    if "\x00" in name:
        return "has a NUL byte in its name"
    normalised = name.replace("\\", "/")
    if normalised.startswith("/") or (len(normalised) > 1 and normalised[1] == ":"):
        return "has an absolute path"
    if ".." in PurePosixPath(normalised).parts:
        return "has '..' in its path (zip-slip)"
    kind = stat.S_IFMT(info.external_attr >> 16)  # 0 when the zip records no Unix type
    if kind == stat.S_IFLNK:
        return "is a symbolic link"
    if kind not in (0, stat.S_IFREG, stat.S_IFDIR):
        return "is a special file (device, fifo or socket)"
    return None


def check_archive(
    archive: zipfile.ZipFile,
    dest_parent: Path,
    *,
    max_ratio: float = DEFAULT_MAX_RATIO,
    max_total: int = DEFAULT_MAX_TOTAL,
) -> int:
    """Refuse an archive that is unsafe to extract; return its total uncompressed size.

    Args:
        archive: an open zip file.
        dest_parent: an existing folder on the file system that will receive it
            (for the free-space check).
        max_ratio: largest uncompressed/compressed ratio for compressed members.
        max_total: largest total uncompressed size in bytes.

    Returns:
        The declared total uncompressed size.

    Raises:
        UnsafeArchiveError: naming the first offending member and why.

    Example:
        >>> with zipfile.ZipFile("scene.zip") as z:  # doctest: +SKIP
        ...     check_archive(z, Path("."))
    """
    total = 0
    free = shutil.disk_usage(dest_parent).free
    for info in archive.infolist():
        problem = _member_problem(info)
        compressed = info.compress_type != zipfile.ZIP_STORED
        if (
            problem is None
            and compressed
            and info.file_size > _MIN_RATIO_CHECK
            and info.file_size > max_ratio * max(info.compress_size, 1)
        ):
            problem = (
                f"would expand {info.compress_size} bytes to {info.file_size} (more than {max_ratio:g}x: a zip bomb?)"
            )
        total += info.file_size
        if problem is None and total > max_total:
            problem = f"brings the total size to {total} bytes, over the {max_total}-byte cap"
        if problem is None and total > free:
            problem = f"brings the total size to {total} bytes, more than the {free} bytes free in {dest_parent}"
        if problem is not None:
            raise UnsafeArchiveError(
                f"Refusing to extract {archive.filename}: member {info.filename!r} {problem}. Nothing was extracted.",
                path=str(archive.filename),
            )
    return total


def safe_extract(
    archive_path: str | os.PathLike[str],
    target: str | os.PathLike[str],
    *,
    overwrite: bool = False,
    max_ratio: float = DEFAULT_MAX_RATIO,
    max_total: int = DEFAULT_MAX_TOTAL,
) -> list[Path]:
    """Extract a zip into the folder ``target``, refusing anything unsafe.

    Args:
        archive_path: the zip file.
        target: the folder to create with the archive's members.
        overwrite: replace ``target`` if it exists (otherwise that is an error).
        max_ratio: see :func:`check_archive`.
        max_total: see :func:`check_archive`.

    Returns:
        The extracted files (not folders), sorted.

    Raises:
        UnsafeArchiveError: the archive was refused (nothing is written).
        IntegrityError: the archive is corrupt (bad zip, CRC or size mismatch).
        TransferError: ``target`` exists and ``overwrite`` is false.

    Example:
        >>> safe_extract("pixxel-abc.zip", "pixxel-abc")  # doctest: +SKIP
        [PosixPath('pixxel-abc/abc.tif'), ...]
    """
    archive_path = Path(archive_path)
    target = Path(target)
    if target.exists() and not overwrite:
        raise TransferError(
            f"{target} already exists: pass overwrite=True (CLI: --overwrite) to replace it.",
            path=str(target),
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        with zipfile.ZipFile(archive_path) as archive:
            check_archive(archive, target.parent, max_ratio=max_ratio, max_total=max_total)
            staging = Path(tempfile.mkdtemp(prefix=".pixxel-extract-", dir=target.parent))
            try:
                for info in archive.infolist():
                    _extract_member(archive, info, staging)
                _move_into_place(staging, target)
            except BaseException:
                shutil.rmtree(staging, ignore_errors=True)
                raise
    except zipfile.BadZipFile as exc:
        raise IntegrityError(
            f"{archive_path} is not a valid zip archive ({exc}): download it again (overwrite=True).",
            path=str(archive_path),
        ) from exc
    return extracted_files(target)


def holds_archive(folder: Path, archive_path: Path) -> bool:
    """Whether ``folder`` holds every file of the zip at ``archive_path``, each of its declared size.

    Reads only the archive's central directory: a cheap check that an earlier
    extraction came from this archive and was not altered since.

    Example:
        >>> holds_archive(Path("pixxel-abc"), Path("pixxel-abc.zip"))  # doctest: +SKIP
        True
    """
    try:
        with zipfile.ZipFile(archive_path) as archive:
            infos = [info for info in archive.infolist() if not info.is_dir()]
    except (OSError, zipfile.BadZipFile):
        return False
    for info in infos:
        member = _member_path(folder, info)
        try:
            if member.stat().st_size != info.file_size:
                return False
        except OSError:
            return False
    return True


def extracted_files(folder: Path) -> list[Path]:
    """The files (not folders) under an extracted ``folder``, sorted."""
    return sorted(p for p in folder.rglob("*") if p.is_file())


def _member_path(folder: Path, info: zipfile.ZipInfo) -> Path:
    """Where member ``info`` goes under ``folder`` (backslashes read as separators; names already checked)."""
    return folder.joinpath(*PurePosixPath(info.filename.replace("\\", "/")).parts)


def _extract_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, staging: Path) -> None:
    destination = _member_path(staging, info)
    if info.is_dir():
        destination.mkdir(parents=True, exist_ok=True)
        return
    destination.parent.mkdir(parents=True, exist_ok=True)
    written = 0
    with archive.open(info) as source, open(destination, "xb") as sink:
        while chunk := source.read(_COPY_CHUNK):
            written += len(chunk)
            if written > info.file_size:  # zipfile enforces this too; belt and braces
                raise UnsafeArchiveError(
                    f"Refusing {archive.filename}: member {info.filename!r} is larger than it declares.",
                    path=str(archive.filename),
                )
            sink.write(chunk)


def _move_into_place(staging: Path, target: Path) -> None:
    if not target.exists():
        os.replace(staging, target)
        return
    # os.replace cannot replace a non-empty folder: move the old one aside first.
    old = Path(tempfile.mkdtemp(prefix=".pixxel-old-", dir=target.parent))
    os.replace(target, old / "content")
    try:
        os.replace(staging, target)
    except BaseException:
        os.replace(old / "content", target)
        raise
    finally:
        with contextlib.suppress(OSError):
            shutil.rmtree(old)
