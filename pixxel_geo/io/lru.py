"""A small thread-safe least-recently-used mapping: every cache of ``pixxel_geo.io`` is one.

Standard library only (the QGIS plugin vendors it with the range reader).

Example:
    >>> cache = LRU(2)
    >>> cache.put("a", 1); cache.put("b", 2); cache.get("a")
    1
    >>> cache.put("c", 3)  # "b" was used least recently: dropped
    >>> sorted(cache.keys())
    ['a', 'c']
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

__all__ = ["LRU"]

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class LRU(Generic[K, V]):
    """A mapping that keeps at most ``maxsize`` entries, dropping the least recently used.

    Thread-safe. Its lock is replaced in a forked child (:meth:`after_fork`), where a lock
    held by one of the parent's threads would never be released.

    Args:
        maxsize: the most entries kept; ``None`` keeps every entry.
    """

    def __init__(self, maxsize: int | None = None) -> None:
        if maxsize is not None and maxsize < 1:
            raise ValueError(f"maxsize must be at least 1 (or None), not {maxsize}")
        self.maxsize = maxsize
        self._data: OrderedDict[K, V] = OrderedDict()
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"LRU({len(self._data)}/{self.maxsize})"

    def __len__(self) -> int:
        return len(self._data)

    def __contains__(self, key: object) -> bool:
        return key in self._data

    def get(self, key: K) -> V | None:
        """The value for ``key`` (now the most recently used), or ``None``."""
        with self._lock:
            value = self._data.get(key)
            if value is not None:
                self._data.move_to_end(key)
            return value

    def put(self, key: K, value: V) -> None:
        """Keep ``value`` for ``key``, dropping the least recently used entries beyond ``maxsize``."""
        with self._lock:
            self._data[key] = value
            self._data.move_to_end(key)
            self._trim()

    def setdefault(self, key: K, value: V) -> V:
        """The value kept for ``key``; ``value`` is kept (and returned) if there was none."""
        return self.get_or_create(key, lambda: value)

    def get_or_create(self, key: K, factory: Callable[[], V]) -> V:
        """The value for ``key``, made by ``factory()`` (under the lock: keep it cheap) if absent."""
        with self._lock:
            value = self._data.get(key)
            if value is None:
                value = self._data[key] = factory()
                self._trim()
            else:
                self._data.move_to_end(key)
            return value

    def pop(self, key: K) -> V | None:
        """Remove ``key``; its value, or ``None``."""
        with self._lock:
            return self._data.pop(key, None)

    def clear(self) -> None:
        """Remove every entry."""
        with self._lock:
            self._data.clear()

    def keys(self) -> list[K]:
        """The keys, least recently used first (a copy)."""
        with self._lock:
            return list(self._data)

    def values(self) -> list[V]:
        """The values, least recently used first (a copy)."""
        with self._lock:
            return list(self._data.values())

    def after_fork(self) -> None:
        """In a forked child: a new lock (the entries stay)."""
        self._lock = threading.Lock()

    def _trim(self) -> None:
        if self.maxsize is not None:
            while len(self._data) > self.maxsize:
                self._data.popitem(last=False)
