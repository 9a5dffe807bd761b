"""Run a transfer or an extraction and SIGKILL this very process at a chosen step.

For the kill -9 tests: ``python -m tests.reliability.killnine_child transfer <url> <path> <step>`` or
``… extract <zip> <target> <step>``. The steps are reached by wrapping the functions a step ends in:
the kill is a real ``SIGKILL`` of this process, at that exact point, from whatever thread is there.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
from pathlib import Path
from typing import Any

TRANSFER_STEPS = (
    "mid-download",
    "mid-sidecar-write",
    "after-final-flush",
    "mid-records-write",
    "after-record",
    "after-rename",
)
EXTRACT_STEPS = ("mid-extraction", "after-moving-old-aside", "after-move")


def die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def transfer(url: str, path: Path, step: str) -> None:
    from pixxel_geo.transfer import engine, state
    from pixxel_geo.transfer.state import PartLedger, VerifiedRecords

    if step in ("mid-download", "mid-sidecar-write"):
        record = PartLedger.record

        def record_then_die_half_way(self: PartLedger, index: int, written: int) -> None:
            record(self, index, written)
            assert self.identity.size is not None
            if self.done_bytes() * 2 >= self.identity.size:
                self.flush()  # progress on disk, as the background sync would have it
                die()

        PartLedger.record = record_then_die_half_way  # type: ignore[method-assign]
    if step == "mid-sidecar-write":
        write = state.write_json_atomically

        def half_write_then_die(target: Path, data: Any) -> None:
            if target.name.endswith(".part.json") and any(data.get("written", [])):
                tmp = target.with_name(f"{target.name}.tmp{os.getpid()}-{threading.get_ident()}")
                text = json.dumps(data)
                tmp.write_text(text[: len(text) // 2])
                die()
            write(target, data)

        state.write_json_atomically = half_write_then_die
    if step == "mid-records-write":
        write_records = state.write_json_atomically

        def half_write_records_then_die(target: Path, data: Any) -> None:
            if target.name == state.VERIFIED_RECORDS_NAME:
                tmp = target.with_name(f"{target.name}.tmp{os.getpid()}-{threading.get_ident()}")
                text = json.dumps(data)
                tmp.write_text(text[: len(text) // 2])
                die()
            write_records(target, data)

        state.write_json_atomically = half_write_records_then_die
    if step == "after-final-flush":
        flush = PartLedger.flush

        def flush_then_die_when_complete(self: PartLedger) -> None:
            flush(self)
            if not self.remaining():
                die()

        PartLedger.flush = flush_then_die_when_complete  # type: ignore[method-assign]
    if step == "after-record":
        add = VerifiedRecords.add

        def add_then_die(self: VerifiedRecords, *args: Any, **kwargs: Any) -> None:
            add(self, *args, **kwargs)
            die()

        VerifiedRecords.add = add_then_die  # type: ignore[method-assign]
    if step == "after-rename":
        replace = os.replace

        def replace_then_die(src: Any, dst: Any) -> None:
            replace(src, dst)
            if Path(dst) == path:
                die()

        os.replace = replace_then_die  # the engine renames with os.replace
    engine.fetch(url, path, part_size=64 * 1024, connections=4)


def extract(archive: Path, target: Path, step: str) -> None:
    from pixxel_geo.transfer import extract as module

    if step == "mid-extraction":
        member = module._extract_member
        count = [0]

        def extract_then_die(*args: Any) -> None:
            member(*args)
            count[0] += 1
            if count[0] == 3:
                die()

        module._extract_member = extract_then_die
    else:
        replace = os.replace

        def replace_then_die(src: Any, dst: Any) -> None:
            replace(src, dst)
            moved_aside = Path(dst).name == "content" and step == "after-moving-old-aside"
            if moved_aside or (Path(dst) == target and step == "after-move"):
                die()

        os.replace = replace_then_die
    module.safe_extract(archive, target, overwrite=True)


if __name__ == "__main__":
    kind, source, destination, chosen = sys.argv[1:5]
    if kind == "transfer":
        transfer(source, Path(destination), chosen)
    else:
        extract(Path(source), Path(destination), chosen)
    sys.exit(3)  # the step was never reached: the test fails on this exit code
