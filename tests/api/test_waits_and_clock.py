"""Waits written once (one rule for reporting a change), and operations that take the time from their driver."""

from __future__ import annotations

import ast
import asyncio
from pathlib import Path

import httpx
import pytest

import pixxel_geo as px
from pixxel_geo.api import _steps
from pixxel_geo.api.clock import Clock

from .conftest import FakeClock

API = Path(px.__file__).parent / "api"


def _changes(events: list[px.Event]) -> list[tuple[str | None, str]]:
    return [(e.previous, e.status) for e in events if isinstance(e, px.StateChanged)]


def _answers(*statuses: str):
    queue = list(statuses)

    def next_status() -> str:
        return queue.pop(0) if len(queue) > 1 else queue[0]

    return next_status


def test_delivery_and_download_waits_report_the_same_changes(make_client, clock):
    """A change is a new canonical status, or a new raw text of an unknown one; a new spelling is none."""
    raws = ("created", "CREATED", "in_progress", "ARCHIVING", "ARCHIVING", "EXPIRING", "in-progress", "success")
    expected = [
        (None, "CREATED"),
        ("CREATED", "IN_PROGRESS"),
        ("IN_PROGRESS", "UNKNOWN('ARCHIVING')"),
        ("UNKNOWN('ARCHIVING')", "UNKNOWN('EXPIRING')"),
        ("UNKNOWN('EXPIRING')", "IN_PROGRESS"),
        ("IN_PROGRESS", "SUCCESS"),
    ]
    delivery_status = _answers(*raws)
    client, _ = make_client(
        lambda r: httpx.Response(
            200, json={"deliveries": [{"delivery_id": "d1", "catalog_id": "c1", "status": delivery_status()}]}
        )
    )
    events: list[px.Event] = []
    client.deliveries.wait("d1", timeout=60, on_event=events.append)
    assert _changes(events) == expected

    download_status = _answers(*raws)

    def download(request: httpx.Request) -> httpx.Response:
        status = download_status()
        url = {"signed_url": "https://files.test/a.zip?sig=1"} if status == "success" else {}
        return httpx.Response(200, json={"id": "dl", "status": status, **url})

    client, _ = make_client(download)
    events = []
    client.downloads.wait("dl", timeout=60, on_event=events.append)
    assert _changes(events) == expected
    assert all(1_700_000_000 <= e.at <= clock.wall() for e in events)  # dated on the client's (fake) clock
    assert isinstance(events[0], px.Started) and isinstance(events[-1], px.Finished)


def test_wait_sleeps_on_the_clients_clock_and_clips_the_last_gap(make_client, clock):
    schedule = px.PollSchedule(first=4, factor=1, cap=4, jitter=0)
    client, rec = make_client(
        lambda r: httpx.Response(200, json={"id": "dl", "status": "in_progress"}), poll_schedule=schedule
    )
    with pytest.raises(px.WaitTimeoutError):
        client.downloads.wait("dl", timeout=10)
    assert clock.sleeps == [4, 4, 2]  # the last gap clipped to the deadline, then one last poll
    assert len(rec.requests) == 4


def test_async_client_runs_on_its_clock(make_async_client, clock):
    answers = iter([httpx.Response(503, headers={"Retry-After": "7"}), httpx.Response(200, json={"stores": []})])
    client, rec = make_async_client(
        lambda r: next(answers), retry=px.RetryPolicy(max_attempts=3, backoff_base=0.0, backoff_cap=60)
    )

    async def main() -> list[px.Store]:
        async with client:
            return await client.stores.list()

    assert asyncio.run(main()) == [] and clock.sleeps == [7.0] and len(rec.requests) == 2


def test_a_clock_must_be_a_clock():
    with pytest.raises(px.ConfigurationError, match="clock must be"):
        px.Client(api_key="k", base_url="http://127.0.0.1:9", clock=lambda: 0.0)  # type: ignore[arg-type]
    with px.Client(api_key="k", base_url="http://127.0.0.1:9", clock=FakeClock()) as client:
        assert isinstance(client._clock, Clock)


def test_operations_never_read_the_clock_themselves():
    """Only the clock module reads time: the operations ask the driver with a ``Now`` step."""
    readers = []
    for path in sorted(API.glob("*.py")):
        if path.name == "clock.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Name)
                and node.value.id in {"time", "_time"}
                and node.attr in {"monotonic", "time", "perf_counter", "sleep"}
            ):
                readers.append(f"{path.name}:{node.lineno} time.{node.attr}")
    allowed = {"retry.py", "events.py"}  # parse_retry_after(now=None) and Event.at, for direct callers
    assert [r for r in readers if r.split(":")[0] not in allowed] == []
    assert _steps.NOW != _steps.WALL


def test_both_drivers_refuse_to_run_a_paging_operation_and_return_results(make_client, make_async_client):
    page = {"catalogs": [{"id": "c1"}], "pagination": {"total": 1}}
    client, _ = make_client(lambda r: httpx.Response(200, json=page))
    with pytest.raises(TypeError, match="iterated"):
        client._run(client.catalogs._ops.search(None, None))
    assert client._run(client.request("GET", "/ping", authenticated=False)) == page
    aclient, _ = make_async_client(lambda r: httpx.Response(200, json=page))

    async def main() -> None:
        async with aclient:
            with pytest.raises(TypeError, match="iterated"):
                await aclient._run(aclient.catalogs._ops.search(None, None))
            assert [c.id async for c in aclient.catalogs.search()] == ["c1"]

    asyncio.run(main())
