"""``pixxel://`` — Pixxel products as an fsspec filesystem.

Paths:

- ``pixxel://catalogs/<catalog_id>/`` lists a product's members;
  ``pixxel://catalogs/<catalog_id>/<member>`` is one member.
- ``pixxel://order-items/<order_item_id>/…`` the same for an order item's archive.
- ``pixxel://deliveries/<delivery_id>/<member>`` is a member of a delivery, read in place
  from the user's bucket (``store_options=`` reach it; see :mod:`pixxel_geo.io.stores`).

A path is taken apart and resolved by :mod:`pixxel_geo.io.resolve` (one table of path
kinds): a product path resolves through the API to a download resource (created once per
catalog per session) and its signed URL; listings come from the zip's central directory and
members are read by range. Constructor arguments are plain and picklable (fsspec rebuilds
instances from them on dask workers); the caches, pools and API clients are those of the
filesystem's :class:`~pixxel_geo.io.session.IOSession` (default: the process's).

Example:
    >>> import fsspec
    >>> fs = fsspec.filesystem("pixxel")  # doctest: +SKIP
    >>> fs.ls("pixxel://catalogs/cat_123/", detail=False)  # doctest: +SKIP
    ['catalogs/cat_123/FF01_…_00501045.tif', 'catalogs/cat_123/FF01_…_00501045.mask.tif', ...]
    >>> with fsspec.open("pixxel://catalogs/cat_123/FF01_…_00501045.hdr") as f:  # doctest: +SKIP
    ...     header = f.read().decode()
"""

from __future__ import annotations

import contextlib
import fnmatch
import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, NoReturn

from fsspec.spec import AbstractBufferedFile, AbstractFileSystem

from pixxel_geo.api.errors import InvalidInputError, PixxelError
from pixxel_geo.io.archive import ZipArchive
from pixxel_geo.io.resolve import PATH_KINDS, PixxelPath, parse_pixxel_path, path_archive, strip_protocol
from pixxel_geo.io.session import IOSession, default_session
from pixxel_geo.io.stores import STORE_OPTIONS_KEY

__all__ = ["PixxelFile", "PixxelFileSystem", "PixxelPath"]

MAX_CONCURRENT_RESOLUTIONS = 8
"""Products a glob resolves at once (each is a download resource and a central-directory read)."""


