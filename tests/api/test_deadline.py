"""One deadline per call: a server dripping its answer cannot hold a call past the client's timeout.

Real loopback servers (tests/reliability/odd_server.py) drip a body or the headers
a byte at a time for ~40 s; the calls below have 1 s timeouts. The bounds are loose
(many times the timeout, far below the drip) so that a loaded machine does not matter.
"""

from __future__ import annotations

import json
import time

import pytest

import pixxel_geo as px

from ..reliability.odd_server import OddServer, Reply

TOKEN = "pat_deadline-test-token"
STORE = json.dumps({"stores": [{"id": "s1", "name": "n"}]}).encode()
PENDING = json.dumps({"id": "dl", "status": "in_progress"}).encode() + b" " * 400


def drip_body(seen) -> Reply:
    return Reply(body=STORE + b" " * 400, drip=0.1)


def drip_headers(seen) -> Reply:
    return Reply(
        body=STORE, headers={"Content-Type": "application/json", "X-Pad": "p" * 400}, drip=0.1, drip_headers=True
    )


@pytest.fixture(params=[drip_body, drip_headers], ids=["body", "headers"])
def dripping(request):
    with OddServer(request.param) as server:
        yield server


def test_sync_call_ends_near_its_timeout(dripping):
    with px.Client(api_key=TOKEN, base_url=dripping.url, timeout=1) as client:
        started = time.monotonic()
        with pytest.raises(px.RequestTimeoutError, match="timeout of 1 s"):
            client.stores.list()
        assert time.monotonic() - started < 8  # the drip lasts ~40 s; retries stay inside the 1 s too


async def test_async_call_ends_near_its_timeout(dripping):
    async with px.AsyncClient(api_key=TOKEN, base_url=dripping.url, timeout=1) as client:
        started = time.monotonic()
        with pytest.raises(px.RequestTimeoutError):
            await client.stores.list()
        assert time.monotonic() - started < 8


def test_wait_timeout_bounds_a_dripping_poll():
    server = OddServer(lambda seen: Reply(body=PENDING, drip=0.1))
    with server, px.Client(api_key=TOKEN, base_url=server.url, timeout=30) as client:
        started = time.monotonic()
        with pytest.raises(px.WaitTimeoutError):
            client.downloads.wait("dl", timeout=1)
        assert time.monotonic() - started < 8


def test_a_prompt_server_is_unaffected():
    with OddServer(lambda seen: Reply(body=STORE)) as server:
        with px.Client(api_key=TOKEN, base_url=server.url, timeout=1) as client:
            assert [s.id for s in client.stores.list()] == ["s1"]
            assert [s.id for s in client.stores.list()] == ["s1"]  # a kept-alive connection, reused
        assert len(server.seen) == 2
