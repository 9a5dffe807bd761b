"""The core's httpcore-based transport: the base of DeadlineTransport and the engine's LargeReadTransport."""

from __future__ import annotations

import httpcore
import httpx
import pytest

from pixxel_geo.api.deadline import DeadlineTransport
from pixxel_geo.api.transport import (
    HttpcoreTransport,
    StreamWrapper,
    WrappingBackend,
    as_httpx_errors,
    proxy_configured,
)
from pixxel_geo.transfer.transport import LargeReadTransport


@pytest.mark.parametrize(
    ("raised", "expected"),
    [
        (httpcore.ReadTimeout("slow"), httpx.ReadTimeout),
        (httpcore.ConnectError("refused"), httpx.ConnectError),
        (httpcore.RemoteProtocolError("bad"), httpx.RemoteProtocolError),
        (httpcore.PoolTimeout("full"), httpx.PoolTimeout),
    ],
)
def test_httpcore_errors_become_the_httpx_errors_of_the_same_name(raised, expected):
    request = httpx.Request("GET", "http://127.0.0.1:9/x")
    with pytest.raises(expected) as info, as_httpx_errors(request):
        raise raised
    assert info.value.request is request and info.value.__cause__ is raised


def test_other_errors_pass_unchanged():
    with pytest.raises(KeyError), as_httpx_errors():
        raise KeyError("x")


def test_a_proxy_in_the_environment_is_seen(monkeypatch):
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NO_PROXY", "example.com")
    assert not proxy_configured()
    monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:9")
    assert proxy_configured()


def test_both_project_transports_are_the_one_base_over_wrapped_sockets():
    for transport in (DeadlineTransport(), LargeReadTransport(limits=httpx.Limits())):
        assert isinstance(transport, HttpcoreTransport)
        backend = transport._pool._network_backend
        assert isinstance(backend, WrappingBackend)
        transport.close()


def test_a_connection_refused_is_an_httpx_error_through_the_base_transport():
    class Counting(StreamWrapper):
        pass

    transport = HttpcoreTransport(WrappingBackend(Counting))
    with httpx.Client(transport=transport) as client, pytest.raises(httpx.ConnectError):
        client.get("http://127.0.0.1:9/")
