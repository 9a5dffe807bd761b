"""Which API client a source asks with, and how many download resources it creates.

Each test runs with a fresh :class:`~pixxel_geo.io.session.IOSession` as the default (the
``io_session`` fixture): no download ids, URLs or archives from the rest of the session, on
the session's sandbox (no sandbox of its own needed).
"""

from __future__ import annotations

import itertools
import pickle
import threading
from pathlib import Path
from typing import Any

import fsspec
import httpx
import pytest

import pixxel_geo as px
from pixxel_geo.api.config import resolve_config
from pixxel_geo.api.errors import PixxelError
from pixxel_geo.io.api_sources import CatalogURLSource
from pixxel_geo.io.filesystem import PixxelFileSystem
from pixxel_geo.io.resolve import resolve_source
from pixxel_geo.io.session import IOSession, client_for
from pixxel_geo.sandbox import Sandbox


@pytest.fixture
def own_sandbox(sandbox: Sandbox, io_session: IOSession) -> Sandbox:
    """The session's sandbox, seen through a fresh IOSession (as by a new process)."""
    return sandbox


@pytest.fixture
def catalog_ids(own_sandbox: Sandbox) -> list[str]:
    ids: list[str] = own_sandbox.info()["catalog_ids"]
    assert len(ids) >= 4
    return ids


class CountingTransport(httpx.BaseTransport):
    """Real HTTP, with a record of the requests that went through this transport."""

    def __init__(self) -> None:
        self.inner = httpx.HTTPTransport()
        self.seen: list[tuple[str, str]] = []
        self.lock = threading.Lock()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        with self.lock:
            self.seen.append((request.method, request.url.path))
        return self.inner.handle_request(request)

    def close(self) -> None:
        self.inner.close()


def _creates(sb: Sandbox) -> list[dict[str, Any]]:
    return [r for r in sb.requests("/v0/catalogs/download") if r["method"] == "POST"]


def test_concurrent_first_reads_create_one_download(own_sandbox: Sandbox, catalog_ids: list[str]) -> None:
    config = resolve_config(api_key=own_sandbox.token, base_url=own_sandbox.url)
    own_sandbox.reset_requests()
    start = threading.Barrier(8)
    found: list[str] = []
    errors: list[BaseException] = []

    def resolve() -> None:
        try:
            start.wait()
            found.append(CatalogURLSource(catalog_ids[0], config).download_id())
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=resolve) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert len(found) == 8 and len(set(found)) == 1
    assert len(_creates(own_sandbox)) == 1


def test_the_callers_client_is_the_one_used(own_sandbox: Sandbox, catalog_ids: list[str]) -> None:
    transport = CountingTransport()
    with px.Client(api_key=own_sandbox.token, base_url=own_sandbox.url, transport=transport) as client:
        resolved = resolve_source(catalog_ids[1], client)
        assert resolved.archive.names()
        assert ("POST", "/v0/catalogs/download") in transport.seen
        source = resolved.archive.source
        assert source.client is client
        before = len(transport.seen)
        source.signed_url(fresh=True)
        assert len(transport.seen) > before  # re-signing asks through the caller's transport too
        # Pickles as ids and config: a worker uses a client of its own.
        assert pickle.loads(pickle.dumps(source)).client is None
    # Once the caller closed it, the source falls back to the shared client for its config.
    assert source.signed_url(fresh=True).startswith(own_sandbox.url)


def test_a_key_set_after_a_failed_call_is_used(
    own_sandbox: Sandbox, catalog_ids: list[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PIXXEL_CONFIG", str(tmp_path / "no-config.toml"))
    monkeypatch.setenv("PIXXEL_API_URL", own_sandbox.url)
    monkeypatch.delenv("PIXXEL_API_KEY", raising=False)
    with pytest.raises(PixxelError):
        resolve_source(catalog_ids[2]).archive.names()
    assert client_for(None).config.api_key is None
    monkeypatch.setenv("PIXXEL_API_KEY", own_sandbox.token)
    assert client_for(None).config.api_key == own_sandbox.token
    assert resolve_source(catalog_ids[2]).archive.names()


def test_filesystem_shares_the_client_of_its_config(own_sandbox: Sandbox, io_session: IOSession) -> None:
    fs = PixxelFileSystem(api_key=own_sandbox.token, base_url=own_sandbox.url)
    assert fs.session is io_session  # an fsspec-cached instance follows the default session
    assert fs.client is client_for(resolve_config(api_key=own_sandbox.token, base_url=own_sandbox.url))


def test_resolving_a_path_with_a_client_leaves_cached_filesystems_alone(
    own_sandbox: Sandbox, catalog_ids: list[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PIXXEL_CONFIG", str(tmp_path / "no-config.toml"))
    monkeypatch.setenv("PIXXEL_API_KEY", own_sandbox.token)
    if "pixxel" not in fsspec.registry:
        fsspec.register_implementation("pixxel", "pixxel_geo.io.filesystem.PixxelFileSystem")
    shared = fsspec.filesystem("pixxel", base_url=own_sandbox.url)
    transport = CountingTransport()
    with px.Client(api_key=own_sandbox.token, base_url=own_sandbox.url, transport=transport) as mine:
        resolved = resolve_source(f"pixxel://catalogs/{catalog_ids[3]}/", mine)
        assert resolved.archive.names()
        assert resolved.archive.source.client is mine
        assert ("POST", "/v0/catalogs/download") in transport.seen
        assert fsspec.filesystem("pixxel", base_url=own_sandbox.url) is shared
        assert shared.client is not mine


def test_a_new_download_is_polled_soon_then_on_the_clients_schedule(
    own_sandbox: Sandbox, catalog_ids: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from pixxel_geo.io import api_sources as sources

    pauses: list[float] = []
    real_sleep = sources._sleep
    monkeypatch.setattr(sources, "_sleep", lambda seconds: (pauses.append(seconds), real_sleep(seconds)))
    with px.Client(api_key=own_sandbox.token, base_url=own_sandbox.url) as client:
        created = client.downloads.create(catalog_ids=[catalog_ids[-1]])
        own_sandbox.reset_requests()
        ready = sources.wait_new_download(client, created)
        schedule = client._poll_schedule
    assert ready.id == created.id and ready.signed_url
    polls = [r for r in own_sandbox.requests("/v0/catalogs/download/") if r["method"] == "GET"]
    # A pause, then one GET, each time; the first pause is short and each next one twice as long,
    # all below the client's own first interval (the sandbox's downloads take 0.2 s).
    assert len(polls) == len(pauses) >= 2
    assert pauses[0] == sources.FRESH_POLL_SECONDS < schedule.first
    assert all(b == 2 * a for a, b in itertools.pairwise(pauses))
    assert sum(pauses) < schedule.first
    assert all(r["path"] == f"/v0/catalogs/download/{created.id}" for r in polls)


def test_a_new_download_polled_by_a_fast_schedule_uses_that_schedule(
    own_sandbox: Sandbox, catalog_ids: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from pixxel_geo.io import api_sources as sources

    pauses: list[float] = []
    monkeypatch.setattr(sources, "_sleep", pauses.append)
    schedule = px.PollSchedule(first=0.01, cap=0.05)
    with px.Client(api_key=own_sandbox.token, base_url=own_sandbox.url, poll_schedule=schedule) as client:
        ready = sources.wait_new_download(client, client.downloads.create(catalog_ids=[catalog_ids[-1]]))
    assert ready.signed_url
    assert pauses == []  # the client already polls more often than the first quick polls would
