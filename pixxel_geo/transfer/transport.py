"""The engine's HTTP transport: httpx over httpcore, reading plain-HTTP sockets in large pieces.

httpx's default transport asks the socket for at most 64 KiB per read. On a
fast link (loopback, a LAN store) every piece then costs a pass through h11,
httpcore and httpx, and that Python work, not the network, bounds the
transfer: reading up to 256 KiB at a time took a 568 MB loopback download
from 0.60 s to 0.52 s (2 cores shared with the server). A larger read is
asked for only while reads bring at least what httpcore asks for: CPython
allocates the whole size asked for before each ``recv``, which costs more
than it saves when little data is waiting (a slow link). TLS streams are left as they are: a TLS read
returns one record (16 KiB at most) whatever is asked.

:class:`LargeReadTransport` is httpcore's own connection pool with a network
backend that asks for more per read; everything else (TLS with verification,
keep-alive, timeouts from the request) is httpcore's. ``httpx.Client``
ignores the proxy environment variables when given a transport, so
:func:`engine_transport` uses this one only when no proxy is set, and leaves
proxied set-ups to httpx's own transports.
"""

from __future__ import annotations

import contextlib
import ssl
import typing
import urllib.request
from collections.abc import Iterable, Iterator

import httpcore
import httpx

__all__ = ["READ_SIZE", "LargeReadTransport", "engine_transport"]

READ_SIZE = 256 << 10
"""Bytes asked of the socket per read (httpcore asks for 64 KiB)."""


def engine_transport(limits: httpx.Limits) -> httpx.BaseTransport | None:
    """The transport for the engine's client: :class:`LargeReadTransport`, or ``None`` when a proxy is set.

    ``None`` lets ``httpx.Client`` build its default transport and honour the
    proxy settings of the environment (``HTTPS_PROXY``, ``ALL_PROXY``...),
    which it reads with the same ``urllib.request.getproxies()``. ``NO_PROXY``
    alone names no proxy.
    """
    if any(scheme != "no" for scheme in urllib.request.getproxies()):
        return None
    return LargeReadTransport(limits=limits)


class LargeReadTransport(httpx.BaseTransport):
    """An HTTP/1.1 transport whose plain-HTTP socket reads ask for up to ``read_size`` bytes.

    Example:
        >>> transport = LargeReadTransport(limits=httpx.Limits(max_connections=8))
        >>> with httpx.Client(transport=transport) as client:  # doctest: +SKIP
        ...     client.get("http://127.0.0.1:8000/file.zip")
        >>> transport.close()
    """

    def __init__(self, *, limits: httpx.Limits, read_size: int = READ_SIZE, trust_env: bool = True) -> None:
        self.ssl_context = httpx.create_ssl_context(verify=True, trust_env=trust_env)
        self._pool = httpcore.ConnectionPool(
            ssl_context=self.ssl_context,
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=LargeReadBackend(httpcore.SyncBackend(), read_size),
        )

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if not isinstance(request.stream, httpx.SyncByteStream):
            raise TypeError("LargeReadTransport needs a synchronous request body")
        core_request = httpcore.Request(
            method=request.method,
            url=httpcore.URL(
                scheme=request.url.raw_scheme,
                host=request.url.raw_host,
                port=request.url.port,
                target=request.url.raw_path,
            ),
            headers=request.headers.raw,
            content=request.stream,
            extensions=request.extensions,
        )
        with _as_httpx_errors():
            response = self._pool.handle_request(core_request)
        assert isinstance(response.stream, Iterable)
        return httpx.Response(
            status_code=response.status,
            headers=response.headers,
            stream=_ResponseBody(response.stream),
            extensions=response.extensions,
        )

    def close(self) -> None:
        self._pool.close()


class LargeReadBackend(httpcore.NetworkBackend):
    """httpcore's sync backend, with streams that read ``read_size`` bytes at a time."""

    def __init__(self, backend: httpcore.NetworkBackend, read_size: int) -> None:
        self._backend = backend
        self._read_size = read_size

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: typing.Iterable[typing.Any] | None = None,
    ) -> httpcore.NetworkStream:
        stream = self._backend.connect_tcp(host, port, timeout, local_address, socket_options)
        return LargeReadStream(stream, self._read_size)

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: typing.Iterable[typing.Any] | None = None
    ) -> httpcore.NetworkStream:
        return LargeReadStream(self._backend.connect_unix_socket(path, timeout, socket_options), self._read_size)

    def sleep(self, seconds: float) -> None:
        self._backend.sleep(seconds)


class LargeReadStream(httpcore.NetworkStream):
    """A plain network stream asking for ``read_size`` bytes per read while reads bring ``max_bytes`` or more."""

    def __init__(self, stream: httpcore.NetworkStream, read_size: int) -> None:
        self._stream = stream
        self._read_size = read_size
        self._data_waiting = False

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        asked = max(max_bytes, self._read_size) if self._data_waiting else max_bytes
        data = self._stream.read(asked, timeout)
        self._data_waiting = len(data) >= max_bytes
        return data

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._stream.write(buffer, timeout)

    def close(self) -> None:
        self._stream.close()

    def start_tls(
        self, ssl_context: ssl.SSLContext, server_hostname: str | None = None, timeout: float | None = None
    ) -> httpcore.NetworkStream:
        return self._stream.start_tls(ssl_context, server_hostname, timeout)  # see the module's docstring

    def get_extra_info(self, info: str) -> typing.Any:
        return self._stream.get_extra_info(info)


class _ResponseBody(httpx.SyncByteStream):
    def __init__(self, stream: Iterable[bytes]) -> None:
        self._stream = stream

    def __iter__(self) -> Iterator[bytes]:
        with _as_httpx_errors():
            yield from self._stream

    def close(self) -> None:
        close = getattr(self._stream, "close", None)
        if close is not None:
            close()


@contextlib.contextmanager
def _as_httpx_errors() -> Iterator[None]:
    """Raise httpcore's errors as the httpx errors of the same name (``ReadError``, ``ConnectTimeout``...)."""
    try:
        yield
    except Exception as exc:
        for cls in type(exc).__mro__:
            if cls.__module__.startswith("httpcore"):
                mapped = getattr(httpx, cls.__name__, None)
                if isinstance(mapped, type) and issubclass(mapped, httpx.TransportError):
                    raise mapped(str(exc)) from exc
        raise
