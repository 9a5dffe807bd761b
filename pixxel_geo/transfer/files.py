"""File operations a transfer relies on: positional writes, preallocation, durable renames."""

from __future__ import annotations

import contextlib
import errno
import os
from pathlib import Path

__all__ = ["fsync_directory", "preallocate", "pwrite_all"]


def pwrite_all(fd: int, data: bytes | bytearray, offset: int) -> None:
    """Write all of ``data`` at ``offset`` (``os.pwrite`` may write less than asked)."""
    view = memoryview(data)
    while view:
        written = os.pwrite(fd, view, offset)
        if written <= 0:
            raise OSError(errno.EIO, "write made no progress")
        view = view[written:]
        offset += written


def preallocate(fd: int, size: int) -> None:
    """Reserve the whole file now, so a full disk shows up before any byte moves."""
    current = os.fstat(fd).st_size
    if current > size:
        os.ftruncate(fd, size)
    if current >= size:
        return
    try:
        os.posix_fallocate(fd, 0, size)
    except OSError as exc:
        if exc.errno not in (errno.EOPNOTSUPP, errno.ENOTSUP, errno.EINVAL, errno.ENOSYS):
            raise
        os.ftruncate(fd, size)
    except AttributeError:  # platforms without posix_fallocate
        os.ftruncate(fd, size)


def fsync_directory(folder: Path) -> None:
    """Make a rename in ``folder`` durable (best effort: not every platform can)."""
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