class PixxelFileSystem(AbstractFileSystem):
    """Read-only fsspec filesystem over Pixxel products (protocol ``pixxel``).

    Args:
        api_key: the API key (default: ``PIXXEL_API_KEY`` or the config file, like ``px.Client``).
        base_url: the API's base URL (default: ``PIXXEL_API_URL`` or the public API).
        session: the caches and pools to use (default: the process's session; pickles as its
            settings, so a dask worker uses its own).
        **storage_options: passed to fsspec; ``store_options={...}`` reach a delivery's bucket.
    """

    protocol = "pixxel"
    root_marker = ""
    cachable = True
    kinds: tuple[str, ...] = tuple(PATH_KINDS)
    """The top-level folders (:data:`~pixxel_geo.io.resolve.PATH_KINDS`)."""

    def __init__(
        self, api_key: str | None = None, base_url: str | None = None, session: IOSession | None = None,
        **storage_options: Any,
    ) -> None:  # fmt: skip
        super().__init__(api_key=api_key, base_url=base_url, session=session, **storage_options)
        self.api_key = api_key
        self.base_url = base_url
        self._session = session
        self._client: Any = None

    @property
    def session(self) -> IOSession:
        """The caches and pools used: the one given, else the process's default *now*.

        fsspec shares an instance among callers with the same arguments: one made without a
        session follows :func:`~pixxel_geo.io.session.set_default_session`.
        """
        return self._session if self._session is not None else default_session()

    def __reduce__(self) -> Any:
        # Rebuild from the plain arguments only: no live client crosses a pickle.
        return _rebuild, (type(self), self.storage_args, self.storage_options)

    @property
    def client(self) -> Any:
        """The ``px.Client`` this filesystem asks the API with.

        The session's client for its settings, resolved on each use (so a key set in the
        environment later is picked up).
        """
        if self._client is not None:
            return self._client
        from pixxel_geo.api.config import resolve_config

        return self.session.client(resolve_config(api_key=self.api_key, base_url=self.base_url))

    # -- paths --------------------------------------------------------------------

    @classmethod
    def _strip_protocol(cls, path: Any) -> Any:
        if isinstance(path, list):
            return [cls._strip_protocol(p) for p in path]
        return strip_protocol(path)

    def unstrip_protocol(self, name: str) -> str:
        return f"pixxel://{self._strip_protocol(name)}"

    def resolve_path(self, path: str) -> PixxelPath:
        """Take a ``pixxel://`` path apart.

        Args:
            path: e.g. ``pixxel://catalogs/<id>/<member>`` (protocol optional).

        Returns:
            The parts, as a :class:`PixxelPath`.

        Raises:
            FileNotFoundError: the top-level folder is not one this filesystem knows.

        Example:
            >>> PixxelFileSystem().resolve_path("pixxel://catalogs/c1/a.tif")
            PixxelPath(kind='catalogs', resource_id='c1', member='a.tif')
        """
        return parse_pixxel_path(path, self.kinds)

    def archive(self, path: str | PixxelPath) -> ZipArchive:
        """The product archive a path points into (shared per session).

        Raises:
            IsADirectoryError: the path is a folder of products.
        """
        resolved = path if isinstance(path, PixxelPath) else self.resolve_path(path)
        store_options = (self.storage_options or {}).get(STORE_OPTIONS_KEY)
        return path_archive(resolved, self.client, store_options=store_options, session=self.session)

    # -- listing ------------------------------------------------------------------

    def _member_entries(self, resolved: PixxelPath) -> list[dict[str, Any]]:
        archive = self.archive(resolved)
        root = resolved.product_root
        prefix = (resolved.member or "").rstrip("/")
        prefix = prefix + "/" if prefix else ""
        entries: dict[str, dict[str, Any]] = {}
        for member in archive.members.values():
            if not member.name.startswith(prefix) or member.name == prefix:
                continue
            head, _, rest = member.name[len(prefix) :].partition("/")
            name = f"{root}/{prefix}{head}"
            if rest or member.is_dir:
                entries.setdefault(name, {"name": name, "size": 0, "type": "directory"})
            else:
                entries[name] = {
                    "name": name,
                    "size": member.file_size,
                    "type": "file",
                    "compressed": not member.is_stored,
                }
        if not entries and prefix:
            archive.member(prefix.rstrip("/"))  # raises MemberNotFoundError
        return sorted(entries.values(), key=lambda e: e["name"])

    def ls(self, path: str, detail: bool = True, **kwargs: Any) -> list[Any]:
        """List a folder: the top level, a product, or a folder inside a product.

        Listing ``pixxel://catalogs/`` searches the API for every catalog.
        """
        path = self._strip_protocol(path)
        cached = self.dircache.get(path) if kwargs.get("refresh") is not True else None
        if cached is None:
            resolved = self.resolve_path(path)
            if resolved.kind == "":
                cached = [{"name": k, "size": 0, "type": "directory"} for k in sorted(self.kinds)]
            elif resolved.resource_id is None:
                cached = self._list_products(resolved.kind)
            else:
                if resolved.member and self._is_file(resolved):
                    info = self.info(path)
                    return [info] if detail else [info["name"]]
                cached = self._member_entries(resolved)
            self.dircache[path] = cached
        return cached if detail else [e["name"] for e in cached]

    def _is_file(self, resolved: PixxelPath) -> bool:
        member = self.archive(resolved).members.get(resolved.member or "")
        return member is not None and not member.is_dir

    def _list_products(self, kind: str) -> list[dict[str, Any]]:
        if kind == "catalogs":
            ids = [c.id for c in self.client.catalogs.search()]
        elif kind == "order-items":
            ids = [o.id for o in self.client.order_items.list()]
        else:
            ids = []
        return [{"name": f"{kind}/{i}", "size": 0, "type": "directory"} for i in ids]

    def info(self, path: str, **kwargs: Any) -> dict[str, Any]:
        """Details of one path, answered from its parent's listing."""
        path = self._strip_protocol(path)
        resolved = self.resolve_path(path)
        if resolved.kind == "" or resolved.resource_id is None:
            return {"name": path, "size": 0, "type": "directory"}
        if resolved.member is None:
            self.archive(resolved).members  # noqa: B018  (a product that does not exist raises)
            return {"name": path, "size": 0, "type": "directory"}
        parent = self._parent(path)
        for entry in self.ls(parent, detail=True):
            if entry["name"] == path:
                return dict(entry)
        archive = self.archive(resolved)
        archive.member(resolved.member)  # raises MemberNotFoundError (a FileNotFoundError)
        raise FileNotFoundError(path)

    # -- reading ------------------------------------------------------------------

    def _open(
        self,
        path: str,
        mode: str = "rb",
        block_size: int | None = None,
        autocommit: bool = True,
        cache_options: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> Any:
        if mode != "rb":
            raise PermissionError(f"pixxel:// is read-only; cannot open {path!r} with {mode!r}")
        resolved = self.resolve_path(path)
        if resolved.member is None:
            raise IsADirectoryError(f"pixxel://{self._strip_protocol(path)} is a product folder")
        archive = self.archive(resolved)
        member = self._file_member(archive, resolved)
        if not member.is_stored:
            return archive.open(member.name)  # warns DeflatedMemberWarning
        return PixxelFile(
            self,
            self._strip_protocol(path),
            archive=archive,
            member=member.name,
            block_size=block_size if block_size is not None else 4 * 1024 * 1024,
            cache_type=kwargs.pop("cache_type", "readahead"),
            cache_options=cache_options,
            size=member.file_size,
        )

    @staticmethod
    def _file_member(archive: ZipArchive, resolved: PixxelPath) -> Any:
        """The member a path names, or :class:`IsADirectoryError` for a folder inside the product.

        Like fsspec's local filesystem: reading a folder is ``IsADirectoryError``, not "no such file".

        Raises:
            IsADirectoryError: the path is a folder of the product.
            MemberNotFoundError: nothing of that name (a ``FileNotFoundError``).
        """
        name = (resolved.member or "").strip("/")
        found = archive.members.get(name)
        is_folder = found.is_dir if found is not None else any(m.startswith(name + "/") for m in archive.members)
        if is_folder:
            raise IsADirectoryError(
                f"pixxel://{resolved.product_root}/{name} is a folder of the product: "
                "list it with ls(), or read one of its files"
            )
        return archive.member(name)

    # -- a read-only filesystem ----------------------------------------------------

    def _read_only(self, action: str, path: str) -> NoReturn:
        raise PermissionError(
            f"pixxel:// is read-only: cannot {action} pixxel://{self._strip_protocol(path)}. "
            "Download the product (px.download / pixxel-geo download) to work on a local copy."
        )

    def mkdir(self, path: str, create_parents: bool = True, **kwargs: Any) -> None:
        """Refused: pixxel:// is read-only.

        Raises:
            PermissionError: always.
        """
        self._read_only("create the folder", path)

    def makedirs(self, path: str, exist_ok: bool = False) -> None:
        """Refused: pixxel:// is read-only.

        Raises:
            PermissionError: always.
        """
        self._read_only("create the folders", path)

    def rmdir(self, path: str) -> None:
        """Refused: pixxel:// is read-only.

        Raises:
            PermissionError: always.
        """
        self._read_only("remove the folder", path)

    # -- glob ---------------------------------------------------------------------

    def glob(self, path: str, maxdepth: int | None = None, **kwargs: Any) -> Any:
        """fsspec's glob, with the products a pattern spans resolved concurrently first.

        ``glob("pixxel://catalogs/*/*_stac.json")`` lists the catalogs, then
        resolves the matching ones (a download resource and a central-directory
        read each) on up to :data:`MAX_CONCURRENT_RESOLUTIONS` threads, instead
        of one after another; the walk then answers from the listings.

        Example:
            >>> fs.glob("pixxel://catalogs/*/*_stac.json")  # doctest: +SKIP
            ['catalogs/c1/c1_stac.json', 'catalogs/c2/c2_stac.json']
        """
        self._resolve_products_of(path)
        return super().glob(path, maxdepth=maxdepth, **kwargs)

    def _resolve_products_of(self, pattern: str) -> None:
        parts = self._strip_protocol(pattern).split("/")
        if len(parts) < 2 or parts[0] not in self.kinds or not any(c in parts[1] for c in "*?["):
            return
        products = [
            entry["name"]
            for entry in self.ls(parts[0], detail=True)
            if parts[1] == "**" or fnmatch.fnmatchcase(entry["name"].rsplit("/", 1)[-1], parts[1])
        ]
        todo = [name for name in products if name not in self.dircache]
        if len(todo) < 2:
            return
        with ThreadPoolExecutor(
            max_workers=min(MAX_CONCURRENT_RESOLUTIONS, len(todo)), thread_name_prefix="pixxel-glob"
        ) as pool:
            list(pool.map(self._list_quietly, todo))

    def _list_quietly(self, product: str) -> None:
        """List a product into the cache; a failure is left for the walk to meet (and report) again."""
        with contextlib.suppress(OSError, PixxelError):
            self.ls(product, detail=True)

    def cat_file(self, path: str, start: int | None = None, end: int | None = None, **kwargs: Any) -> bytes:
        """Bytes of a member (or of ``[start, end)`` of it), read by range.

        A DEFLATED member is inflated from its start up to ``end`` only (streamed, not
        held whole in memory).
        """
        resolved = self.resolve_path(path)
        if resolved.member is None:
            raise IsADirectoryError(f"pixxel://{self._strip_protocol(path)} is a product folder")
        archive = self.archive(resolved)
        member = self._file_member(archive, resolved)
        if not member.is_stored:
            return _read_deflated(archive, member.name, [_clip(start, end, member.file_size)])[0]
        offset, size = archive.data_range(member.name)
        lo, hi = _clip(start, end, size)
        return archive.reader.read(offset + lo, offset + hi)

    def cat_ranges(
        self,
        paths: list[str],
        starts: int | list[int] | None,
        ends: int | list[int] | None,
        max_gap: int | None = None,
        on_error: str = "return",
        **kwargs: Any,
    ) -> list[Any]:
        """Several ranges of one or more members; ranges of one product are fetched in parallel.

        Ranges are cut at the member's end (an empty or past-the-end range gives ``b""``).
        The ranges of one DEFLATED member are inflated in one forward pass.
        With ``on_error="return"`` (fsspec's default) a failure is returned in place of the
        bytes of each range it affects; with ``"raise"`` it is raised.
        """
        n = len(paths)
        starts_list = starts if isinstance(starts, list) else [starts] * n
        ends_list = ends if isinstance(ends, list) else [ends] * n
        if len(starts_list) != n or len(ends_list) != n:
            raise InvalidInputError("paths, starts and ends must have the same length")
        out: list[Any] = [None] * n
        groups: dict[str, list[tuple[int, int, int]]] = {}
        archives: dict[str, ZipArchive] = {}
        deflated: dict[tuple[str, str], list[tuple[int, int, int]]] = {}
        for i, (path, start, end) in enumerate(zip(paths, starts_list, ends_list, strict=True)):
            try:
                resolved = self.resolve_path(path)
                archive = self.archive(resolved)
                member = archive.member(resolved.member or "")
                if not member.is_stored:
                    archives[archive.source.key] = archive
                    lo, hi = _clip(start, end, member.file_size)
                    deflated.setdefault((archive.source.key, member.name), []).append((i, lo, hi))
                    continue
                offset, size = archive.data_range(member.name)
                lo, hi = _clip(start, end, size)
                key = archive.source.key
                archives[key] = archive
                groups.setdefault(key, []).append((i, offset + lo, offset + hi))
            except Exception as exc:
                if on_error == "raise":
                    raise
                out[i] = exc
        for key, items in groups.items():
            _fill(out, items, archives[key].reader.read_ranges, on_error)
        for (key, name), items in deflated.items():
            _fill(out, items, functools.partial(_read_deflated, archives[key], name), on_error)
        return out


def _fill(
    out: list[Any],
    items: list[tuple[int, int, int]],
    read: Callable[[list[tuple[int, int]]], list[bytes]],
    on_error: str,
) -> None:
    """Put ``read``'s answer for each ``(index, start, end)`` at ``out[index]`` (or its error, per ``on_error``)."""
    try:
        blobs: list[Any] = read([(a, b) for _, a, b in items])
    except Exception as exc:
        if on_error == "raise":
            raise
        blobs = [exc] * len(items)
    for (i, _, _), blob in zip(items, blobs, strict=True):
        out[i] = blob


def _read_deflated(archive: ZipArchive, name: str, ranges: list[tuple[int, int]]) -> list[bytes]:
    """``[start, end)`` ranges of a DEFLATED member, inflated in one forward pass (warns once)."""
    out: list[bytes] = [b""] * len(ranges)
    with archive.open(name) as f:
        for k in sorted(range(len(ranges)), key=lambda k: ranges[k]):
            start, end = ranges[k]
            if end > start:
                f.seek(start)
                out[k] = f.read(end - start)
    return out


def _clip(start: int | None, end: int | None, size: int) -> tuple[int, int]:
    lo = 0 if start is None else (start + size if start < 0 else start)
    hi = size if end is None else (end + size if end < 0 else end)
    lo, hi = max(0, min(lo, size)), max(0, min(hi, size))
    return lo, max(lo, hi)


def _rebuild(cls: type, args: tuple[Any, ...], kwargs: dict[str, Any]) -> PixxelFileSystem:
    fs: PixxelFileSystem = cls(*args, **kwargs)
    return fs


class PixxelFile(AbstractBufferedFile):
    """A STORED product member opened through ``pixxel://``; reads go through the range reader."""

    def __init__(self, fs: PixxelFileSystem, path: str, *, archive: ZipArchive, member: str, **kwargs: Any) -> None:
        self.archive = archive
        self.member = member
        self._data_offset, _ = archive.data_range(member)
        super().__init__(fs, path, mode="rb", **kwargs)

    def _fetch_range(self, start: int, end: int) -> bytes:
        lo, hi = _clip(start, end, self.size)
        return self.archive.reader.read(self._data_offset + lo, self._data_offset + hi)
