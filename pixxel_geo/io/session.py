"""The one owner of ``pixxel_geo.io``'s caches and pools: :class:`IOSession`.

Everything streaming keeps between calls lives in a session: the API clients per
configuration, the download resource made for each catalog and its signed URL, the
product archives (their directories and member heads), the store filesystems, the
products' STAC items and calibrations, one HTTP connection pool and the thread pools
that fetch ranges and read tiles ahead. Readers, archives, sources and the ``pixxel://``
filesystem hold the session they were made with; by default the process's
:func:`default_session`.

A session pickles as its settings and its identity, never as its contents: a dask worker
that unpickles one gets the worker's default session (or one equivalent session per
identity), which fills its own caches. After a fork the child keeps the entries (ids and
directories are still true) and gets new locks and new pools (the parent's sockets and
threads are not its own) — in one place, :func:`_after_fork_in_child`.

Standard library and httpx only (the QGIS plugin vendors it with the range reader).

Example:
    >>> session = IOSession(IOSettings(max_archives=4))
    >>> session.archives.maxsize
    4
    >>> previous = set_default_session(session)  # e.g. a test that wants empty caches
    >>> default_session() is session
    True
    >>> set_default_session(previous) is session
    True
"""

from __future__ import annotations

import os
import threading
import uuid
import weakref
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import httpx

from pixxel_geo.io.lru import LRU

if TYPE_CHECKING:
    from pixxel_geo.api.config import ClientConfig

__all__ = ["IOSession", "IOSettings", "client_for", "default_session", "set_default_session"]


@dataclass(frozen=True)
class IOSettings:
    """How large a session's caches and pools are (plain data: it is what a session pickles as)."""

    max_archives: int = 32
    """Archives kept (least recently used dropped first): each may hold a directory, member
    heads and, while its rasters are open, read-ahead caches."""
    max_products: int = 64
    """Products whose STAC item and calibration are kept."""
    max_connections: int = 64
    """HTTP connections open at once (all products together)."""
    max_keepalive_connections: int = 32
    range_threads: int = 32
    """Threads fetching ranges (shared by every reader of the session)."""
    readahead_threads: int = 4
    """Threads fetching tiles ahead (separate: a tile fetch waits on range fetches)."""
    timeout: float = 60.0
    connect_timeout: float = 10.0


class IOSession:
    """Caches and pools shared by the readers, archives and sources made with it.

    Thread-safe; fork-safe; pickles as its settings (see the module docstring).

    Args:
        settings: sizes of the caches and pools (default: :class:`IOSettings`'s).

    Attributes:
        clients: ``ClientConfig`` → ``px.Client`` (see :meth:`client`).
        download_ids: ``(base_url, account, kind, id)`` → the download resource made for it.
        urls: a download source's key → its last signed URL (a secret: never logged).
        archives: a URL source's key → its :class:`~pixxel_geo.io.archive.ZipArchive`.
        store_filesystems: ``(kind, options digest)`` → an s3fs / gcsfs / adlfs filesystem.
        stac_items: a product's key → its STAC item.
        calibrations: a product image's key → its calibration.

    Example:
        >>> with IOSession() as session:  # doctest: +SKIP
        ...     archive_for(StaticURLSource(url), session=session).names()
    """

    def __init__(self, settings: IOSettings | None = None, *, token: str | None = None) -> None:
        self.settings = settings or IOSettings()
        self.token = token or uuid.uuid4().hex
        self.clients: LRU[ClientConfig, Any] = LRU()
        self.download_ids: LRU[tuple[str, str, str, str], str] = LRU()
        self.urls: LRU[str, str] = LRU()
        self.archives: LRU[str, Any] = LRU(self.settings.max_archives)
        self.store_filesystems: LRU[tuple[str, str], Any] = LRU()
        self.stac_items: LRU[str, dict[str, Any]] = LRU(self.settings.max_products)
        self.calibrations: LRU[str, Any] = LRU(self.settings.max_products)
        self._live_archives: weakref.WeakSet[Any] = weakref.WeakSet()
        self._key_locks: dict[Any, threading.Lock] = {}
        self._lock = threading.Lock()
        self._pools = _Pools()
        # Pools and clients are released when the session is closed, collected, or at exit.
        self._finalizer = weakref.finalize(self, _release, self.clients, self._pools)
        _sessions[self.token] = self

    def __repr__(self) -> str:
        # Stable (no counts): fsspec's instance cache tokenizes a filesystem's arguments by repr.
        return f"IOSession({self.token!r})"

    def __reduce__(self) -> tuple[Any, tuple[str, IOSettings, bool]]:
        return (_restore_session, (self.token, self.settings, self is _default))

    def __enter__(self) -> IOSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- caches -------------------------------------------------------------------

    def all_caches(self) -> list[LRU[Any, Any]]:
        """Every cache of the session."""
        return [
            self.clients, self.download_ids, self.urls, self.archives, self.store_filesystems, self.stac_items,
            self.calibrations,
        ]  # fmt: skip

    def clear(self) -> None:
        """Empty every cache (pools and open clients stay)."""
        for cache in self.all_caches():
            cache.clear()

    def key_lock(self, key: Any) -> threading.Lock:
        """One lock per ``key`` (e.g. one per catalog, so that its download is created once)."""
        with self._lock:
            return self._key_locks.setdefault(key, threading.Lock())

    def track_archive(self, archive: Any) -> None:
        """Note a live archive: a forked child resets its read-ahead (``archive._after_fork()``)."""
        self._live_archives.add(archive)

    def client(self, config: ClientConfig | None = None) -> Any:
        """The session's ``px.Client`` for ``config`` (rebuilt if it was closed).

        Args:
            config: the settings; ``None`` resolves them from the environment and config
                file *now*, so setting ``PIXXEL_API_KEY`` after a failed call takes effect.
        """
        from pixxel_geo.api.client import Client
        from pixxel_geo.api.config import resolve_config

        key = config if config is not None else resolve_config()
        with self._lock:
            client = self.clients.get(key)
            if client is None or getattr(client, "closed", False):
                client = Client.from_config(key)
                self.clients.put(key, client)
            return client

    # -- pools --------------------------------------------------------------------

    def http_client(self) -> httpx.Client:
        """The session's HTTP connection pool (range requests of every reader)."""
        with self._lock:
            if self._pools.http is None:
                s = self.settings
                self._pools.http = httpx.Client(
                    timeout=httpx.Timeout(s.timeout, connect=s.connect_timeout),
                    limits=httpx.Limits(
                        max_connections=s.max_connections, max_keepalive_connections=s.max_keepalive_connections
                    ),
                    follow_redirects=True,
                )
            return self._pools.http

    def range_executor(self) -> ThreadPoolExecutor:
        """The threads that fetch the ranges of one read in parallel."""
        with self._lock:
            if self._pools.ranges is None:
                self._pools.ranges = ThreadPoolExecutor(self.settings.range_threads, thread_name_prefix="pixxel-range")
            return self._pools.ranges

    def readahead_executor(self) -> ThreadPoolExecutor:
        """The threads that fetch tiles ahead (a tile fetch waits on range fetches, so not those)."""
        with self._lock:
            if self._pools.readahead is None:
                self._pools.readahead = ThreadPoolExecutor(
                    self.settings.readahead_threads, thread_name_prefix="pixxel-tile-ahead"
                )
            return self._pools.readahead

    def close(self) -> None:
        """Close the pools and the API clients it made (made again if the session is used after); empty the caches."""
        with self._lock:
            _release(self.clients, self._pools)
        self.clear()

    def _after_fork(self) -> None:
        # The child has only the forking thread: locks one of the parent's threads held would
        # never be released, its pools' threads and sockets are not the child's.
        self._lock = threading.Lock()
        self._key_locks = {}
        self._pools.http = self._pools.ranges = self._pools.readahead = None
        self._pools.pid = os.getpid()
        for cache in self.all_caches():
            cache.after_fork()
        self.clients.clear()  # their connections are the parent's: the child makes its own
        for archive in list(self._live_archives):
            archive._after_fork()


