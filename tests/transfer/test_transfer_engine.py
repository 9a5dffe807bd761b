"""The engine against a real local HTTP server with Range support (edge cases)."""

from __future__ import annotations

import errno
import json
import os
import threading
from pathlib import Path

import pytest

from pixxel_geo.api.errors import (
    IntegrityError,
    SignedURLError,
    TransferCancelled,
    TransferError,
)
from pixxel_geo.api.events import Event, Progress, Started, StateChanged
from pixxel_geo.api.retry import RetryPolicy
from pixxel_geo.transfer import FileFinished, fetch
from pixxel_geo.transfer import parts as parts_module
from pixxel_geo.transfer.plan import plan_parts
from pixxel_geo.transfer.state import VerifiedRecords
from tests.transfer.transfer_range_server import ServerState, serve

FAST_RETRY = RetryPolicy(max_attempts=5, backoff_base=0.01, backoff_cap=0.05)


def test_parallel_ranged_download_is_complete_and_verified(
    local_file: tuple[ServerState, str], payload: bytes, tmp_path: Path
) -> None:
    state, url = local_file
    events: list[Event] = []
    out = fetch(url + "?sig=1", tmp_path / "f.bin", connections=4, part_size=100_000, on_event=events.append)
    assert out.read_bytes() == payload
    ranged = [r for r in state.log if r[1] and r[1] != "bytes=0-0"]
    assert len(ranged) == 11  # ceil(1_000_003 / 100_000)
    assert all(status == 206 for _, _, status in ranged)
    assert state.log[0] == ("GET", "bytes=0-0", 206)  # sized with a ranged GET, never HEAD
    assert not (tmp_path / "f.bin.part").exists()
    assert not (tmp_path / "f.bin.part.json").exists()
    statuses = [e.status for e in events if isinstance(e, StateChanged)]
    assert statuses == ["sizing", "downloading", "verifying"]
    assert any(isinstance(e, Started) and e.total == len(payload) for e in events)
    assert [e for e in events if isinstance(e, Progress)][-1].done == len(payload)
    finished = events[-1]
    assert isinstance(finished, FileFinished)
    assert finished.verified == "sha-256" and finished.fetched == len(payload)


def test_wrong_digest_raises_integrity_error_and_places_nothing(
    local_file: tuple[ServerState, str], payload: bytes, tmp_path: Path
) -> None:
    state, url = local_file
    flipped = bytearray(payload)
    flipped[123_456] ^= 0x01
    state.advertised = bytes(flipped)  # the server announces the digest of other bytes
    with pytest.raises(IntegrityError, match="sha-256"):
        fetch(url + "?sig=1", tmp_path / "f.bin", connections=3, part_size=64_000)
    assert list(tmp_path.iterdir()) == []  # nothing placed, corrupt partial dropped


def test_server_without_range_gets_one_stream(
    local_file: tuple[ServerState, str], payload: bytes, tmp_path: Path
) -> None:
    state, url = local_file
    state.honour_range = False
    out = fetch(url + "?sig=1", tmp_path / "f.bin", connections=4, part_size=100_000)
    assert out.read_bytes() == payload
    assert [status for _, _, status in state.log] == [200, 200]  # probe, then one stream


def test_5xx_on_ranged_requests_are_retried(
    local_file: tuple[ServerState, str], payload: bytes, tmp_path: Path
) -> None:
    state, url = local_file
    state.fail_ranged = 4
    out = fetch(url + "?sig=1", tmp_path / "f.bin", part_size=200_000, retry=FAST_RETRY)
    assert out.read_bytes() == payload
    assert sum(1 for r in state.log if r[2] == 503) == 4


