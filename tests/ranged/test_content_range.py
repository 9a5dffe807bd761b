"""The one Content-Range parser: every form RFC 9110 allows, and what it refuses."""

from __future__ import annotations

import pytest

from pixxel_geo.ranged import ContentRange, parse_content_range


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("bytes 0-0/1234", ContentRange(0, 0, 1234)),
        ("bytes 100-199/1000", ContentRange(100, 199, 1000)),
        ("BYTES 5-9/10", ContentRange(5, 9, 10)),
        ("  bytes 5 - 9 / 10 ", ContentRange(5, 9, 10)),
        ("bytes 10-19/*", ContentRange(10, 19, None)),
        ("bytes */1234", ContentRange(None, None, 1234)),
        ("bytes */0", ContentRange(None, None, 0)),
    ],
)
def test_valid_forms_are_parsed(value: str, expected: ContentRange) -> None:
    assert parse_content_range(value) == expected


@pytest.mark.parametrize(
    "value",
    [
        None,
        "",
        "bytes",
        "bytes 0-/10",
        "bytes -5/10",
        "bytes 9-5/10",  # last before first
        "bytes 0-10/10",  # past the end of the file
        "bytes */*",
        "items 0-1/2",
        "bytes 0-1/2, bytes 3-4/5",
        "bytes 0-1/x",
    ],
)
def test_malformed_or_impossible_values_give_none(value: str | None) -> None:
    assert parse_content_range(value) is None
