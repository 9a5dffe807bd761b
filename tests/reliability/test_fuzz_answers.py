"""Fuzzing every public client call with generated answers: only px.PixxelError may escape.

hypothesis draws the status, headers and body of the answer to every request a call
sends (a JSON value built around the API's own field names, or raw bytes), through
an httpx.MockTransport. Whatever comes back, a call either returns or raises a
``px.PixxelError``; it never returns a download whose status is not SUCCESS, and
no id it returns is empty or the string "None".
"""

from __future__ import annotations

import asyncio
import json
import random
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import pixxel_geo as px

from .calls import CALLS

TOKEN = "pat_fuzz-token-0123456789"
RETRY = px.RetryPolicy(max_attempts=2, backoff_base=0.0, backoff_cap=0.0)
POLL = px.PollSchedule(first=0.001, factor=1.0, cap=0.001)

FIELDS = ["id", "delivery_id", "status", "signed_url", "stores", "catalogs", "deliveries", "order_items",
          "pagination", "total", "limit", "offset", "details", "cloud_delivery", "config", "name", "error",
          "message", "code", "configs", "bucket", "catalog_id"]  # fmt: skip
STATUS_WORDS = ["success", "SUCCESS", "failed", "FAILED", "in_progress", "created", "ARCHIVED", "", "None"]
URLS = ["https://files.test.invalid/x.zip?X-Sig=1", "ftp://x", "", "null", "http://"]

scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**63), 2**63), st.floats(allow_nan=False),
    st.text(max_size=12), st.sampled_from(STATUS_WORDS), st.sampled_from(URLS), st.sampled_from(["d1", "d2", "c1", "s1", "dl", "o1"]),
)  # fmt: skip
json_values = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(st.one_of(st.sampled_from(FIELDS), st.text(max_size=6)), children, max_size=6),
    ),
    max_leaves=25,
)
statuses = st.one_of(
    st.sampled_from([200, 201, 202, 204, 299, 301, 304, 400, 401, 403, 404, 409, 418, 429, 500, 503, 599]),
    st.integers(100, 599).filter(lambda s: s not in (101,)),
)


@st.composite
def answers(draw: Any) -> tuple[int, dict[str, str], bytes]:
    status = draw(statuses)
    kind = draw(st.sampled_from(["json", "json", "json", "bytes", "empty", "deep"]))
    if kind == "json":
        body = json.dumps(draw(json_values)).encode()
    elif kind == "bytes":
        body = draw(st.binary(max_size=40))
    elif kind == "deep":
        depth = draw(st.sampled_from([900, 5_000, 200_000]))
        body = b"[" * depth + b"]" * depth
    else:
        body = b""
    headers = {"Content-Type": draw(st.sampled_from(["application/json", "text/html", "application/octet-stream"]))}
    if draw(st.booleans()):
        headers["Content-Encoding"] = draw(st.sampled_from(["gzip", "deflate", "br", "identity", "x-unknown"]))
    if draw(st.booleans()):
        headers["Retry-After"] = draw(
            st.sampled_from(["0", "-1", "nonsense", "99999", "Wed, 21 Oct 2015 07:28:00 GMT"])
        )
    return status, headers, body


def _respond(chosen: list[tuple[int, dict[str, str], bytes]]):
    rng = random.Random(len(chosen))

    def handler(request: httpx.Request) -> httpx.Response:
        status, headers, body = rng.choice(chosen)
        if status in (204, 304) or 100 <= status < 200:
            body = b""
        return httpx.Response(status, headers=headers, content=body)

    return handler


def _check_result(result: Any) -> None:
    """What a call may return: never a not-ready download, never an empty or 'None' id."""
    items = result if isinstance(result, list) else [result]
    for item in items:
        if isinstance(item, px.Download):
            assert item.status.is_success or not item.ready
        for attribute in ("id", "delivery_id"):
            value = getattr(item, attribute, None)
            if value is not None:
                assert isinstance(value, str) and value.strip() and value != "None"


FUZZ = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True, database=None
)


@pytest.mark.parametrize(("name", "call", "acall"), CALLS, ids=[c[0] for c in CALLS])
@FUZZ
@given(chosen=st.lists(answers(), min_size=1, max_size=3))
def test_sync_calls_raise_only_px_errors(name, call, acall, chosen):
    with px.Client(api_key=TOKEN, base_url="https://api.test.invalid", transport=httpx.MockTransport(_respond(chosen)),
                   retry=RETRY, poll_schedule=POLL) as client:  # fmt: skip
        try:
            result = call(client)
        except px.PixxelError as exc:
            assert TOKEN not in str(exc) and "X-Sig" not in str(exc)
            return
        _check_result(result)


@pytest.mark.parametrize(("name", "call", "acall"), CALLS, ids=[c[0] for c in CALLS])
@settings(FUZZ, max_examples=15)
@given(chosen=st.lists(answers(), min_size=1, max_size=3))
def test_async_calls_raise_only_px_errors(name, call, acall, chosen):
    async def go() -> Any:
        transport = httpx.MockTransport(_respond(chosen))
        async with px.AsyncClient(api_key=TOKEN, base_url="https://api.test.invalid", transport=transport,
                                  retry=RETRY, poll_schedule=POLL) as client:  # fmt: skip
            return await acall(client)

    try:
        result = asyncio.run(go())
    except px.PixxelError as exc:
        assert TOKEN not in str(exc)
        return
    _check_result(result)