def test_403_renews_the_url_once_for_all_threads(
    local_file: tuple[ServerState, str], payload: bytes, tmp_path: Path
) -> None:
    state, url = local_file
    calls: list[int] = []

    def refresh() -> str:
        calls.append(1)
        state.valid_sig = "2"
        return url + "?sig=2"

    state.valid_sig = "2"  # the URL we start with has already expired
    events: list[Event] = []
    out = fetch(
        url + "?sig=1",
        tmp_path / "f.bin",
        connections=4,
        part_size=100_000,
        refresh=refresh,
        on_event=events.append,
    )
    assert out.read_bytes() == payload
    assert len(calls) == 1
    assert "sig=" not in repr(events)


def test_403_without_refresh_is_a_clear_error_without_the_query(
    local_file: tuple[ServerState, str], tmp_path: Path
) -> None:
    _, url = local_file
    with pytest.raises(SignedURLError) as caught:
        fetch(url + "?sig=expired", tmp_path / "f.bin")
    assert "sig=" not in str(caught.value)
    assert "/file.bin" in str(caught.value)


def test_a_url_refused_even_when_renewed_gives_up_after_three_renewals(
    local_file: tuple[ServerState, str], tmp_path: Path
) -> None:
    state, url = local_file
    state.valid_sig = "never"
    renewals: list[str] = []

    def refresh() -> str:
        renewals.append(f"{len(renewals) + 2}")
        return f"{url}?sig={renewals[-1]}"

    with pytest.raises(SignedURLError, match="kept refusing access") as caught:
        fetch(url + "?sig=1", tmp_path / "f.bin", refresh=refresh)
    assert renewals == ["2", "3", "4"]  # the probe's request, renewed three times, then given up
    assert [status for _, _, status in state.log] == [403] * 4
    assert "sig=" not in str(caught.value)
    assert list(tmp_path.iterdir()) == []


