"""The sandbox's mutable state (stores, deliveries, downloads), persisted in SQLite.

The seeded workspace is rebuilt from the settings on start; only what clients create lives
here, in ``<data_dir>/state.sqlite3`` (WAL mode, ``synchronous=FULL``): one row per record,
so a change writes that record alone, never the whole state. Records are also held in memory
(dicts by id), which every read uses.

Handlers change the dicts, then ``await state.commit()``: the changed records are serialised on
the event loop (so later changes cannot race the write) and written by one writer thread, which
commits everything queued in one transaction (a group commit: 200 clients creating at once
cost a few fsyncs, not 200) and answers each waiter once its changes are durable. A handler
answers only after that, so whatever a client was told exists survives a restart — a ``kill
-9`` included.

A ``state.json`` from an earlier sandbox in the data dir is migrated on first start (then
renamed ``state.json.migrated``).
"""

from __future__ import annotations

import asyncio
import json
import logging
import queue
import sqlite3
import threading
from collections.abc import Iterable
from concurrent.futures import Future
from pathlib import Path
from typing import Any

__all__ = ["STATE_VERSION", "State", "Table"]

log = logging.getLogger(__name__)

STATE_VERSION = 1
KINDS = ("stores", "deliveries", "downloads")
_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS records (
    kind TEXT NOT NULL,
    id TEXT NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (kind, id)
) WITHOUT ROWID;
"""
Change = tuple[str, str, str | None]
"""``(kind, id, JSON body)``; a body of ``None`` deletes the record."""


class Table(dict[str, dict[str, Any]]):
    """Records of one kind by id, remembering which ids changed since the last commit.

    Setting or deleting an id marks it; a record changed in place is marked with :meth:`touch`.

    Example:
        >>> t = Table(); t["a"] = {"id": "a"}; t["a"]["x"] = 1; t.touch("a")
        >>> sorted(t.take_changed())
        ['a']
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._changed: set[str] = set()

    def __setitem__(self, key: str, value: dict[str, Any]) -> None:
        super().__setitem__(key, value)
        self._changed.add(key)

    def __delitem__(self, key: str) -> None:
        super().__delitem__(key)
        self._changed.add(key)

    def pop(self, key: str, *default: Any) -> Any:
        """Remove and return a record (marked as changed)."""
        self._changed.add(key)
        return super().pop(key, *default)

    def setdefault(self, key: str, default: Any = None) -> Any:
        """Like ``dict.setdefault`` (marks the id)."""
        self._changed.add(key)
        return super().setdefault(key, default)

    def update(self, *args: Any, **kwargs: Any) -> None:
        """Like ``dict.update`` (marks every id given)."""
        for key, value in dict(*args, **kwargs).items():
            self[key] = value

    def popitem(self) -> tuple[str, dict[str, Any]]:
        """Like ``dict.popitem`` (marks the id)."""
        key, value = super().popitem()
        self._changed.add(key)
        return key, value

    def clear(self) -> None:
        """Remove every record (all marked)."""
        self._changed.update(self)
        super().clear()

    def touch(self, key: str) -> None:
        """Mark a record changed in place, so that the next commit writes it."""
        self._changed.add(key)

    def take_changed(self) -> set[str]:
        """The ids changed since the last call (and forget them)."""
        changed, self._changed = self._changed, set()
        return changed


