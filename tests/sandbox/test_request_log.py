"""The request log counts the bytes a client got, not the bytes the server meant to send."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from pixxel_geo.sandbox import Sandbox, SandboxSettings

from .sandbox_helpers import ready_url

# A product big enough (~27 MB) that the socket buffers cannot hide a whole-file send.
BIG_SETTINGS = SandboxSettings(bands=64, width=512, height=512, count=1, download_seconds=0.1)


@pytest.fixture(scope="module")
def big_sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    with Sandbox.launch(
        data_dir=tmp_path_factory.mktemp("big-sandbox"), token="big-token-0123456789", settings=BIG_SETTINGS
    ) as sb:
        yield sb


@pytest.fixture(scope="module")
def big_url(big_sandbox: Sandbox) -> tuple[str, int]:
    with httpx.Client(
        base_url=big_sandbox.url, headers={"Authorization": f"Bearer {big_sandbox.token}"}, timeout=30
    ) as api:
        url = ready_url(api, big_sandbox.info()["catalog_ids"])[1]
    size = int(httpx.get(url, headers={"Range": "bytes=0-0"}).headers["content-range"].rsplit("/", 1)[1])
    return url, size


def _logged(sb: Sandbox, count: int = 1, timeout: float = 10.0) -> list[dict[str, Any]]:
    """The file requests in the log, once ``count`` have finished."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = sb.requests("/files/")
        if len(found) >= count:
            return found
        time.sleep(0.02)
    raise AssertionError(f"the sandbox logged {len(sb.requests('/files/'))} file requests, expected {count}")


def test_a_client_closing_after_the_headers_is_logged_with_what_it_got(
    big_sandbox: Sandbox, big_url: tuple[str, int]
) -> None:
    url, size = big_url
    parts = urlsplit(url)
    logged = []
    for _ in range(5):  # the old failure (the whole file counted) depended on timing: try a few times
        big_sandbox.reset_requests()
        # GDAL's size probe: a whole-file GET dropped once the headers are in.
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 80)) as sock:
            sock.sendall(f"GET {parts.path}?{parts.query} HTTP/1.1\r\nHost: {parts.netloc}\r\n\r\n".encode())
            head = b""
            while b"\r\n\r\n" not in head:
                head += sock.recv(4096)
        assert head.startswith(b"HTTP/1.1 200")
        [entry] = _logged(big_sandbox)
        assert entry["status"] == 200
        logged.append(entry["bytes"])
    # Before: the whole file (~27 MB) was often counted. Now: what the socket buffers took (< 1 MB).
    assert max(logged) < size / 10, f"{logged} bytes logged for dropped GETs of a {size}-byte file"


def test_complete_responses_are_logged_exactly(big_sandbox: Sandbox, big_url: tuple[str, int]) -> None:
    url, size = big_url
    big_sandbox.reset_requests()
    with httpx.stream("GET", url, timeout=60) as response:
        received = sum(len(chunk) for chunk in response.iter_bytes())
    ranged = httpx.get(url, headers={"Range": "bytes=1000-1999"})
    assert received == size and len(ranged.content) == 1000
    assert [(e["status"], e["bytes"]) for e in _logged(big_sandbox, 2)] == [(200, size), (206, 1000)]