class _Pools:
    """A session's pools, apart from it so that its finalizer can release them."""

    def __init__(self) -> None:
        self.http: httpx.Client | None = None
        self.ranges: ThreadPoolExecutor | None = None
        self.readahead: ThreadPoolExecutor | None = None
        self.pid = os.getpid()


def _release(clients: LRU[Any, Any], pools: _Pools) -> None:
    """Close the clients and pools a session made (in the process that made them only)."""
    http, ranges, readahead = pools.http, pools.ranges, pools.readahead
    pools.http = pools.ranges = pools.readahead = None
    if pools.pid != os.getpid():
        return
    for client in clients.values():
        client.close()
    clients.clear()
    if http is not None:
        http.close()
    for pool in (ranges, readahead):
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)


_sessions: weakref.WeakValueDictionary[str, IOSession] = weakref.WeakValueDictionary()
_default: IOSession | None = None
_default_lock = threading.Lock()


def default_session() -> IOSession:
    """The process's session (made on first use).

    Example:
        >>> default_session() is default_session()
        True
    """
    global _default
    session = _default
    if session is None:
        with _default_lock:
            if _default is None:
                _default = IOSession()
            session = _default
    return session


def set_default_session(session: IOSession) -> IOSession:
    """Make ``session`` the process's default; returns the one it replaces.

    Objects made before keep the session they were made with.

    Args:
        session: the new default.

    Example:
        >>> previous = set_default_session(IOSession())
        >>> _ = set_default_session(previous)
    """
    global _default
    previous = default_session()
    with _default_lock:
        _default = session
    return previous


def client_for(config: ClientConfig | None, session: IOSession | None = None) -> Any:
    """A shared ``px.Client`` for ``config`` (the session's; default: the process's).

    Args:
        config: the settings; ``None`` resolves them from the environment *now*.
        session: whose client (default: :func:`default_session`).

    Returns:
        One client per distinct configuration (rebuilt if it was closed).

    Example:
        >>> client = client_for(None)  # doctest: +SKIP
    """
    return (session or default_session()).client(config)


def _restore_session(token: str, settings: IOSettings, was_default: bool) -> IOSession:
    """A session unpickled: the same one in its own process, else the default or an equivalent."""
    found = _sessions.get(token)
    if found is not None:
        return found
    if was_default:
        return default_session()
    return IOSession(settings, token=token)


def _after_fork_in_child() -> None:
    global _default_lock
    _default_lock = threading.Lock()
    for session in list(_sessions.values()):
        session._after_fork()


os.register_at_fork(after_in_child=_after_fork_in_child)
