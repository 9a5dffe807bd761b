"""The on-disk state under concurrency: verified records and an abandoned ledger."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

from pixxel_geo.transfer.state import VERIFIED_RECORDS_NAME, PartLedger, RemoteIdentity, VerifiedRecords

IDENTITY = RemoteIdentity(10, '"e"', None)

_ADD_IN_A_PROCESS = """
import sys
from pathlib import Path
from pixxel_geo.transfer.state import RemoteIdentity, VerifiedRecords
folder, prefix, count = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])
sys.stdin.readline()  # start together
for i in range(count):
    VerifiedRecords(folder).add(folder / f"{prefix}{i}.bin", RemoteIdentity(10, None, None), verified="size")
"""


def _make_files(folder: Path, prefix: str, count: int) -> list[Path]:
    files = [folder / f"{prefix}{i}.bin" for i in range(count)]
    for file in files:
        file.write_bytes(b"0123456789")
    return files


def test_records_added_at_once_by_threads_and_processes_all_survive(tmp_path: Path) -> None:
    per_writer = 25
    thread_files = [_make_files(tmp_path, f"t{n}-", per_writer) for n in range(6)]
    process_prefixes = ["p0-", "p1-"]
    for prefix in process_prefixes:
        _make_files(tmp_path, prefix, per_writer)
    start = threading.Barrier(len(thread_files))

    def add_all(files: list[Path]) -> None:
        start.wait()
        for file in files:
            VerifiedRecords(tmp_path).add(file, IDENTITY, verified="size")

    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", _ADD_IN_A_PROCESS, str(tmp_path), prefix, str(per_writer)],
            stdin=subprocess.PIPE,
            env=env,
        )
        for prefix in process_prefixes
    ]
    threads = [threading.Thread(target=add_all, args=(files,)) for files in thread_files]
    for process in processes:
        assert process.stdin is not None
        process.stdin.write(b"go\n")
        process.stdin.close()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [process.wait(timeout=60) for process in processes] == [0, 0]

    records = VerifiedRecords(tmp_path)
    expected = [f for files in thread_files for f in files] + [
        tmp_path / f"{prefix}{i}.bin" for prefix in process_prefixes for i in range(per_writer)
    ]
    missing = [f.name for f in expected if not records.matches(f, RemoteIdentity(10, None, None))]
    assert missing == []
    assert (tmp_path / VERIFIED_RECORDS_NAME).exists()
    assert not [p for p in tmp_path.iterdir() if ".tmp" in p.name]  # no temporary file left behind


def test_an_abandoned_ledger_never_writes_its_sidecar_again(tmp_path: Path) -> None:
    sidecar = tmp_path / "f.part.json"
    fd = os.open(tmp_path / "f.part", os.O_RDWR | os.O_CREAT)
    try:
        ledger = PartLedger(sidecar, IDENTITY, parts=[(0, 4), (5, 9)], flush_interval=0.0)
        ledger.attach(fd)
        ticks = 0
        real_flush = ledger.flush

        def counting_flush() -> None:
            nonlocal ticks
            real_flush()
            ticks += 1

        ledger.flush = counting_flush  # type: ignore[method-assign]
        with ledger.syncing(writeback_interval=0.005):
            ledger.record(0, 3)
            ledger.abandon()
            sidecar.unlink(missing_ok=True)  # what discarding the partial file does
            ledger.record(1, 2)  # progress after the discard
            seen = ticks
            deadline = time.monotonic() + 30
            while ticks < seen + 2 and time.monotonic() < deadline:  # let the sync thread run its next ticks
                time.sleep(0.005)
            assert ticks >= seen + 2
        ledger.flush()  # what the error path does
    finally:
        os.close(fd)
    assert not sidecar.exists()
