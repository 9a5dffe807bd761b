"""Safe extraction of product archives: no zip-slip, no links, no zip bombs.

Everything is checked before a byte is written: member names (absolute,
drive letters, ``..``, empty or ``.``, over-long, duplicates — also those that
differ only in case — and a file that another member needs as a folder),
member types (symlinks and other special files, from the zip's Unix mode
bits), the member count, and the declared sizes (compression ratio of each
compressed member and of the archive as a whole, a total cap, the free space
at the destination). Members are written into a temporary folder
(``.pixxel-extract-<target>-*``) inside the destination's parent and the
folder is moved into place in one rename, so a failed extraction leaves
nothing half-written where the result should be.

Extractions into one target are serialised by a lock file beside it
(``.<target>.extract.lock``, between threads and processes). Whoever holds the
lock first removes the temporary folders that an extraction killed earlier
(``kill -9``, power loss) left behind for that target: a rerun converges and
leaves no orphans.
"""

from __future__ import annotations

import contextlib
import glob
import logging
import os
import re
import shutil
import stat
import tempfile
import zipfile
from pathlib import Path, PurePosixPath
from typing import Any

from pixxel_geo.api.errors import IntegrityError, TransferError, UnsafeArchiveError
from pixxel_geo.transfer.files import exclusive_lock

__all__ = [
    "DEFAULT_MAX_MEMBERS",
    "DEFAULT_MAX_RATIO",
    "DEFAULT_MAX_TOTAL",
    "check_archive",
    "extract_once",
    "extracted_files",
    "safe_extract",
]

logger = logging.getLogger(__name__)

DEFAULT_MAX_RATIO = 200
"""Largest accepted uncompressed/compressed ratio for a compressed member."""
DEFAULT_MAX_TOTAL = 256 << 30
"""Largest accepted total uncompressed size (256 GiB)."""
DEFAULT_MAX_MEMBERS = 10_000
"""Most members accepted in one archive (a Pixxel product has a few dozen)."""
_MIN_RATIO_CHECK = 1 << 20  # tiny members may compress extremely well; ignore below 1 MiB
_COPY_CHUNK = 1 << 20
_NAME_MAX = 255  # bytes in one path component (ext4, APFS, NTFS)
_PATH_MAX = 4000  # bytes in a whole destination path (Linux's PATH_MAX is 4096)
_STAGING_PREFIX = ".pixxel-extract-"
_OLD_PREFIX = ".pixxel-old-"
_MKDTEMP_SUFFIX = re.compile(r"[a-z0-9_]{8}")


def _member_problem(info: zipfile.ZipInfo) -> str | None:
    name = info.filename
    if "\x00" in name:
        return "has a NUL byte in its name"
    normalised = name.replace("\\", "/")
    if normalised.startswith("/") or (len(normalised) > 1 and normalised[1] == ":"):
        return "has an absolute path"
    parts = PurePosixPath(normalised).parts
    if ".." in parts:
        return "has '..' in its path (zip-slip)"
    if not parts:
        return "has an empty name (or only '.')"
    if any(len(part.encode("utf-8", "surrogateescape")) > _NAME_MAX for part in parts):
        return f"has a name part longer than {_NAME_MAX} bytes (no file system accepts it)"
    kind = stat.S_IFMT(info.external_attr >> 16)  # 0 when the zip records no Unix type
    if kind == stat.S_IFLNK:
        return "is a symbolic link"
    if kind not in (0, stat.S_IFREG, stat.S_IFDIR):
        return "is a special file (device, fifo or socket)"
    return None


def _refuse(archive: zipfile.ZipFile, why: str) -> UnsafeArchiveError:
    return UnsafeArchiveError(
        f"Refusing to extract {archive.filename}: {why}. Nothing was extracted.",
        path=str(archive.filename),
    )


