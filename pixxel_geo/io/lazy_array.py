"""The lazy array behind :func:`pixxel_geo.io.open_dataset`: windows read through a pool of
context-bound rasterio datasets.

xarray/rioxarray's own file managers open rasterio datasets on whatever thread first reads
and close them on eviction or garbage collection anywhere, which rasterio's ``opener=``
bridge does not survive (see :mod:`pixxel_geo.io.bound`). This array keeps the datasets
itself: each one is opened and closed inside its own context and used by one thread at a
time (a GDAL dataset is not thread-safe), so reads from dask's threads, other asyncio
tasks or later notebook cells are safe.

Pickles as (opener, member, shape, dtype): a dask worker process opens its own datasets.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
from xarray.backends.common import BackendArray
from xarray.core import indexing

from pixxel_geo.io.bound import ContextBoundDatasetReader, open_bound

__all__ = ["ProductArray"]


class ProductArray(BackendArray):
    """A ``(band, y, x)`` raster member read lazily by window.

    Args:
        opener: the rasterio opener for the product (picklable).
        member: the member's name.
        shape: ``(bands, height, width)``.
        dtype: the stored data type.
    """

    def __init__(self, opener: Any, member: str, shape: tuple[int, int, int], dtype: Any) -> None:
        self.opener = opener
        self.member = member
        self.shape = shape
        self.dtype = np.dtype(dtype)
        self._idle: list[ContextBoundDatasetReader] = []
        self._lock = threading.Lock()

    def __getstate__(self) -> dict[str, Any]:
        return {"opener": self.opener, "member": self.member, "shape": self.shape, "dtype": self.dtype.str}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["opener"], state["member"], tuple(state["shape"]), state["dtype"])  # type: ignore[misc]

    def __repr__(self) -> str:
        return f"ProductArray({self.member!r}, shape={self.shape}, dtype={self.dtype})"

    @contextmanager
    def _dataset(self) -> Iterator[ContextBoundDatasetReader]:
        with self._lock:
            dataset = self._idle.pop() if self._idle else None
        if dataset is None:
            dataset = open_bound(self.member, opener=self.opener, sharing=False)
        try:
            yield dataset
        except BaseException:
            dataset.close()  # a failed read may leave GDAL's state odd: do not reuse
            raise
        with self._lock:
            self._idle.append(dataset)

    def close(self) -> None:
        """Close the pooled datasets (each in its own context). Reads reopen as needed."""
        with self._lock:
            idle, self._idle = self._idle, []
        for dataset in idle:
            dataset.close()

    def __getitem__(self, key: indexing.ExplicitIndexer) -> Any:
        return indexing.explicit_indexing_adapter(key, self.shape, indexing.IndexingSupport.OUTER, self._read)

    def _read(self, key: tuple[Any, ...]) -> np.ndarray:
        picks = []
        squeeze = []
        for k, size in zip(key, self.shape, strict=True):
            if isinstance(k, slice):
                picks.append(np.arange(size)[k])
                squeeze.append(False)
            else:
                arr = np.asarray(k, dtype=np.int64)
                squeeze.append(arr.ndim == 0)
                picks.append(np.where(arr < 0, arr + size, arr).reshape(-1))
        bands, rows, cols = picks
        out_shape = tuple(len(p) for p in picks)
        if 0 in out_shape:
            data = np.zeros(out_shape, dtype=self.dtype)
        else:
            with self._dataset() as dataset:
                data = self._read_picks(dataset, bands, rows, cols)
        index = tuple(0 if s else slice(None) for s in squeeze)
        return np.asarray(data[index])

    def _read_picks(self, dataset: Any, bands: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        """``dataset[bands][:, rows][:, :, cols]`` read by window.

        A slice or a key whose picks are close together is read as one window (the
        tiles between picks are needed anyway). Scattered picks are read window by
        window, one per cluster of rows × cluster of columns, so picking the four
        corners does not download the whole raster.
        """
        from rasterio.windows import Window

        block_h, block_w = dataset.block_shapes[0]
        row_groups, col_groups = _clusters(rows, block_h), _clusters(cols, block_w)
        spanned = sum(_span(rows[g]) for g in row_groups) * sum(_span(cols[g]) for g in col_groups)
        if 2 * spanned > _span(rows) * _span(cols):
            row_groups, col_groups = [np.arange(len(rows))], [np.arange(len(cols))]
        indexes = [int(b) + 1 for b in bands]
        out = np.empty((len(bands), len(rows), len(cols)), dtype=self.dtype)
        for rg in row_groups:
            r = rows[rg]
            r0 = int(r.min())
            for cg in col_groups:
                c = cols[cg]
                c0 = int(c.min())
                window = Window(c0, r0, _span(c), _span(r))
                block = dataset.read(indexes, window=window)
                out[np.ix_(np.arange(len(bands)), rg, cg)] = block[np.ix_(np.arange(len(bands)), r - r0, c - c0)]
        return out


def _span(picks: np.ndarray) -> int:
    return int(picks.max()) - int(picks.min()) + 1


def _clusters(picks: np.ndarray, block: int) -> list[np.ndarray]:
    """Positions in ``picks`` grouped by runs of adjacent blocks (tiles) that hold a pick.

    Each group's bounding window touches only blocks that hold at least one pick.
    """
    tiles = picks // max(1, block)
    used = np.unique(tiles)
    runs = np.split(used, np.flatnonzero(np.diff(used) > 1) + 1)
    return [np.flatnonzero((tiles >= run[0]) & (tiles <= run[-1])) for run in runs]
