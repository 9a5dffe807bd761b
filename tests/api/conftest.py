"""Helpers for unit tests of the core with httpx.MockTransport (no network)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import httpx
import pytest

import pixxel_geo as px
from pixxel_geo.api.clock import Clock

TOKEN = "pat_S3CR3T-token-value-0123456789"
BASE = "https://api.test.invalid"
FAST_RETRY = px.RetryPolicy(max_attempts=4, backoff_base=0.0, backoff_cap=0.0)
FAST_POLL = px.PollSchedule(first=0.001, factor=1.0, cap=0.001)
C = TypeVar("C", px.Client, px.AsyncClient)


class FakeClock(Clock):
    """A clock that moves only when the client sleeps on it (or a test moves ``now``); it records the sleeps."""

    def __init__(self) -> None:
        self.now_value = 1000.0
        self.sleeps: list[float] = []

    def now(self) -> float:
        return self.now_value

    def wall(self) -> float:
        return 1_700_000_000.0 + self.now_value

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now_value += seconds

    async def asleep(self, seconds: float) -> None:
        self.sleep(seconds)


@pytest.fixture
def clock() -> FakeClock:
    """The clock :func:`make_client`'s clients run on: no test of the core waits for real."""
    return FakeClock()


class Recorder:
    """Answers requests with a handler and records them."""

    def __init__(self, handler: Callable[[httpx.Request], httpx.Response]) -> None:
        self.handler = handler
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return self.handler(request)

    def bodies(self) -> list[Any]:
        return [json.loads(r.content) if r.content else None for r in self.requests]


def envelope(status: int, code: str, message: str, **headers: str) -> httpx.Response:
    return httpx.Response(status, json={"error": {"code": code, "message": message}}, headers=headers)


def _build(kind: type[C], handler: Callable[[httpx.Request], httpx.Response], clock: FakeClock, **kwargs: Any):
    """A ``kind`` client answered by ``handler`` through a mock transport, on the fake clock."""
    recorder = Recorder(handler)
    defaults = {"api_key": TOKEN, "retry": FAST_RETRY, "poll_schedule": FAST_POLL, "clock": clock}
    client = kind(base_url=BASE, transport=httpx.MockTransport(recorder), **{**defaults, **kwargs})
    return client, recorder


@pytest.fixture
def make_client(clock: FakeClock) -> Iterator[Callable[..., tuple[px.Client, Recorder]]]:
    clients: list[px.Client] = []

    def make(handler: Callable[[httpx.Request], httpx.Response], **kwargs: Any) -> tuple[px.Client, Recorder]:
        client, recorder = _build(px.Client, handler, clock, **kwargs)
        clients.append(client)
        return client, recorder

    yield make
    for client in clients:
        client.close()


@pytest.fixture
def make_async_client(clock: FakeClock) -> Callable[..., tuple[px.AsyncClient, Recorder]]:
    return lambda handler, **kwargs: _build(px.AsyncClient, handler, clock, **kwargs)