def _check_layout(archive: zipfile.ZipFile, dest_parent: Path) -> None:
    """Refuse names that would collide once on disk: duplicates, a file used as a folder, over-long paths."""
    files: dict[tuple[str, ...], str] = {}
    folders: dict[tuple[str, ...], str] = {}
    longest = len(str(dest_parent).encode()) + 1 + 100  # the target folder's own name: up to ~100 bytes
    for info in archive.infolist():
        parts = PurePosixPath(info.filename.replace("\\", "/")).parts
        key = tuple(part.casefold() for part in parts)
        if longest + len("/".join(parts).encode("utf-8", "surrogateescape")) > _PATH_MAX:
            raise _refuse(archive, f"member {info.filename!r} has a path too long for the file system")
        if info.is_dir():
            if key in files:
                raise _refuse(archive, f"member {info.filename!r} is a folder and also a file ({files[key]!r})")
            folders.setdefault(key, info.filename)
        else:
            if key in files:
                raise _refuse(
                    archive,
                    f"member {info.filename!r} appears twice (as {files[key]!r}; names that differ only "
                    "in case collide on many file systems)",
                )
            if key in folders:
                raise _refuse(archive, f"member {info.filename!r} is a file and also a folder ({folders[key]!r})")
            files[key] = info.filename
        for depth in range(1, len(key)):
            parent = key[:depth]
            if parent in files:
                raise _refuse(
                    archive, f"member {info.filename!r} needs {files[parent]!r} as a folder, but it is a file"
                )
            folders.setdefault(parent, "/".join(parts[:depth]) + "/")


def check_archive(
    archive: zipfile.ZipFile,
    dest_parent: Path,
    *,
    max_ratio: float = DEFAULT_MAX_RATIO,
    max_total: int = DEFAULT_MAX_TOTAL,
    max_members: int = DEFAULT_MAX_MEMBERS,
) -> int:
    """Refuse an archive that is unsafe to extract; return its total uncompressed size.

    Args:
        archive: an open zip file.
        dest_parent: an existing folder on the file system that will receive it
            (for the free-space and path-length checks).
        max_ratio: largest uncompressed/compressed ratio, for each compressed
            member over 1 MiB and for the archive as a whole (many small
            members must not slip under the per-member check).
        max_total: largest total uncompressed size in bytes.
        max_members: most members (files and folders).

    Returns:
        The declared total uncompressed size.

    Raises:
        UnsafeArchiveError: naming the first offending member (or the archive) and why.

    Example:
        >>> with zipfile.ZipFile("scene.zip") as z:  # doctest: +SKIP
        ...     check_archive(z, Path("."))
    """
    infos = archive.infolist()
    if len(infos) > max_members:
        raise _refuse(archive, f"it has {len(infos)} members, more than the {max_members} accepted")
    total = 0
    compressed_total = 0
    free = shutil.disk_usage(dest_parent).free
    for info in infos:
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
        compressed_total += info.compress_size
        if problem is None and total > max_total:
            problem = f"brings the total size to {total} bytes, over the {max_total}-byte cap"
        if problem is None and total > free:
            problem = f"brings the total size to {total} bytes, more than the {free} bytes free in {dest_parent}"
        if problem is not None:
            raise _refuse(archive, f"member {info.filename!r} {problem}")
    if total > _MIN_RATIO_CHECK and total > max_ratio * max(compressed_total, 1):
        raise _refuse(
            archive,
            f"its {len(infos)} members would expand {compressed_total} bytes to {total} "
            f"(more than {max_ratio:g}x overall: a zip bomb?)",
        )
    _check_layout(archive, dest_parent)
    return total


def safe_extract(
    archive_path: str | os.PathLike[str],
    target: str | os.PathLike[str],
    *,
    overwrite: bool = False,
    max_ratio: float = DEFAULT_MAX_RATIO,
    max_total: int = DEFAULT_MAX_TOTAL,
    max_members: int = DEFAULT_MAX_MEMBERS,
) -> list[Path]:
    """Extract a zip into the folder ``target``, refusing anything unsafe.

    Extractions into one ``target`` wait for each other (a lock file beside
    it), and leftovers of an extraction killed earlier are removed first.

    Args:
        archive_path: the zip file.
        target: the folder to create with the archive's members.
        overwrite: replace ``target`` if it exists (otherwise that is an error).
        max_ratio: see :func:`check_archive`.
        max_total: see :func:`check_archive`.
        max_members: see :func:`check_archive`.

    Returns:
        The extracted files (not folders), sorted.

    Raises:
        UnsafeArchiveError: the archive was refused (nothing is written).
        IntegrityError: the archive is corrupt (bad zip, CRC or size mismatch).
        TransferError: ``target`` exists and ``overwrite`` is false, the
            archive is missing, or the destination cannot be written.

    Example:
        >>> safe_extract("pixxel-abc.zip", "pixxel-abc")  # doctest: +SKIP
        [PosixPath('pixxel-abc/abc.tif'), ...]
    """
    return _extract(
        Path(archive_path),
        Path(target),
        overwrite=overwrite,
        reuse=False,
        limits={"max_ratio": max_ratio, "max_total": max_total, "max_members": max_members},
    )