def test_enospc_keeps_the_part_file_and_says_so(
    local_file: tuple[ServerState, str], payload: bytes, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, url = local_file
    real_pwrite = os.pwrite
    written = [0]
    lock = threading.Lock()

    def full_disk(fd: int, data: bytes, offset: int) -> int:
        with lock:
            if written[0] >= 300_000:
                raise OSError(errno.ENOSPC, "No space left on device")
            written[0] += len(data)
        return real_pwrite(fd, data, offset)

    monkeypatch.setattr(os, "pwrite", full_disk)
    with pytest.raises(TransferError, match="No space left") as caught:
        fetch(url + "?sig=1", tmp_path / "f.bin", connections=2, part_size=100_000)
    assert "resumes" in str(caught.value)
    assert (tmp_path / "f.bin.part").exists()
    sidecar = json.loads((tmp_path / "f.bin.part.json").read_text())
    assert sidecar["done"]  # some parts were saved for resuming
    assert not (tmp_path / "f.bin").exists()

    monkeypatch.setattr(os, "pwrite", real_pwrite)
    out = fetch(url + "?sig=1", tmp_path / "f.bin", connections=2, part_size=999)
    assert out.read_bytes() == payload  # resumed with the recorded part size


def test_cancel_keeps_partial_and_resume_skips_finished_parts(
    local_file: tuple[ServerState, str], payload: bytes, tmp_path: Path
) -> None:
    state, url = local_file
    cancel = threading.Event()
    state.after_ranged = lambda served: cancel.set() if served >= 6 else None

    with pytest.raises(TransferCancelled, match="resumes"):
        fetch(
            url + "?sig=1",
            tmp_path / "f.bin",
            connections=1,
            part_size=50_000,
            cancel=cancel,
        )
    done = json.loads((tmp_path / "f.bin.part.json").read_text())["done"]
    assert done
    state.after_ranged = None
    state.log.clear()
    fetch(url + "?sig=1", tmp_path / "f.bin", connections=2, part_size=50_000)
    assert (tmp_path / "f.bin").read_bytes() == payload
    asked = {r[1] for r in state.log if r[1] != "bytes=0-0"}
    for index in done:
        assert f"bytes={index * 50_000}-{index * 50_000 + 49_999}" not in asked


def test_existing_verified_file_is_skipped_and_foreign_file_is_refused(
    local_file: tuple[ServerState, str], payload: bytes, tmp_path: Path
) -> None:
    state, url = local_file
    fetch(url + "?sig=1", tmp_path / "f.bin")
    state.log.clear()
    events: list[Event] = []
    fetch(url + "?sig=1", tmp_path / "f.bin", on_event=events.append)
    assert [r[1] for r in state.log] == ["bytes=0-0"]  # sized, nothing fetched
    assert isinstance(events[-1], FileFinished) and events[-1].skipped

    (tmp_path / "g.bin").write_bytes(b"someone else's file")
    with pytest.raises(TransferError, match="overwrite"):
        fetch(url + "?sig=1", tmp_path / "g.bin")
    assert (tmp_path / "g.bin").read_bytes() == b"someone else's file"
    fetch(url + "?sig=1", tmp_path / "g.bin", overwrite=True)
    assert (tmp_path / "g.bin").read_bytes() == payload


def test_changed_remote_restarts_cleanly(local_file: tuple[ServerState, str], payload: bytes, tmp_path: Path) -> None:
    state, url = local_file
    cancel = threading.Event()
    state.after_ranged = lambda served: cancel.set() if served >= 3 else None

    # leave a partial download of the old version behind
    with pytest.raises(TransferCancelled):
        fetch(
            url + "?sig=1",
            tmp_path / "f.bin",
            connections=1,
            part_size=100_000,
            cancel=cancel,
        )
    assert (tmp_path / "f.bin.part.json").exists()
    state.after_ranged = None
    state.payload = payload[::-1]  # new ETag and digest
    state.log.clear()
    out = fetch(url + "?sig=1", tmp_path / "f.bin", part_size=100_000)
    assert out.read_bytes() == payload[::-1]
    assert len([r for r in state.log if r[1] != "bytes=0-0"]) == 11  # every part fetched anew


def test_remote_changed_mid_transfer_leaves_neither_part_nor_sidecar(
    local_file: tuple[ServerState, str], payload: bytes, tmp_path: Path
) -> None:
    state, url = local_file
    state.chunk_delay = 0.002  # parts take a little while: progress recorded after the last flush

    def change_the_file(served: int) -> None:
        if served == 2:
            state.payload = payload[::-1]  # same size, new ETag: the next parts are refused

    state.after_ranged = change_the_file
    with pytest.raises(IntegrityError, match="changed during the transfer"):
        fetch(url + "?sig=1", tmp_path / "f.bin", connections=2, part_size=100_000, retry=FAST_RETRY)
    # the error path's flush and the background sync ran after the discard (fetch joins the sync
    # thread before returning): neither may leave a sidecar with no partial file beside it
    assert sorted(p.name for p in tmp_path.iterdir()) == []


@pytest.mark.parametrize("corrupt_on_disk", [False, True])
def test_cancel_mid_part_resumes_inside_the_part_and_hashes_the_kept_bytes(
    local_file: tuple[ServerState, str], payload: bytes, tmp_path: Path, corrupt_on_disk: bool
) -> None:
    state, url = local_file
    state.chunk_delay = 0.02  # ~3 MB/s: the single part is cancelled half way
    cancel = threading.Event()

    def cancel_after_some_bytes(event: Event) -> None:
        if isinstance(event, Progress) and event.done >= 100_000:
            cancel.set()

    one_part = len(payload)
    with pytest.raises(TransferCancelled):
        fetch(
            url + "?sig=1",
            tmp_path / "f.bin",
            connections=1,
            part_size=one_part,
            cancel=cancel,
            on_event=cancel_after_some_bytes,
        )
    sidecar = json.loads((tmp_path / "f.bin.part.json").read_text())
    kept = sidecar["written"][0]
    assert 100_000 <= kept < len(payload) and sidecar["done"] == []
    part_file = tmp_path / "f.bin.part"
    assert part_file.read_bytes()[:kept] == payload[:kept]
    if corrupt_on_disk:
        with open(part_file, "r+b") as handle:
            handle.seek(kept // 2)
            handle.write(bytes([payload[kept // 2] ^ 0xFF]))

    state.chunk_delay = 0.0
    state.log.clear()
    events: list[Event] = []
    if corrupt_on_disk:  # the kept bytes are hashed, not trusted
        with pytest.raises(IntegrityError, match="sha-256"):
            fetch(url + "?sig=1", tmp_path / "f.bin", part_size=one_part)
        assert not part_file.exists()
        return
    out = fetch(url + "?sig=1", tmp_path / "f.bin", part_size=one_part, on_event=events.append)
    assert out.read_bytes() == payload
    assert [r[1] for r in state.log] == ["bytes=0-0", f"bytes={kept}-{len(payload) - 1}"]
    finished = events[-1]
    assert isinstance(finished, FileFinished)
    assert finished.verified == "sha-256" and finished.fetched == len(payload) - kept


def test_default_plan_makes_few_requests_per_connection(tmp_path: Path) -> None:
    payload = os.urandom(24 << 20)
    state = ServerState(payload=payload)
    with serve(state) as url:
        out = fetch(url + "?sig=1", tmp_path / "f.bin", connections=2)
    assert out.read_bytes() == payload
    ranged = [r[1] for r in state.log if r[1] and r[1] != "bytes=0-0"]
    expected = plan_parts(len(payload), 2)
    assert len(expected) == 6  # three per connection: 3/4, 3/16, 1/16 of each share
    assert sorted(ranged) == sorted(f"bytes={start}-{end}" for start, end in expected)


@pytest.mark.parametrize(
    ("near", "fast_rate", "chunk_delay", "expected"),
    [
        (True, 1.0, 0.0, 2),  # near and fast: the first connections are enough
        (True, parts_module.FAST_LINK_RATE, 0.05, 8),  # near but slow: the rest are opened
        (False, 1.0, 0.0, 8),  # distant: all at once, no waiting
    ],
)
def test_connections_opened_follow_the_link(
    local_file: tuple[ServerState, str],
    payload: bytes,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    near: bool,
    fast_rate: float,
    chunk_delay: float,
    expected: int,
) -> None:
    state, url = local_file
    state.chunk_delay = chunk_delay
    monkeypatch.setattr(parts_module, "NEAR_ROUND_TRIP", 60.0 if near else 0.0)
    monkeypatch.setattr(parts_module, "FAST_LINK_RATE", fast_rate)
    monkeypatch.setattr(parts_module, "FAST_LINK_WINDOW", 0.5)  # long enough for the first bytes to arrive
    used: list[int] = []
    real_run = parts_module._Workers.run

    def recording_run(self: parts_module._Workers, connections: int, *, near: bool = False) -> None:
        try:
            real_run(self, connections, near=near)
        finally:
            used.append(self.started)

    monkeypatch.setattr(parts_module._Workers, "run", recording_run)
    out = fetch(url + "?sig=1", tmp_path / "f.bin", connections=8, part_size=100_000)
    assert out.read_bytes() == payload
    assert used == [expected]


def test_a_second_transfer_to_the_same_path_is_refused_while_the_first_runs(
    local_file: tuple[ServerState, str], payload: bytes, tmp_path: Path
) -> None:
    state, url = local_file
    state.chunk_delay = 0.05  # the first transfer takes a while (~0.4 s: longer than the second one's start)
    first_started = threading.Event()
    results: list[object] = []

    def first() -> None:
        def on_event(event: Event) -> None:
            if isinstance(event, Progress):
                first_started.set()

        try:
            results.append(fetch(url + "?sig=1", tmp_path / "f.bin", connections=2, on_event=on_event))
        except BaseException as exc:  # reported by the assertion below
            results.append(exc)

    thread = threading.Thread(target=first)
    thread.start()
    assert first_started.wait(30)
    with pytest.raises(TransferError, match="Another download is writing") as caught:
        fetch(url + "?sig=1", tmp_path / "f.bin", overwrite=True)
    thread.join(60)

    assert caught.value.path == str(tmp_path / "f.bin")
    assert results == [tmp_path / "f.bin"]
    assert (tmp_path / "f.bin").read_bytes() == payload
    assert sorted(p.name for p in tmp_path.iterdir()) == [".pixxel-verified.json", ".pixxel-verified.lock", "f.bin"]


def test_failing_to_record_keeps_the_complete_part_for_the_next_run(
    local_file: tuple[ServerState, str], payload: bytes, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    state, url = local_file

    def disk_full(*args: object, **kwargs: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(VerifiedRecords, "add", disk_full)
    with pytest.raises(TransferError, match="No space left"):
        fetch(url + "?sig=1", tmp_path / "f.bin", part_size=300_000)
    assert not (tmp_path / "f.bin").exists()  # nothing placed without its record
    assert (tmp_path / "f.bin.part").read_bytes() == payload

    monkeypatch.undo()
    state.log.clear()
    out = fetch(url + "?sig=1", tmp_path / "f.bin", part_size=300_000)
    assert out.read_bytes() == payload
    assert [r[1] for r in state.log] == ["bytes=0-0"]  # verified and placed from disk: no byte fetched again
    fetch(url + "?sig=1", tmp_path / "f.bin")  # and now it is a verified copy: kept, not refused


def test_cancel_does_not_wait_for_a_stalled_server(
    local_file: tuple[ServerState, str], payload: bytes, tmp_path: Path
) -> None:
    state, url = local_file
    state.chunk_delay = 120.0  # one 64 KiB piece per part, then a stall far longer than the test
    cancel = threading.Event()
    outcome: list[BaseException] = []

    def run() -> None:
        try:
            fetch(url + "?sig=1", tmp_path / "f.bin", connections=2, part_size=200_000, cancel=cancel, timeout=300)
        except BaseException as exc:
            outcome.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    while not any(r[1] and r[1] != "bytes=0-0" for r in list(state.log)):
        thread.join(0.05)
    cancel.set()
    thread.join(60)  # far below the stall: only an interrupted read lets it end

    assert not thread.is_alive()
    assert len(outcome) == 1 and isinstance(outcome[0], TransferCancelled)
    assert (tmp_path / "f.bin.part.json").exists() and not (tmp_path / "f.bin").exists()


def test_cancelling_a_stream_without_range_does_not_promise_a_resume(
    local_file: tuple[ServerState, str], tmp_path: Path
) -> None:
    state, url = local_file
    state.honour_range = False
    state.chunk_delay = 0.1  # 16 pieces of 64 KiB: the body takes 1.6 s
    cancel = threading.Event()
    state.after_ranged = None

    def cancel_once_the_body_flows() -> None:
        while not any(r[1] is None for r in list(state.log)):  # the plain GET has begun
            cancel.wait(0.01)
        cancel.set()

    canceller = threading.Thread(target=cancel_once_the_body_flows, daemon=True)
    canceller.start()
    with pytest.raises(TransferCancelled) as caught:
        fetch(url + "?sig=1", tmp_path / "f.bin", cancel=cancel)
    canceller.join(10)
    assert "resume" not in str(caught.value)
    assert not (tmp_path / "f.bin").exists()


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"timeout": -1}, "timeout must be a positive number"),
        ({"timeout": float("nan")}, "timeout must be a positive number"),
        ({"connections": "8"}, "connections must be a whole number"),
        ({"connections": 0}, "connections must be a whole number"),
        ({"part_size": 0}, "part_size must be a positive"),
        ({"path": None}, "path must be a file path"),
    ],
)
def test_bad_arguments_are_refused_before_any_request(arguments: dict, message: str, tmp_path: Path) -> None:
    """No request is sent (the URL points at a closed port: any attempt would be a NetworkError)."""
    from pixxel_geo.api.errors import InvalidInputError
    from pixxel_geo.transfer.engine import fetch

    arguments = {"path": tmp_path / "x.zip", **arguments}
    with pytest.raises(InvalidInputError, match=message):
        fetch("http://127.0.0.1:9/x.zip", **arguments)
    assert not list(tmp_path.iterdir())
