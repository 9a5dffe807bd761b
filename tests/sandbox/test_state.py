"""The sandbox's state store: SQLite in WAL mode, one row per record, written off the event loop."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import threading
from pathlib import Path

import pytest

from pixxel_geo.sandbox.state import State, Table


def test_table_remembers_what_changed() -> None:
    table = Table()
    table["a"] = {"id": "a"}
    table["b"] = {"id": "b"}
    assert table.take_changed() == {"a", "b"}
    assert table.take_changed() == set()
    table["a"]["x"] = 1
    table.touch("a")
    del table["b"]
    table.pop("missing", None)
    assert table.take_changed() == {"a", "b", "missing"}


def test_records_survive_reopening_and_deletes_stick(tmp_path: Path) -> None:
    state = State(tmp_path)
    state.stores["s1"] = {"id": "s1", "name": "one"}
    state.downloads["d1"] = {"id": "d1", "catalog_ids": ["c"]}
    state.save()
    del state.stores["s1"]
    state.deliveries["v1"] = {"delivery_id": "v1", "done_at": None}
    state.save()
    state.deliveries["v1"]["done_at"] = 12.5
    state.deliveries.touch("v1")
    state.close()

    again = State(tmp_path)
    try:
        assert dict(again.stores) == {}
        assert again.downloads["d1"]["catalog_ids"] == ["c"]
        assert again.deliveries["v1"]["done_at"] == 12.5  # close() wrote what was left
    finally:
        again.close()
    with sqlite3.connect(tmp_path / "state.sqlite3") as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    db.close()


def test_a_state_json_is_migrated_once(tmp_path: Path) -> None:
    legacy = {
        "version": 1,
        "stores": {"s1": {"id": "s1", "name": "kept"}},
        "deliveries": {"v1": {"delivery_id": "v1"}},
        "downloads": {f"d{i}": {"id": f"d{i}"} for i in range(50)},
    }
    (tmp_path / "state.json").write_text(json.dumps(legacy))
    state = State(tmp_path)
    try:
        assert state.stores["s1"]["name"] == "kept"
        assert len(state.downloads) == 50 and "v1" in state.deliveries
    finally:
        state.close()
    assert not (tmp_path / "state.json").exists()
    assert (tmp_path / "state.json.migrated").exists()
    reopened = State(tmp_path)  # nothing migrated twice, nothing lost
    try:
        assert len(reopened.downloads) == 50
    finally:
        reopened.close()


def test_a_state_json_of_another_version_is_refused(tmp_path: Path) -> None:
    (tmp_path / "state.json").write_text('{"version": 999}')
    with pytest.raises(ValueError, match="state version 999"):
        State(tmp_path)


async def test_commits_are_written_off_the_event_loop_in_groups(tmp_path: Path) -> None:
    state = State(tmp_path)
    writers: list[tuple[str, int]] = []
    write = state._write

    def recording(changes: object) -> None:
        batch = list(changes)  # type: ignore[call-overload]
        writers.append((threading.current_thread().name, len(batch)))
        write(batch)

    state._write = recording  # type: ignore[method-assign]

    async def create(i: int) -> None:
        state.downloads[f"d{i}"] = {"id": f"d{i}"}
        await state.commit()

    try:
        await asyncio.gather(*(create(i) for i in range(200)))
    finally:
        state.close()
    loop_thread = threading.current_thread().name
    assert writers and all(name != loop_thread for name, _ in writers)
    assert sum(n for _, n in writers) == 200
    assert len(writers) < 200  # queued commits shared transactions
    reopened = State(tmp_path)
    try:
        assert len(reopened.downloads) == 200
    finally:
        reopened.close()