def extract_once(archive_path: Path, target: Path, *, overwrite: bool = False) -> list[Path]:
    """Like :func:`safe_extract`, but a ``target`` that already holds this archive's files is kept.

    For several downloads of one product running at once: the first extracts,
    the others wait for it and return its files.

    Raises:
        TransferError: ``target`` exists, holds other files, and ``overwrite`` is false.
        UnsafeArchiveError, IntegrityError: as :func:`safe_extract`.

    Example:
        >>> extract_once(Path("pixxel-abc.zip"), Path("pixxel-abc"))  # doctest: +SKIP
        [PosixPath('pixxel-abc/abc.tif'), ...]
    """
    return _extract(archive_path, target, overwrite=overwrite, reuse=True, limits={})


def _extract(archive_path: Path, target: Path, *, overwrite: bool, reuse: bool, limits: dict[str, Any]) -> list[Path]:
    if not archive_path.is_file():
        raise TransferError(
            f"{archive_path} does not exist (or is not a file): give the path of a downloaded zip archive.",
            path=str(archive_path),
        )
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        with exclusive_lock(target.parent / f".{target.name}.extract.lock", wait=True):
            _remove_leftovers(target)
            if target.exists() and not overwrite:
                if reuse and target.is_dir() and holds_archive(target, archive_path):
                    return extracted_files(target)
                hint = f" and does not hold the files of {archive_path.name}" if reuse else ""
                raise TransferError(
                    f"{target} already exists{hint}: pass overwrite=True (CLI: --overwrite) to replace it, "
                    "or choose another destination.",
                    path=str(target),
                )
            _extract_locked(archive_path, target, limits)
    except OSError as exc:
        raise TransferError(
            f"Could not extract {archive_path.name} into {target}: {exc.strerror or exc}. "
            "Check that the destination is writable and has space.",
            path=str(target),
        ) from exc
    return extracted_files(target)


def _extract_locked(archive_path: Path, target: Path, limits: dict[str, Any]) -> None:
    try:
        with zipfile.ZipFile(archive_path) as archive:
            check_archive(archive, target.parent, **limits)
            staging = Path(tempfile.mkdtemp(prefix=f"{_STAGING_PREFIX}{target.name}-", dir=target.parent))
            try:
                for info in archive.infolist():
                    _extract_member(archive, info, staging)
                _move_into_place(staging, target)
            except BaseException:
                shutil.rmtree(staging, ignore_errors=True)
                raise
    except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, EOFError) as exc:
        raise IntegrityError(
            f"{archive_path} is not a valid zip archive ({exc}): download it again (overwrite=True).",
            path=str(archive_path),
        ) from exc


def _remove_leftovers(target: Path) -> None:
    """Remove what extractions into ``target`` killed earlier left behind (call with the lock held)."""
    for prefix in (_STAGING_PREFIX, _OLD_PREFIX):
        head = f"{prefix}{target.name}-"
        for leftover in target.parent.glob(f"{glob.escape(head)}*"):
            # Exactly mkdtemp's 8 random characters after the target's name: the folders of a
            # target whose name merely starts with this one's (``p-2`` for ``p``) are not ours.
            if not _MKDTEMP_SUFFIX.fullmatch(leftover.name[len(head) :]):
                continue
            if leftover.is_dir() and not leftover.is_symlink():
                logger.info("removing %s, left by an interrupted extraction", leftover)
                shutil.rmtree(leftover, ignore_errors=True)


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
    old = Path(tempfile.mkdtemp(prefix=f"{_OLD_PREFIX}{target.name}-", dir=target.parent))
    os.replace(target, old / "content")
    try:
        os.replace(staging, target)
    except BaseException:
        os.replace(old / "content", target)
        raise
    finally:
        with contextlib.suppress(OSError):
            shutil.rmtree(old)
