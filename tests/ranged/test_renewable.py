"""A renewable signed URL: once per expiry for all threads, clear errors without the signature."""

from __future__ import annotations

import threading

import pytest

from pixxel_geo.api.errors import NotFoundError, SignedURLError
from pixxel_geo.ranged import RenewableURL


def test_many_threads_with_the_same_stale_url_renew_once() -> None:
    calls: list[int] = []
    gate = threading.Barrier(8)

    def refresh() -> str:
        calls.append(1)
        return f"http://files.test/a.zip?sig={len(calls) + 1}"

    url = RenewableURL("http://files.test/a.zip?sig=1", refresh)
    stale = url.get()
    got: list[str] = []

    def renew() -> None:
        gate.wait()
        got.append(url.renew(stale.generation).url)

    threads = [threading.Thread(target=renew) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert calls == [1]
    assert got == ["http://files.test/a.zip?sig=2"] * 8
    assert url.get().generation == 1
    # A later expiry of the new URL is a new renewal.
    assert url.renew(1).url == "http://files.test/a.zip?sig=3" and calls == [1, 1]


def test_the_first_url_is_asked_once_on_first_use() -> None:
    asked: list[int] = []

    def first() -> str:
        asked.append(1)
        return "http://files.test/a.zip?sig=1"

    url = RenewableURL(first)
    assert url.safe == "" and asked == []
    assert url.get().url == "http://files.test/a.zip?sig=1"
    assert url.get().generation == 0 and asked == [1]
    assert url.safe.startswith("http://files.test/a.zip") and "sig" not in url.safe


def test_without_refresh_a_refusal_is_a_clear_error_without_the_signature() -> None:
    url = RenewableURL("http://files.test/a.zip?sig=secret", advice="pass refresh=")
    with pytest.raises(SignedURLError) as caught:
        url.renew(0)
    message = str(caught.value)
    assert "secret" not in message and "files.test/a.zip" in message and "pass refresh=" in message
    assert isinstance(caught.value, PermissionError)


def test_a_refresh_that_fails_or_gives_nothing_new_is_a_signed_url_error() -> None:
    def gone() -> str:
        raise NotFoundError("download dl_1 does not exist", status_code=404)

    with pytest.raises(SignedURLError, match="renewing it failed: download dl_1 does not exist") as caught:
        RenewableURL("http://files.test/a.zip?sig=secret", gone).renew(0)
    assert isinstance(caught.value.__cause__, NotFoundError) and "secret" not in str(caught.value)
    with pytest.raises(SignedURLError, match="no new URL"):
        RenewableURL("http://files.test/a.zip?sig=secret", lambda: "").renew(0)
    same = RenewableURL("http://files.test/a.zip?sig=secret", lambda: "http://files.test/a.zip?sig=secret")
    with pytest.raises(SignedURLError, match="same URL again") as caught:
        same.renew(0)
    assert "secret" not in str(caught.value)
