"""The engine's HTTP transport: httpx over httpcore, reading plain-HTTP sockets in large pieces.

httpx's default transport asks the socket for at most 64 KiB per read. On a fast
link (loopback, a LAN store) every piece then costs a pass through h11, httpcore
and httpx, and that Python work, not the network, bounds the transfer; asking for
up to :data:`READ_SIZE` at a time removes much of it (figures in
``benchmarks/README.md``, "Downloads"). A larger read is asked for only while reads
bring at least what httpcore asks for: CPython allocates the whole size asked for
before each ``recv``, which costs more than it saves when little data is waiting
(a slow link). TLS streams are left as they are: a TLS read returns one record
(16 KiB at most) whatever is asked.

:class:`LargeReadTransport` is the core's
:class:`~pixxel_geo.api.transport.HttpcoreTransport` (httpcore's own connection pool:
TLS with verification, keep-alive, timeouts from the request) over a network backend
that asks for more per read. ``httpx.Client`` ignores the proxy environment variables
when given a transport, so :func:`engine_transport` uses this one only when no proxy
is set, and leaves proxied set-ups to httpx's own transports.
"""

from __future__ import annotations

import ssl

import httpcore
import httpx

from pixxel_geo.api.transport import HttpcoreTransport, StreamWrapper, WrappingBackend, proxy_configured

__all__ = ["READ_SIZE", "LargeReadBackend", "LargeReadStream", "LargeReadTransport", "engine_transport"]

READ_SIZE = 256 << 10
"""Bytes asked of the socket per read (httpcore asks for 64 KiB)."""


def engine_transport(limits: httpx.Limits) -> httpx.BaseTransport | None:
    """The transport for the engine's client: :class:`LargeReadTransport`, or ``None`` when a proxy is set.

    ``None`` lets ``httpx.Client`` build its default transport and honour the
    proxy settings of the environment (``HTTPS_PROXY``, ``ALL_PROXY``...); see
    :func:`pixxel_geo.api.transport.proxy_configured`.

    Example:
        >>> transport = engine_transport(httpx.Limits(max_connections=8))  # doctest: +SKIP
    """
    return None if proxy_configured() else LargeReadTransport(limits=limits)


class LargeReadTransport(HttpcoreTransport):
    """An HTTP/1.1 transport whose plain-HTTP socket reads ask for up to ``read_size`` bytes.

    Example:
        >>> transport = LargeReadTransport(limits=httpx.Limits(max_connections=8))
        >>> with httpx.Client(transport=transport) as client:  # doctest: +SKIP
        ...     client.get("http://127.0.0.1:8000/file.zip")
        >>> transport.close()
    """

    def __init__(self, *, limits: httpx.Limits, read_size: int = READ_SIZE, trust_env: bool = True) -> None:
        super().__init__(LargeReadBackend(httpcore.SyncBackend(), read_size), limits=limits, trust_env=trust_env)


class LargeReadBackend(WrappingBackend):
    """httpcore's sync backend, with streams that read ``read_size`` bytes at a time."""

    def __init__(self, backend: httpcore.NetworkBackend, read_size: int) -> None:
        super().__init__(lambda stream: LargeReadStream(stream, read_size), backend)


class LargeReadStream(StreamWrapper):
    """A plain network stream asking for ``read_size`` bytes per read while reads bring ``max_bytes`` or more."""

    def __init__(self, stream: httpcore.NetworkStream, read_size: int) -> None:
        super().__init__(stream)
        self._read_size = read_size
        self._data_waiting = False

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        asked = max(max_bytes, self._read_size) if self._data_waiting else max_bytes
        data = self._stream.read(asked, timeout)
        self._data_waiting = len(data) >= max_bytes
        return data

    def start_tls(
        self, ssl_context: ssl.SSLContext, server_hostname: str | None = None, timeout: float | None = None
    ) -> httpcore.NetworkStream:
        return self._stream.start_tls(ssl_context, server_hostname, timeout)  # see the module's docstring
