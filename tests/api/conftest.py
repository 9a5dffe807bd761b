"""Helpers for unit tests of the core with httpx.MockTransport (no network)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest

import pixxel_geo as px

TOKEN = "pat_S3CR3T-token-value-0123456789"
BASE = "https://api.test.invalid"
FAST_RETRY = px.RetryPolicy(max_attempts=4, backoff_base=0.0, backoff_cap=0.0)
FAST_POLL = px.PollSchedule(first=0.001, factor=1.0, cap=0.001)


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


@pytest.fixture
def make_client() -> Callable[..., tuple[px.Client, Recorder]]:
    clients: list[px.Client] = []

    def make(handler: Callable[[httpx.Request], httpx.Response], **kwargs: Any) -> tuple[px.Client, Recorder]:
        recorder = Recorder(handler)
        client = px.Client(
            api_key=kwargs.pop("api_key", TOKEN),
            base_url=BASE,
            transport=httpx.MockTransport(recorder),
            retry=kwargs.pop("retry", FAST_RETRY),
            poll_schedule=kwargs.pop("poll_schedule", FAST_POLL),
            **kwargs,
        )
        clients.append(client)
        return client, recorder

    yield make
    for client in clients:
        client.close()


@pytest.fixture
def make_async_client() -> Callable[..., tuple[px.AsyncClient, Recorder]]:
    def make(handler: Callable[[httpx.Request], httpx.Response], **kwargs: Any) -> tuple[px.AsyncClient, Recorder]:
        recorder = Recorder(handler)
        client = px.AsyncClient(
            api_key=kwargs.pop("api_key", TOKEN),
            base_url=BASE,
            transport=httpx.MockTransport(recorder),
            retry=kwargs.pop("retry", FAST_RETRY),
            poll_schedule=kwargs.pop("poll_schedule", FAST_POLL),
            **kwargs,
        )
        return client, recorder

    return make
