"""Re-signing on 403 as an httpx.Auth flow, driven by httpx's sync and async clients, and against the sandbox."""

from __future__ import annotations

import threading
import time
from typing import Any

import httpx
import pytest

from pixxel_geo.api.errors import SignedURLError
from pixxel_geo.ranged import RenewableURL, ResignOn403


class Files:
    """A file server accepting one signature at a time; records what it was asked."""

    def __init__(self, valid: str) -> None:
        self.valid = valid
        self.seen: list[tuple[str, str, str | None]] = []
        self.lock = threading.Lock()

    def __call__(self, request: httpx.Request) -> httpx.Response:
        with self.lock:
            self.seen.append((request.url.host, request.url.params.get("sig", ""), request.headers.get("Range")))
        if request.url.params.get("sig") != self.valid:
            return httpx.Response(403, text="<Error><Code>AccessDenied</Code></Error>")
        return httpx.Response(206, content=b"PK", headers={"Content-Range": "bytes 0-1/100"})


def test_a_403_renews_the_url_and_sends_the_request_again() -> None:
    files = Files(valid="2")
    url = RenewableURL("http://files.test/a.zip?sig=1", lambda: "http://cdn.test/a.zip?sig=2")
    with httpx.Client(transport=httpx.MockTransport(files)) as client:
        response = client.get("http://files.test/a.zip", headers={"Range": "bytes=0-1"}, auth=ResignOn403(url))
    assert response.status_code == 206 and response.content == b"PK"
    # The request went to the signed URL, then to the renewed one (another host: Host follows), headers kept.
    assert files.seen == [("files.test", "1", "bytes=0-1"), ("cdn.test", "2", "bytes=0-1")]
    assert response.request.headers["Host"] == "cdn.test"
    assert len(response.history) == 1 and response.history[0].status_code == 403


def test_a_403_left_after_the_renewals_is_returned_to_the_caller() -> None:
    files = Files(valid="never")
    fresh = iter(f"http://files.test/a.zip?sig={n}" for n in range(2, 10))
    url = RenewableURL("http://files.test/a.zip?sig=1", lambda: next(fresh))
    with httpx.Client(transport=httpx.MockTransport(files)) as client:
        response = client.get("http://files.test/a.zip", auth=ResignOn403(url, renewals=3))
    assert response.status_code == 403
    assert [sig for _, sig, _ in files.seen] == ["1", "2", "3", "4"]


def test_a_url_that_cannot_be_renewed_raises_from_send() -> None:
    url = RenewableURL("http://files.test/a.zip?sig=secret")
    with (
        httpx.Client(transport=httpx.MockTransport(Files(valid="2"))) as client,
        pytest.raises(SignedURLError) as caught,
    ):
        client.get("http://files.test/a.zip", auth=ResignOn403(url))
    assert "secret" not in str(caught.value)


def test_parallel_requests_on_an_expired_url_renew_it_once() -> None:
    files = Files(valid="2")
    calls: list[int] = []

    def refresh() -> str:
        calls.append(1)
        time.sleep(0.05)  # a slow API call: the other threads' 403s arrive meanwhile
        return "http://files.test/a.zip?sig=2"

    auth = ResignOn403(RenewableURL("http://files.test/a.zip?sig=1", refresh))
    statuses: list[int] = []
    with httpx.Client(transport=httpx.MockTransport(files)) as client:

        def fetch() -> None:
            statuses.append(client.get("http://files.test/a.zip", auth=auth).status_code)

        threads = [threading.Thread(target=fetch) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert statuses == [206] * 8
    assert calls == [1]


async def test_the_async_client_drives_the_same_flow() -> None:
    files = Files(valid="2")
    url = RenewableURL("http://files.test/a.zip?sig=1", lambda: "http://files.test/a.zip?sig=2")
    async with httpx.AsyncClient(transport=httpx.MockTransport(files)) as client:
        response = await client.get("http://files.test/a.zip", auth=ResignOn403(url))
    assert response.status_code == 206
    assert [sig for _, sig, _ in files.seen] == ["1", "2"]


def test_an_expired_sandbox_url_is_renewed_through_the_api(sandbox: Any, client: Any) -> None:
    catalog = next(iter(client.catalogs.search(limit=1)))
    sandbox.set_faults(url_lifetime=1)
    download = client.downloads.wait(client.downloads.create(catalog_ids=[catalog.id]).id)
    expired = download.signed_url
    time.sleep(1.1)  # the signature's expiry (whole seconds) has passed
    sandbox.clear_faults()
    renewals: list[str] = []

    def refresh() -> str:
        renewals.append(download.id)
        return client.downloads.get(download.id).signed_url or ""

    url = RenewableURL(expired, refresh)
    with httpx.Client() as http:
        plain = http.get(expired, headers={"Range": "bytes=0-3"})
        response = http.get(expired, headers={"Range": "bytes=0-3"}, auth=ResignOn403(url))
    assert plain.status_code == 403  # really expired
    assert response.status_code == 206 and response.content == b"PK\x03\x04"
    assert renewals == [download.id] and url.get().generation == 1