class State:
    """Stores, deliveries and downloads by id, kept in ``<data_dir>/state.sqlite3``.

    Records are plain dicts (internal fields included, e.g. store secrets); the API layer decides
    what to show.

    Example:
        >>> import tempfile
        >>> d = Path(tempfile.mkdtemp())
        >>> s = State(d); s.stores["a"] = {"id": "a"}; s.save(); s.close()
        >>> again = State(d); again.stores["a"]["id"]
        'a'
        >>> again.close()
    """

    def __init__(self, data_dir: Path) -> None:
        self.path = data_dir / "state.sqlite3"
        self.stores = Table()
        self.deliveries = Table()
        self.downloads = Table()
        self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        self._db_lock = threading.Lock()
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(_SCHEMA)
        self._check_version()
        self._migrate_json(data_dir / "state.json")
        for kind, record_id, body in self._db.execute("SELECT kind, id, body FROM records"):
            if kind in KINDS:
                dict.__setitem__(self._table(kind), record_id, json.loads(body))
        self._queue: queue.SimpleQueue[tuple[list[Change], Future[None]] | None] = queue.SimpleQueue()
        self._writer: threading.Thread | None = None
        self._last: Future[None] | None = None
        self._closed = False

    def _table(self, kind: str) -> Table:
        table: Table = getattr(self, kind)
        return table

    def _check_version(self) -> None:
        row = self._db.execute("SELECT value FROM meta WHERE key = 'version'").fetchone()
        if row is None:
            self._db.execute("INSERT INTO meta VALUES ('version', ?)", (str(STATE_VERSION),))
        elif row[0] != str(STATE_VERSION):
            raise ValueError(
                f"{self.path} has state version {row[0]!r}, expected {STATE_VERSION}; use a fresh data dir"
            )

    def _migrate_json(self, legacy: Path) -> None:
        """Bring the records of an earlier sandbox's ``state.json`` in (once)."""
        if not legacy.exists():
            return
        data = json.loads(legacy.read_text(encoding="utf-8"))
        if not isinstance(data, dict) or data.get("version") != STATE_VERSION:
            version = data.get("version") if isinstance(data, dict) else None
            raise ValueError(f"{legacy} has state version {version!r}, expected {STATE_VERSION}; use a fresh data dir")
        changes = [
            (kind, str(record_id), json.dumps(record))
            for kind in KINDS
            for record_id, record in (data.get(kind) or {}).items()
        ]
        self._write(changes)
        legacy.replace(legacy.with_name(legacy.name + ".migrated"))
        log.info("migrated %d records from %s into %s", len(changes), legacy, self.path)

    def _take_changes(self) -> list[Change]:
        changes: list[Change] = []
        for kind in KINDS:
            table = self._table(kind)
            for record_id in sorted(table.take_changed()):
                record = table.get(record_id)
                changes.append((kind, record_id, None if record is None else json.dumps(record)))
        return changes

    def _write(self, changes: Iterable[Change]) -> None:
        """Apply changes in one transaction (any thread)."""
        with self._db_lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                for kind, record_id, body in changes:
                    if body is None:
                        self._db.execute("DELETE FROM records WHERE kind = ? AND id = ?", (kind, record_id))
                    else:
                        self._db.execute("INSERT OR REPLACE INTO records VALUES (?, ?, ?)", (kind, record_id, body))
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def save(self) -> None:
        """Write the changed records now, on the calling thread (for code outside the event loop)."""
        changes = self._take_changes()
        if changes:
            self._write(changes)

    async def commit(self) -> None:
        """Write the changed records on the writer thread; return once they are durable.

        Raises:
            sqlite3.Error: the write failed (the server answers 500; the records stay in memory).
        """
        changes = self._take_changes()
        if changes:
            future: Future[None] = Future()
            self._ensure_writer()
            self._queue.put((changes, future))
            self._last = future
        # Without changes of its own, a caller still waits for the writes queued before: they
        # may hold its changes, taken by another caller's commit.
        if self._last is not None:
            await asyncio.wrap_future(self._last)

    def _ensure_writer(self) -> None:
        if self._writer is None:
            if self._closed:
                raise RuntimeError("the sandbox state is closed")
            self._writer = threading.Thread(target=self._write_loop, name="sandbox-state-writer", daemon=True)
            self._writer.start()

    def _write_loop(self) -> None:
        """Commit everything queued in one transaction, then tell every waiter."""
        while True:
            item = self._queue.get()
            if item is None:
                return
            batch = [item]
            stop = False
            while True:
                try:
                    more = self._queue.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    stop = True
                    break
                batch.append(more)
            try:
                self._write(change for changes, _ in batch for change in changes)
            except Exception as exc:
                for _, future in batch:
                    future.set_exception(exc)
            else:
                for _, future in batch:
                    future.set_result(None)
            if stop:
                return

    def close(self) -> None:
        """Write what is left, stop the writer thread and close the database."""
        if self._closed:
            return
        self._closed = True
        if self._writer is not None:
            self._queue.put(None)
            self._writer.join()
        self.save()
        with self._db_lock:
            self._db.close()
