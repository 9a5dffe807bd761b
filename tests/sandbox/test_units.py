"""Pure functions of the sandbox: ranges, signing, store keys, lifecycles, faults."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlsplit

import pytest

from pixxel_geo.sandbox.faults import FaultState
from pixxel_geo.sandbox.files import parse_range
from pixxel_geo.sandbox.lifecycle import delivery_status, download_status
from pixxel_geo.sandbox.signing import Verdict, sign, verify
from pixxel_geo.sandbox.stores import normalise_key, object_key


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, None),
        ("bytes=0-0", [(0, 0)]),
        ("bytes=5-", [(5, 9)]),
        ("bytes=-3", [(7, 9)]),
        ("bytes=-30", [(0, 9)]),
        ("bytes=8-100", [(8, 9)]),
        ("bytes=10-", []),
        ("bytes=10-20,0-1", [(0, 1)]),
        ("bytes=3-1", None),
        ("items=0-1", None),
        ("bytes=x-1", None),
    ],
)
def test_parse_range(header: str | None, expected: list | None) -> None:
    assert parse_range(header, 10) == expected


def _params(url: str) -> dict[str, str]:
    return dict(parse_qsl(urlsplit(url).query))


def test_signing_round_trip_expiry_and_tamper() -> None:
    url = sign(b"secret", "http://h:1", "/files/a/catalogs.zip", 60, now=1000)
    params = _params(url)
    assert verify(b"secret", "/files/a/catalogs.zip", params, now=1001)[0] is Verdict.VALID
    assert verify(b"secret", "/files/a/catalogs.zip", params, now=1060)[0] is Verdict.EXPIRED
    assert verify(b"other", "/files/a/catalogs.zip", params, now=1001)[0] is Verdict.BAD_SIGNATURE
    assert verify(b"secret", "/files/b/catalogs.zip", params, now=1001)[0] is Verdict.BAD_SIGNATURE
    assert verify(b"secret", "/files/a/catalogs.zip", {}, now=1001)[0] is Verdict.MISSING


def test_store_keys() -> None:
    store = {"configs": {"bucket": "b", "path_prefix": "/data//processed/"}}
    assert object_key(store, "/path/to/dest/", "o/i/catalogs.zip") == "data/processed/path/to/dest/o/i/catalogs.zip"
    assert object_key({"configs": {}}, None, "o/catalogs.zip") == "o/catalogs.zip"
    with pytest.raises(ValueError, match=r"\.\."):
        normalise_key("a/../b")


def test_lifecycles() -> None:
    record = {"created": 100.0, "seconds": 4.0, "fail": False, "done_at": None}
    assert delivery_status(record, 100.5)[0] == "CREATED"
    assert delivery_status(record, 102)[0] == "IN_PROGRESS"
    assert delivery_status(record, 200)[0] == "IN_PROGRESS"  # until the copy is done
    assert delivery_status({**record, "done_at": 104.2}, 200) == ("SUCCESS", 104.2)
    assert delivery_status({**record, "fail": True}, 104)[0] == "FAILED"
    assert [download_status(record, t) for t in (100, 102, 104)] == ["created", "in_progress", "success"]
    assert download_status({**record, "fail": True}, 104) == "failed"


def test_fault_counters_and_cut_count() -> None:
    state = FaultState()
    state.update({"server_errors": 2, "server_error_prefix": "/v0/"})
    assert state.server_error_for("/files/x") is None
    assert [state.server_error_for("/v0/x") for _ in range(3)] == [503, 503, None]
    state.update({"cut_after": 5, "cut_count": 1})
    assert [state.take_cut(), state.take_cut()] == [5, None]
