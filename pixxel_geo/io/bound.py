"""rasterio datasets that open, read and close inside one ``contextvars.Context`` they own.

Why: rasterio 1.4's bridge to Python openers (``opener=``) keeps its state in two
``ContextVar`` s: the opener registry (entered by ``rasterio.open``, left by
``dataset.close()``) and the open file objects (used when GDAL closes the file).
A dataset opened in one context and closed, explicitly or by garbage collection,
in another (another asyncio task, another thread, a dask worker thread, a later
notebook cell) looks the state up where it was never set: ``LookupError`` during
close, an exception left set inside GDAL's callback (``SystemError`` later), the
plugin handler never removed, and sometimes a segfault or ``ERROR 3: I/O error``
at interpreter exit.

The fix here uses public API only: each dataset gets a fresh ``Context`` of its own;
``rasterio.open`` runs inside it, so the registration lands there; the dataset's class
becomes :class:`ContextBoundDatasetReader`, whose ``close()`` (and garbage collection,
and interpreter exit) re-enters that same context before rasterio closes. Reads need
no context: GDAL reads through the file object it was given at open.

Example:
    >>> src = open_bound("scene.tif", opener=product_opener)  # doctest: +SKIP
    >>> src.read(1)  # doctest: +SKIP
    >>> src.close()  # any thread, any task
"""

from __future__ import annotations

import atexit
import contextvars
import logging
import threading
import weakref
from collections.abc import Callable
from typing import Any, TypeVar

import rasterio
import rasterio.io

from pixxel_geo.io.gdal_options import opener_env

__all__ = ["ContextBoundDatasetReader", "open_bound"]

logger = logging.getLogger(__name__)

T = TypeVar("T")

# Marks "this thread is running inside the owning context" (a Context cannot be entered twice).
_OWNER: contextvars.ContextVar[object] = contextvars.ContextVar("pixxel_bound_owner")


class _OwnedContext:
    """A ``Context`` plus a lock: calls run inside it, one thread at a time."""

    def __init__(self) -> None:
        self.context = contextvars.Context()
        self.lock = threading.RLock()
        self.context.run(_OWNER.set, self)

    def run(self, func: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        with self.lock:
            if _OWNER.get(None) is self:  # already inside (re-entrant call from this thread)
                return func(*args, **kwargs)
            return self.context.run(func, *args, **kwargs)


_live: weakref.WeakSet[ContextBoundDatasetReader] = weakref.WeakSet()

# rasterio keeps the opener's registration (a generator, left in the registry's context) in the
# dataset's exit stack. When a dataset in a reference cycle is collected, the cyclic collector
# may finalize that generator before the dataset's ``__del__``, in whatever thread and context
# the collector happens to run: ``LookupError`` (reported as an unraisable exception). Holding
# each open dataset's stack here keeps it reachable until ``close()`` has run in its own context.
_open_stacks: dict[_OwnedContext, Any] = {}


class ContextBoundDatasetReader(rasterio.io.DatasetReader):
    """A ``rasterio.io.DatasetReader`` that closes in the context it was opened in.

    Safe to read and to close (or drop) from any thread or asyncio task. Made by
    :func:`open_bound`; it is a ``DatasetReader`` for every other purpose.
    """

    _pixxel_owner: _OwnedContext

    def close(self) -> None:
        """Close the dataset inside the context it was opened in."""
        owner = self.__dict__.get("_pixxel_owner")
        if owner is None:  # not made by open_bound
            super().close()
            return
        owner.run(super().close)
        _open_stacks.pop(owner, None)
        _live.discard(self)

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:  # never raise from a finalizer; say what went wrong
            logger.warning("closing %s during garbage collection failed", self.name, exc_info=True)


def open_bound(path: str, *, opener: Any, **kwargs: Any) -> ContextBoundDatasetReader:
    """``rasterio.open(path, opener=opener)`` inside a context owned by the dataset.

    Args:
        path: the member's path as the opener knows it.
        opener: a rasterio opener (``rasterio.abc.FileContainer`` or similar).
        **kwargs: passed to ``rasterio.open`` (read mode only).

    Returns:
        An open :class:`ContextBoundDatasetReader` (use it as a context manager).

    Raises:
        RuntimeError: rasterio returned something other than a plain ``DatasetReader``.

    Example:
        >>> with open_bound("scene.tif", opener=product_opener) as src:  # doctest: +SKIP
        ...     src.read(1)
    """
    owner = _OwnedContext()

    def open_here() -> Any:
        with opener_env():
            return rasterio.open(path, opener=opener, **kwargs)

    dataset = owner.run(open_here)
    if type(dataset) is not rasterio.io.DatasetReader:
        owner.run(dataset.close)
        raise RuntimeError(
            f"rasterio.open returned {type(dataset).__name__}, not DatasetReader; "
            "this rasterio version is not supported by pixxel_geo.io (use rasterio 1.4)"
        )
    # Same memory layout (a Python subclass adding methods only), so the class can be swapped.
    dataset.__class__ = ContextBoundDatasetReader
    dataset.__dict__["_pixxel_owner"] = owner
    _open_stacks[owner] = dataset._env
    _live.add(dataset)
    return dataset


@atexit.register
def _close_live_datasets() -> None:
    # Close what is still open while the interpreter is whole: a dataset left to GDAL's own
    # shutdown is closed after Python's objects are gone ("ERROR 3: ... I/O error").
    for dataset in list(_live):
        try:
            dataset.close()
        except Exception:
            logger.warning("closing %s at exit failed", dataset.name, exc_info=True)
