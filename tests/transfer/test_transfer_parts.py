"""Part plans, the resume ledger (progress inside parts) and the hashing thread."""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import time
from pathlib import Path

import pytest

from pixxel_geo.transfer import state as state_module
from pixxel_geo.transfer.digest import PrefixHasher
from pixxel_geo.transfer.plan import MAX_PART_SIZE, MIN_PART_SIZE, plan_parts
from pixxel_geo.transfer.state import SIDECAR_VERSION, PartLedger, RemoteIdentity

IDENTITY = RemoteIdentity(10_000_000, '"e"', None)


@pytest.mark.parametrize(
    ("size", "connections"),
    [(1, 8), (1_000_003, 8), (567_967_909, 8), (64 << 20, 4), (5 << 20, 1), (10 << 30, 8), (12_345_678, 3)],
)
def test_plan_covers_the_file_with_few_tapering_parts(size: int, connections: int) -> None:
    parts = plan_parts(size, connections)
    assert parts[0][0] == 0 and parts[-1][1] == size - 1
    for (_, end), (start, _) in itertools.pairwise(parts):
        assert start == end + 1  # contiguous, in order
    lengths = [end - start + 1 for start, end in parts]
    assert max(lengths) <= MAX_PART_SIZE
    if size >= 8 * MIN_PART_SIZE * connections:
        assert all(length >= MIN_PART_SIZE for length in lengths[:-1])
        assert lengths[-1] < lengths[0] / 4  # small parts last: short tail, short hash lag
    if size <= MAX_PART_SIZE * connections:
        assert len(parts) <= 3 * connections  # at most three requests (round trips) per connection


def test_ledger_keeps_progress_inside_parts_across_a_reload(tmp_path: Path) -> None:
    path = tmp_path / "f.part.json"
    ledger = PartLedger(path, IDENTITY, parts=[(0, 5_999_999), (6_000_000, 9_999_999)])
    ledger.record(0, 1_234_567)
    ledger.mark_done(1)
    ledger.flush()
    again = PartLedger.load(path, IDENTITY)
    assert again is not None
    assert again.written == [1_234_567, 4_000_000]
    assert again.remaining() == [0] and again.resume_offset(0) == 1_234_567
    assert json.loads(path.read_text())["done"] == [1]
    assert PartLedger.load(path, RemoteIdentity(10_000_000, '"other"', None)) is None


def test_ledger_ignores_sidecars_of_another_version(tmp_path: Path) -> None:
    path = tmp_path / "f.part.json"
    ledger = PartLedger(path, IDENTITY, parts=[(0, 4_999_999), (5_000_000, 9_999_999)])
    ledger.mark_done(0)
    ledger.flush()
    assert PartLedger.load(path, IDENTITY) is not None
    for version in (1, SIDECAR_VERSION + 1, None):
        path.write_text(json.dumps({**json.loads(path.read_text()), "version": version}))
        assert PartLedger.load(path, IDENTITY) is None  # the download starts over


def test_ledger_rejects_progress_beyond_a_part(tmp_path: Path) -> None:
    path = tmp_path / "f.part.json"
    ledger = PartLedger(path, IDENTITY, parts=[(0, 9_999_999)])
    ledger.flush()
    data = json.loads(path.read_text())
    data["written"] = [10_000_001]
    path.write_text(json.dumps(data))
    assert PartLedger.load(path, IDENTITY) is None


def test_sidecar_never_claims_bytes_written_during_the_sync(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fd = os.open(tmp_path / "f.part", os.O_RDWR | os.O_CREAT)
    try:
        ledger = PartLedger(tmp_path / "f.part.json", IDENTITY, parts=[(0, 9_999_999)])
        ledger.attach(fd)
        ledger.record(0, 100)
        real_sync = os.fdatasync

        def sync_while_a_write_lands(descriptor: int) -> None:
            real_sync(descriptor)
            ledger.record(0, 200)  # written after the sync started: not durable yet

        monkeypatch.setattr(state_module.os, "fdatasync", sync_while_a_write_lands)
        ledger.flush()
        assert json.loads((tmp_path / "f.part.json").read_text())["written"] == [100]
    finally:
        os.close(fd)


def test_background_sync_persists_progress_without_the_workers(tmp_path: Path) -> None:
    fd = os.open(tmp_path / "f.part", os.O_RDWR | os.O_CREAT)
    try:
        ledger = PartLedger(tmp_path / "f.part.json", IDENTITY, parts=[(0, 9_999_999)], flush_interval=0.05)
        ledger.attach(fd)
        with ledger.syncing(writeback_interval=0.01):
            ledger.record(0, 4096)
            for _ in range(500):
                if (tmp_path / "f.part.json").exists():
                    break
                time.sleep(0.01)
        assert json.loads((tmp_path / "f.part.json").read_text())["written"] == [4096]
    finally:
        os.close(fd)


def test_hasher_thread_hashes_out_of_order_parts_once_in_file_order(tmp_path: Path) -> None:
    data = os.urandom(3_000_001)
    parts = [(0, 999_999), (1_000_000, 2_499_999), (2_500_000, 3_000_000)]
    with open(tmp_path / "f", "wb") as handle:
        handle.write(data)
    fd = os.open(tmp_path / "f", os.O_RDONLY)
    try:
        written = [0, 0, 0]
        hasher = PrefixHasher(hashlib.sha256(), fd, parts=parts, written=written, buffer_size=65_536)
        for index in (2, 1):  # later parts first: nothing can be hashed yet
            written[index] = parts[index][1] - parts[index][0] + 1
            hasher.nudge()
        written[0] = 500_000
        hasher.nudge()
        written[0] = 1_000_000
        assert hasher.finish() == hashlib.sha256(data).digest()
    finally:
        os.close(fd)


def test_hasher_reports_an_incomplete_file(tmp_path: Path) -> None:
    (tmp_path / "f").write_bytes(b"abcd")
    fd = os.open(tmp_path / "f", os.O_RDONLY)
    try:
        hasher = PrefixHasher(hashlib.sha256(), fd, parts=[(0, 1), (2, 3)], written=[2, 1])
        with pytest.raises(OSError, match="3 of 4"):
            hasher.finish()
        closed = PrefixHasher(hashlib.sha256(), fd, parts=[(0, 3)], written=[0])
        closed.close()  # a cancelled transfer: the thread ends without a digest
        assert not closed._thread.is_alive()
    finally:
        os.close(fd)
