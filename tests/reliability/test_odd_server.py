"""Every public call against a real loopback server answering odd bodies: only px.PixxelError escapes.

The server (odd_server.py) speaks raw HTTP/1.1, so it can send what no well-behaved
framework would: a gzip header on plain bytes, JSON nested 200,000 deep, a body
shorter than its Content-Length, numbers JSON cannot hold, statuses no one uses.
"""

from __future__ import annotations

import asyncio
import json

import pytest

import pixxel_geo as px

from .calls import CALLS
from .odd_server import OddServer, Reply

TOKEN = "pat_odd-server-token-0123456789"
RETRY = px.RetryPolicy(max_attempts=2, backoff_base=0.0, backoff_cap=0.0)
POLL = px.PollSchedule(first=0.001, factor=1.0, cap=0.001)
JSON = {"Content-Type": "application/json"}


def _json(value: object, status: int = 200) -> Reply:
    return Reply(status=status, body=json.dumps(value).encode())


EVERY_LIST = {"stores": 5, "catalogs": "x", "deliveries": {"a": 1}, "order_items": 3.5, "id": 5, "delivery_id": []}
NULLS = {"id": None, "delivery_id": None, "status": None, "signed_url": None, "stores": [None], "catalogs": [None],
         "deliveries": [None], "order_items": [None], "pagination": None}  # fmt: skip
ODD: dict[str, Reply] = {
    "gzip-declared-plain": Reply(body=b'{"stores": []}', headers={**JSON, "Content-Encoding": "gzip"}),
    "deflate-declared-plain": Reply(body=b'{"id": "x"}', headers={**JSON, "Content-Encoding": "deflate"}),
    "deep-200000": Reply(body=b"[" * 200_000 + b"]" * 200_000),
    "deep-objects": Reply(body=b'{"a":' * 50_000 + b"1" + b"}" * 50_000),
    "top-level-42": _json(42),
    "top-level-string": _json("stores"),
    "top-level-null": Reply(body=b"null"),
    "empty-object": _json({}),
    "wrong-types": _json(EVERY_LIST),
    "nulls": _json(NULLS),
    "unknown-status-with-url": _json(
        {
            "id": "dl",
            "delivery_id": "d1",
            "status": "ARCHIVED",
            "signed_url": "http://127.0.0.1:9/x.zip?sig=1",
            "deliveries": [{"delivery_id": "d1", "status": 5}],
        }
    ),
    "numeric-status": _json({"id": "dl", "status": 5, "signed_url": "http://127.0.0.1:9/x.zip?sig=1"}),
    "infinite-numbers": Reply(body=b'{"pagination": {"total": 1e999, "limit": -1e999}, "catalogs": [], "id": "c1"}'),
    "not-utf8": Reply(body=b"\xff\xfe\xfa"),
    "html": Reply(body=b"<html>login</html>", headers={"Content-Type": "text/html"}),
    "status-299": _json({}, status=299),
    "status-418": _json({"error": {"code": 5, "message": ["x"]}}, status=418),
    "status-599": Reply(status=599, body=b"\x00"),
    "redirect": Reply(status=302, body=b"", headers={"Location": "http://127.0.0.1:9/elsewhere"}),
    "short-body": Reply(body=b'{"stores": [', headers={**JSON, "Content-Length": "400"}),
    "error-envelope-deep": Reply(status=400, body=b'{"error":' + b"[" * 100_000 + b"]" * 100_000 + b"}"),
}


@pytest.fixture(scope="module", params=sorted(ODD))
def odd(request):
    reply = ODD[request.param]
    with OddServer(lambda seen: reply) as server:
        yield server


@pytest.mark.parametrize(("name", "call", "acall"), CALLS, ids=[c[0] for c in CALLS])
def test_sync_call_against_odd_answers(odd, name, call, acall):
    with px.Client(api_key=TOKEN, base_url=odd.url, timeout=1, retry=RETRY, poll_schedule=POLL) as client:
        try:
            result = call(client)
        except px.PixxelError as exc:
            assert TOKEN not in str(exc) and "sig=1" not in str(exc)
            return
    results = result if isinstance(result, list) else [result]
    for item in results:
        assert not isinstance(item, px.Download) or item.status.is_success or not item.ready
        assert getattr(item, "id", "x") not in ("", "None")


@pytest.mark.parametrize(("name", "call", "acall"), [c for c in CALLS if c[0] in {"stores.list", "downloads.wait",
                                                                                 "catalogs.search"}])  # fmt: skip
def test_async_call_against_odd_answers(odd, name, call, acall):
    async def go() -> object:
        async with px.AsyncClient(api_key=TOKEN, base_url=odd.url, timeout=1, retry=RETRY, poll_schedule=POLL) as c:
            return await acall(c)

    try:
        asyncio.run(go())
    except px.PixxelError as exc:
        assert TOKEN not in str(exc)


CLI_REPLIES = ["gzip-declared-plain", "deep-200000", "top-level-42", "wrong-types", "nulls", "unknown-status-with-url",
               "infinite-numbers", "html", "status-418", "short-body"]  # fmt: skip
CLI_COMMANDS = [
    ["stores", "list"],
    ["stores", "list", "--json"],
    ["catalogs", "search"],
    ["catalogs", "search", "--json"],
    ["catalogs", "show", "c1"],
    ["deliveries", "list"],
    ["deliveries", "wait", "d1", "--timeout", "0.3"],
    ["link", "--catalog", "c1", "--timeout", "0.3"],
    ["deliver", "--store", "s1", "--catalog", "c1"],
]


@pytest.mark.parametrize("reply", CLI_REPLIES)
def test_cli_commands_against_odd_answers_print_no_traceback(reply, monkeypatch, capsys):
    from pixxel_geo.cli import main

    with OddServer(lambda seen: ODD[reply]) as server:
        monkeypatch.setenv("PIXXEL_API_KEY", TOKEN)
        monkeypatch.setenv("PIXXEL_API_URL", server.url)
        for argv in CLI_COMMANDS:
            code = main(["--timeout", "1", *argv])
            out, err = capsys.readouterr()
            assert code in (0, 1), (argv, err)
            assert "Traceback" not in err and TOKEN not in out + err and "sig=1" not in out + err
            if code == 1:  # status lines may come first; the error is the one last line
                lines = err.splitlines()
                assert lines[-1].startswith("error: ") and sum(line.startswith("error") for line in lines) == 1
                assert "unexpected" not in err, (argv, err)  # an expected failure, not the last-resort line
