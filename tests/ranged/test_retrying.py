"""The one retry loop: counting, backoff, Retry-After honoured up to the cap, giving up."""

from __future__ import annotations

import httpx
import pytest

from pixxel_geo.api.retry import RetryPolicy
from pixxel_geo.ranged import MAX_RETRY_AFTER, Attempts, Failure


def test_gives_up_after_the_policys_attempts_and_waits_between() -> None:
    waits: list[float] = []
    attempts = Attempts(RetryPolicy(max_attempts=3, backoff_base=0.0), sleep=waits.append)
    assert attempts.back_off(Failure("ReadTimeout")) is None
    assert attempts.back_off(Failure("ReadTimeout")) is None
    give_up = attempts.back_off(Failure("ConnectError"))
    assert give_up is not None and give_up.failures == 3 and not give_up.waits_too_long
    assert give_up.describe("bytes 0-9") == "gave up on bytes 0-9 after 3 failed attempts (last: ConnectError)"
    assert waits == [0.0, 0.0]  # two waits, none after giving up


def test_progress_resets_the_count() -> None:
    attempts = Attempts(RetryPolicy(max_attempts=2, backoff_base=0.0), sleep=lambda _: None)
    for _ in range(5):
        assert attempts.back_off(Failure("RemoteProtocolError")) is None
        attempts.progressed()
    assert attempts.back_off(Failure("RemoteProtocolError")) is None
    assert attempts.back_off(Failure("RemoteProtocolError")) is not None


def test_backoff_grows_and_stays_under_the_cap() -> None:
    waits: list[float] = []
    policy = RetryPolicy(max_attempts=10, backoff_base=1.0, backoff_cap=4.0)
    attempts = Attempts(policy, sleep=waits.append)
    for _ in range(9):
        attempts.back_off(Failure("HTTP 503"))
    assert len(waits) == 9 and all(0 <= w <= 4.0 for w in waits)
    assert waits[0] <= 1.0 and waits[1] <= 2.0


def test_retry_after_is_honoured_in_full_beyond_the_backoff_cap() -> None:
    waits: list[float] = []
    attempts = Attempts(RetryPolicy(backoff_cap=1.0), sleep=waits.append)
    response = httpx.Response(429, headers={"Retry-After": "120"})
    assert attempts.retryable(response)
    assert attempts.back_off(Failure.of_response(response)) is None
    assert waits == [120.0]


def test_a_retry_after_past_the_cap_is_given_up_on_without_waiting() -> None:
    waits: list[float] = []
    attempts = Attempts(RetryPolicy(), sleep=waits.append)
    failure = Failure.of_response(httpx.Response(503, headers={"Retry-After": str(int(MAX_RETRY_AFTER) + 1)}))
    give_up = attempts.back_off(failure)
    assert give_up is not None and give_up.waits_too_long
    assert "asked to wait 301 s" in give_up.describe("the file") and "HTTP 503" in give_up.describe("the file")
    assert waits == []


@pytest.mark.parametrize(("status", "retryable"), [(429, True), (500, True), (503, True), (404, False), (403, False)])
def test_retryable_statuses_come_from_the_policy(status: int, retryable: bool) -> None:
    assert Attempts(RetryPolicy()).retryable(httpx.Response(status)) is retryable
    assert not Attempts(RetryPolicy(retry_statuses=frozenset())).retryable(httpx.Response(status))


def test_a_broken_connection_is_named_by_its_type_only() -> None:
    exc = httpx.ConnectError("failed to reach http://h/f?sig=secret")
    assert Failure.of(exc) == Failure("ConnectError", None)
