"""Hashing a file written in parts, while it is written.

What the server announces about the file (``Repr-Digest``, ``x-goog-hash``, an S3 ``ETag``…)
is parsed by :mod:`pixxel_geo.ranged.digest`; this module computes the file's own digest to
compare with it.
"""

from __future__ import annotations

import os
import threading

from pixxel_geo.ranged.digest import HashObject

__all__ = ["PrefixHasher"]

_READBACK_CHUNK = 1 << 20


class PrefixHasher:
    """Hash a file written in parts, in file order, on its own thread, while it is written.

    Workers write parts concurrently and record in ``written`` (shared, one
    count per part: bytes written from the part's start) how far each got,
    then call :meth:`nudge`. The hasher thread advances over the contiguous
    prefix of written bytes, reading them back from the part file (the page
    cache serves them: they were just written) into one reused buffer. Each
    byte is hashed exactly once, and never in a second pass after the download
    unless the download outran the hash. Parts already on disk when resuming
    are hashed the same way.

    Hashing on a dedicated thread keeps the workers reading their sockets
    (``hashlib`` and ``preadv`` release the GIL, so the hash runs on another
    core) — measured faster than hashing in the workers.

    Example:
        >>> import hashlib, tempfile
        >>> with tempfile.TemporaryFile() as f:
        ...     _ = f.write(b"abcd"); f.flush()
        ...     written = [0, 2]                  # part 1 written first
        ...     h = PrefixHasher(hashlib.sha256(), f.fileno(), parts=[(0, 1), (2, 3)], written=written)
        ...     written[0] = 2; h.nudge()
        ...     h.finish() == hashlib.sha256(b"abcd").digest()
        True
    """

    def __init__(
        self,
        hash_object: HashObject,
        fd: int,
        *,
        parts: list[tuple[int, int]],
        written: list[int],
        buffer_size: int = _READBACK_CHUNK,
    ) -> None:
        self._hash = hash_object
        self._fd = fd
        self._parts = parts
        self._written = written
        self._size = parts[-1][1] + 1 if parts else 0
        self._buffer = bytearray(buffer_size)
        self._position = 0
        self._part = 0
        self._wake = threading.Event()
        self._closing = False
        self._abandoned = False
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="pixxel-hasher", daemon=True)
        self._thread.start()

    def nudge(self) -> None:
        """Tell the hasher that more bytes were written (cheap; call after each write)."""
        if not self._wake.is_set():  # set() takes a lock, and this runs once per network piece
            self._wake.set()

    def _run(self) -> None:
        try:
            while not self._abandoned:
                # Read the flag before looking at ``written``: once finish() has been called,
                # every byte is written, so a pass that starts after seeing it misses nothing.
                closing = self._closing
                self._wake.clear()
                hashed = self._catch_up()
                if closing and not hashed:
                    return
                if not hashed:
                    self._wake.wait(0.05)
        except BaseException as exc:  # reported by finish()
            self._error = exc

    def _catch_up(self) -> int:
        """Hash the contiguous written bytes from the position on; returns how many."""
        hashed = 0
        view = memoryview(self._buffer)
        while self._position < self._size:
            start, _ = self._parts[self._part]
            end = start + self._written[self._part]
            if self._position >= end:
                if self._written[self._part] == self._parts[self._part][1] - start + 1:
                    self._part += 1
                    continue
                break
            length = min(len(view), end - self._position)
            got = os.preadv(self._fd, [view[:length]], self._position)
            if got <= 0:
                raise OSError(f"part file shorter than expected at offset {self._position}")
            self._hash.update(view[:got])
            self._position += got
            hashed += got
            if self._abandoned:
                break
        return hashed

    def finish(self) -> bytes:
        """Wait until every byte is hashed (all must be written by now); return the digest.

        Raises:
            OSError: the part file could not be read back, or is incomplete.
        """
        self._closing = True
        self._wake.set()
        self._thread.join()
        if self._error is not None:
            raise self._error
        self._catch_up()  # the thread has ended: nothing left behind, whatever the timing
        if self._position != self._size:
            raise OSError(f"only {self._position} of {self._size} bytes could be hashed")
        return self._hash.digest()

    def close(self) -> None:
        """Stop hashing without a result (the transfer failed or was cancelled)."""
        self._abandoned = True
        self._closing = True
        self._wake.set()
        self._thread.join()
