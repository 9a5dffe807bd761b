"""Everything one running sandbox shares: settings, workspace, state, faults, log, secret.

Also the ticker that completes due deliveries (copying their archives into stores) and the
lookup of the archive behind a download.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio.to_thread

from pixxel_geo.sandbox import lifecycle
from pixxel_geo.sandbox.archives import Archive, combined_archive
from pixxel_geo.sandbox.faults import FaultState
from pixxel_geo.sandbox.requestlog import RequestLog
from pixxel_geo.sandbox.settings import SandboxSettings
from pixxel_geo.sandbox.signing import load_secret
from pixxel_geo.sandbox.state import State
from pixxel_geo.sandbox.stores import StoreWriteError, backend_for, object_key
from pixxel_geo.sandbox.workspace import Workspace

log = logging.getLogger(__name__)
TICK_SECONDS = 0.05


@dataclass
class Runtime:
    """The shared objects of one server (built by :func:`pixxel_geo.sandbox.app.create_app`)."""

    settings: SandboxSettings
    data_dir: Path
    token: str
    workspace: Workspace
    state: State
    faults: FaultState = field(default_factory=FaultState)
    requests: RequestLog = field(default_factory=RequestLog)
    secret: bytes = b""
    _archive_locks: dict[str, asyncio.Lock] = field(default_factory=dict)
    _pending: set[str] | None = None
    """Deliveries still to complete: the ticker looks at these only, not at every delivery ever made."""

    def __post_init__(self) -> None:
        if not self.secret:
            self.secret = load_secret(self.data_dir)

    @staticmethod
    def now() -> float:
        """The clock every lifecycle reads."""
        return time.time()

    def url_lifetime(self) -> float:
        """Seconds a signed URL handed out now stays valid."""
        override = self.faults.faults.url_lifetime
        return self.settings.url_lifetime if override is None else override

    def download_seconds(self) -> float:
        """Seconds a new download resource takes to succeed."""
        override = self.faults.faults.download_seconds
        return self.settings.download_seconds if override is None else override

    def delivery_seconds(self) -> float:
        """Seconds a new delivery takes to succeed."""
        override = self.faults.faults.delivery_seconds
        return self.settings.delivery_seconds if override is None else override

    def valid_tokens(self) -> list[str]:
        """Tokens the API accepts."""
        return [self.token, *self.faults.faults.extra_tokens]

    def watch_delivery(self, delivery_id: str) -> None:
        """Have the ticker complete a delivery just created."""
        self._pending_deliveries().add(delivery_id)

    def _pending_deliveries(self) -> set[str]:
        if self._pending is None:
            self._pending = {
                delivery_id
                for delivery_id, record in self.state.deliveries.items()
                if record.get("done_at") is None and record.get("failed_at") is None and not record.get("fail")
            }
        return self._pending

    async def advance(self) -> None:
        """Complete every delivery whose time is up: copy its archive into its store."""
        now = self.now()
        pending = self._pending_deliveries()
        for delivery_id in list(pending):
            record = self.state.deliveries.get(delivery_id)
            if record is None or record.get("done_at") is not None or record.get("failed_at") is not None:
                pending.discard(delivery_id)
                continue
            if record.get("fail"):
                pending.discard(delivery_id)  # it turns FAILED on the clock alone
                continue
            if not lifecycle.delivery_due(record, now):
                continue
            pending.discard(delivery_id)
            store = self.state.stores.get(record["store_id"])
            entry = self.workspace.catalogs.get(record["catalog_id"])
            if store is None or entry is None:
                record["failed_at"] = self.now()
                record["failure"] = "the store was deleted before the delivery completed"
            else:
                key = object_key(store, record["cloud_path"], record["target_path"])
                backend = backend_for(store, self.data_dir)
                try:
                    await anyio.to_thread.run_sync(backend.put, store, key, entry.zip_path)
                except OSError as exc:
                    log.warning("delivery %s failed: %s", record["delivery_id"], exc)
                    record["failed_at"] = self.now()
                    record["failure"] = str(exc) if isinstance(exc, StoreWriteError) else "could not write to the store"
                else:
                    record["done_at"] = self.now()
            self.state.deliveries.touch(record["delivery_id"])
            await self.state.commit()

    async def run_ticker(self) -> None:
        """Advance lifecycles forever (a background task of the server)."""
        while True:
            try:
                await self.advance()
            except Exception:  # keep ticking; the next tick retries
                log.exception("lifecycle tick failed")
            await asyncio.sleep(TICK_SECONDS)

    async def archive_for(self, download: dict[str, Any]) -> Archive:
        """Return the archive a download serves (building a combined one on first use)."""
        entries = [self.workspace.catalogs[c] for c in download["catalog_ids"]]
        if len(entries) == 1:
            entry = entries[0]
            return Archive(entry.zip_path, entry.size, entry.sha256)
        key = hashlib.sha256("+".join(sorted(download["catalog_ids"])).encode()).hexdigest()[:32]
        lock = self._archive_locks.setdefault(key, asyncio.Lock())
        async with lock:
            return await anyio.to_thread.run_sync(
                combined_archive, [e.zip_path for e in entries], self.data_dir / "archives", key
            )
