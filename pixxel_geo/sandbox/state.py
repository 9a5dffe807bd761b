"""The sandbox's mutable state (stores, deliveries, downloads), persisted to ``state.json``.

The seeded workspace is rebuilt from the settings on start; only what clients create lives
here. Each change is written atomically (temporary file, then rename), so a restart on the same
data dir sees everything created before.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

STATE_VERSION = 1


class State:
    """Stores, deliveries and downloads by id, loaded from and saved to ``<data_dir>/state.json``.

    Records are plain dicts (internal fields included, e.g. store secrets); the API layer decides
    what to show.

    Example:
        >>> import tempfile
        >>> d = Path(tempfile.mkdtemp())
        >>> s = State(d); s.stores["a"] = {"id": "a"}; s.save()
        >>> State(d).stores["a"]["id"]
        'a'
    """

    def __init__(self, data_dir: Path) -> None:
        self.path = data_dir / "state.json"
        self.stores: dict[str, dict[str, Any]] = {}
        self.deliveries: dict[str, dict[str, Any]] = {}
        self.downloads: dict[str, dict[str, Any]] = {}
        if self.path.exists():
            data = json.loads(self.path.read_text(encoding="utf-8"))
            if data.get("version") != STATE_VERSION:
                raise ValueError(
                    f"{self.path} has state version {data.get('version')!r}, expected "
                    f"{STATE_VERSION}; use a fresh data dir"
                )
            self.stores = data.get("stores", {})
            self.deliveries = data.get("deliveries", {})
            self.downloads = data.get("downloads", {})

    def save(self) -> None:
        """Write the state atomically."""
        payload = {
            "version": STATE_VERSION,
            "stores": self.stores,
            "deliveries": self.deliveries,
            "downloads": self.downloads,
        }
        tmp = self.path.with_name(f".{self.path.name}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(payload, handle, indent=1, sort_keys=True)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, self.path)
