"""The engine's transport: httpcore with large socket reads, errors as httpx's, TLS verification on."""

from __future__ import annotations

import logging
import socket
import ssl
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpcore
import httpx
import pytest

from pixxel_geo import PixxelError, RetryPolicy
from pixxel_geo.transfer import fetch
from pixxel_geo.transfer.files import start_writeback
from pixxel_geo.transfer.transport import READ_SIZE, LargeReadStream, LargeReadTransport, engine_transport
from tests.transfer.transfer_range_server import ServerState


class RecordingStream(httpcore.NetworkStream):
    """An inner stream that records what it was asked to read and sends what is waiting."""

    def __init__(self, waiting: list[int]) -> None:
        self.waiting = waiting  # bytes available at each successive read
        self.asked: list[int] = []
        self.tls = False

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        self.asked.append(max_bytes)
        return b"x" * min(max_bytes, self.waiting.pop(0))

    def start_tls(self, ssl_context: ssl.SSLContext, server_hostname: str | None = None, timeout: Any = None) -> Any:
        tls = RecordingStream(self.waiting)
        tls.tls = True
        return tls


def test_reads_grow_while_data_is_waiting_and_shrink_when_not() -> None:
    inner = RecordingStream(waiting=[1 << 20, 100_000, 1 << 20, 1000, 1 << 20])
    stream = LargeReadStream(inner, READ_SIZE)

    got = [len(stream.read(64 * 1024)) for _ in range(5)]

    assert inner.asked == [64 * 1024, READ_SIZE, READ_SIZE, READ_SIZE, 64 * 1024]
    assert got == [64 * 1024, 100_000, READ_SIZE, 1000, 64 * 1024]


def test_tls_streams_are_left_as_they_are() -> None:
    stream = LargeReadStream(RecordingStream(waiting=[]), READ_SIZE)

    tls = stream.start_tls(ssl.create_default_context(), "example.org")

    assert isinstance(tls, RecordingStream) and tls.tls  # TLS reads return one 16 KiB record anyway


def test_a_real_server_body_arrives_whole_and_the_connection_is_reused(local_file: tuple[ServerState, str]) -> None:
    state, base_url = local_file
    url = base_url + "?sig=1"
    transport = LargeReadTransport(limits=httpx.Limits(max_connections=1))
    with httpx.Client(transport=transport) as client:
        with client.stream("GET", url) as response:
            body = b"".join(response.iter_bytes())
        ranged = client.get(url, headers={"Range": "bytes=10-19"})

    assert response.status_code == 200
    assert body == state.payload
    assert ranged.status_code == 206
    assert ranged.content == state.payload[10:20]
    assert response.extensions["http_version"] == b"HTTP/1.1"
    assert isinstance(response.extensions["network_stream"], LargeReadStream)
    assert ranged.extensions["network_stream"] is response.extensions["network_stream"]


def test_tls_verification_stays_on() -> None:
    transport = LargeReadTransport(limits=httpx.Limits())
    try:
        assert transport.ssl_context.verify_mode == ssl.CERT_REQUIRED
        assert transport.ssl_context.check_hostname
    finally:
        transport.close()


def test_a_refused_connection_is_an_httpx_connect_error() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed again: nothing listens there
    transport = LargeReadTransport(limits=httpx.Limits())
    with httpx.Client(transport=transport) as client, pytest.raises(httpx.ConnectError) as caught:
        client.get(f"http://127.0.0.1:{port}/file.bin")
    assert isinstance(caught.value.__cause__, httpcore.ConnectError)


@contextmanager
def _raw_server(reply: bytes, *, then_close: bool) -> Iterator[str]:
    """A server that sends ``reply`` to the first connection, then closes it or stays silent."""
    listener = socket.create_server(("127.0.0.1", 0))
    done = threading.Event()

    def serve_one() -> None:
        connection, _ = listener.accept()
        with connection:
            connection.recv(65536)
            connection.sendall(reply)
            if not then_close:
                done.wait(10)

    thread = threading.Thread(target=serve_one, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}/file.bin"
    finally:
        done.set()
        thread.join(10)
        listener.close()


def test_a_silent_server_is_an_httpx_read_timeout() -> None:
    transport = LargeReadTransport(limits=httpx.Limits())
    with (
        _raw_server(b"", then_close=False) as url,
        httpx.Client(transport=transport, timeout=0.3) as client,
        pytest.raises(httpx.ReadTimeout),
    ):
        client.get(url)


def test_a_body_cut_short_is_an_httpx_transport_error() -> None:
    reply = b"HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\n\r\n" + b"x" * 300_000
    transport = LargeReadTransport(limits=httpx.Limits())
    with (
        _raw_server(reply, then_close=True) as url,
        httpx.Client(transport=transport) as client,
        client.stream("GET", url) as response,
        pytest.raises(httpx.TransportError) as caught,
    ):
        for _ in response.iter_bytes():
            pass
    assert isinstance(caught.value, httpx.RemoteProtocolError | httpx.ReadError)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="sync_file_range is Linux only")
def test_writeback_is_requested_on_linux(tmp_path: Any) -> None:
    path = tmp_path / "data.bin"
    path.write_bytes(b"\1" * (4 << 20))
    with open(path, "r+b") as handle:
        handle.write(b"\2" * 4096)
        handle.flush()
        assert start_writeback(handle.fileno()) is True
    assert start_writeback(-1) is False  # a bad descriptor: no exception, the final fsync decides


PROXY_VARIABLES = ("http_proxy", "https_proxy", "all_proxy", "no_proxy")


def _clear_proxies(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)


def test_the_engine_reads_large_pieces_unless_a_proxy_is_set(monkeypatch: pytest.MonkeyPatch) -> None:
    _clear_proxies(monkeypatch)
    transport = engine_transport(httpx.Limits())
    assert isinstance(transport, LargeReadTransport)
    transport.close()

    monkeypatch.setenv("NO_PROXY", "localhost")  # names no proxy
    transport = engine_transport(httpx.Limits())
    assert isinstance(transport, LargeReadTransport)
    transport.close()

    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.invalid:3128")
    assert engine_transport(httpx.Limits()) is None  # httpx's default transport, which honours it


def test_fetch_goes_through_the_proxy_of_the_environment(
    monkeypatch: pytest.MonkeyPatch, local_file: tuple[ServerState, str], tmp_path: Path
) -> None:
    state, url = local_file
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    _clear_proxies(monkeypatch)
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{closed_port}")  # a proxy that is down

    with pytest.raises(PixxelError):
        fetch(url + "?sig=1", tmp_path / "file.bin", retry=RetryPolicy(max_attempts=1))

    assert state.log == []  # nothing went around the proxy to the server
    assert not (tmp_path / "file.bin").exists()


def test_httpx_request_logs_carry_no_signature(
    local_file: tuple[ServerState, str], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    _, url = local_file
    with caplog.at_level(logging.INFO, logger="httpx"):
        fetch(url + "?sig=1", tmp_path / "file.bin", connections=2, part_size=300_000)

    requests = [r.getMessage() for r in caplog.records if r.name == "httpx"]
    assert requests and all("HTTP Request: GET http://127.0.0.1" in m for m in requests)
    assert not [m for m in requests if "sig=1" in m]
    assert all("/file.bin?…" in m for m in requests)
