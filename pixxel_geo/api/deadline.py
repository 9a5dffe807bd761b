"""One deadline for a whole request: connecting, the answer's headers and its body together.

httpx's timeouts bound each socket operation, so a server sending one byte a
second never trips a 3 s read timeout. The drivers bound the whole exchange:

- every request carries its deadline (a :func:`time.monotonic` value) in
  ``request.extensions[DEADLINE]`` and per-operation timeouts clipped to it;
- :class:`DeadlineTransport`, the sync client's default transport, clips each
  socket read and write to the time left (httpcore's public network-backend
  interface), so even dripped headers end at the deadline;
- :class:`BoundedBody` checks the deadline between body chunks, whatever the
  transport (a proxy's, QGIS's);
- the async client wraps the whole exchange in :func:`asyncio.timeout`.
"""

from __future__ import annotations

import contextlib
import contextvars
import time
import typing
import urllib.request
from collections.abc import Iterator

import httpcore
import httpx

__all__ = ["DEADLINE", "BoundedBody", "DeadlineTransport", "default_transport", "with_deadline"]

DEADLINE = "pixxel_geo.deadline"
"""The request extension holding the request's :func:`time.monotonic` deadline."""

_current: contextvars.ContextVar[float | None] = contextvars.ContextVar("pixxel_geo_deadline", default=None)


def with_deadline(request: httpx.Request, deadline: float, timeout: float) -> httpx.Request:
    """Stamp ``request`` with ``deadline`` and per-operation timeouts no longer than the time left."""
    left = max(0.001, deadline - time.monotonic())
    request.extensions = {
        **request.extensions,
        DEADLINE: deadline,
        "timeout": {
            "connect": min(10.0, timeout, left),
            "read": min(timeout, left),
            "write": min(timeout, left),
            "pool": min(timeout, left),
        },
    }
    return request


@contextlib.contextmanager
def deadline_scope(deadline: float | None) -> Iterator[None]:
    """Make ``deadline`` the one :class:`DeadlineTransport` enforces in this context."""
    token = _current.set(deadline)
    try:
        yield
    finally:
        _current.reset(token)


def _clip(timeout: float | None, error: type[Exception]) -> float | None:
    deadline = _current.get()
    if deadline is None:
        return timeout
    left = deadline - time.monotonic()
    if left <= 0:
        raise error("the request's deadline passed")
    return left if timeout is None else min(timeout, left)


class BoundedBody(httpx.SyncByteStream):
    """A response body that raises :class:`httpx.ReadTimeout` once the deadline passes."""

    def __init__(self, stream: httpx.SyncByteStream, deadline: float, request: httpx.Request) -> None:
        self._stream = stream
        self._deadline = deadline
        self._request = request

    def __iter__(self) -> Iterator[bytes]:
        for chunk in self._stream:
            if time.monotonic() > self._deadline:
                raise httpx.ReadTimeout("the answer did not arrive in time", request=self._request)
            yield chunk

    def close(self) -> None:
        self._stream.close()


class _DeadlineStream(httpcore.NetworkStream):
    def __init__(self, stream: httpcore.NetworkStream) -> None:
        self._stream = stream

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._stream.read(max_bytes, _clip(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._stream.write(buffer, _clip(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._stream.close()

    def start_tls(
        self, ssl_context: typing.Any, server_hostname: str | None = None, timeout: float | None = None
    ) -> httpcore.NetworkStream:
        return _DeadlineStream(
            self._stream.start_tls(ssl_context, server_hostname, _clip(timeout, httpcore.ConnectTimeout))
        )

    def get_extra_info(self, info: str) -> typing.Any:
        return self._stream.get_extra_info(info)


class _DeadlineBackend(httpcore.NetworkBackend):
    def __init__(self) -> None:
        self._backend = httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: typing.Iterable[typing.Any] | None = None,
    ) -> httpcore.NetworkStream:
        timeout = _clip(timeout, httpcore.ConnectTimeout)
        return _DeadlineStream(self._backend.connect_tcp(host, port, timeout, local_address, socket_options))

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: typing.Iterable[typing.Any] | None = None
    ) -> httpcore.NetworkStream:
        timeout = _clip(timeout, httpcore.ConnectTimeout)
        return _DeadlineStream(self._backend.connect_unix_socket(path, timeout, socket_options))

    def sleep(self, seconds: float) -> None:
        self._backend.sleep(seconds)


_ERRORS: tuple[tuple[type[Exception], type[httpx.TransportError]], ...] = (
    (httpcore.ConnectTimeout, httpx.ConnectTimeout),
    (httpcore.ReadTimeout, httpx.ReadTimeout),
    (httpcore.WriteTimeout, httpx.WriteTimeout),
    (httpcore.PoolTimeout, httpx.PoolTimeout),
    (httpcore.TimeoutException, httpx.TimeoutException),
    (httpcore.ConnectError, httpx.ConnectError),
    (httpcore.ReadError, httpx.ReadError),
    (httpcore.WriteError, httpx.WriteError),
    (httpcore.NetworkError, httpx.NetworkError),
    (httpcore.RemoteProtocolError, httpx.RemoteProtocolError),
    (httpcore.LocalProtocolError, httpx.LocalProtocolError),
    (httpcore.ProtocolError, httpx.ProtocolError),
    (httpcore.UnsupportedProtocol, httpx.UnsupportedProtocol),
    (httpcore.ProxyError, httpx.ProxyError),
)


@contextlib.contextmanager
def _as_httpx(request: httpx.Request) -> Iterator[None]:
    try:
        yield
    except Exception as exc:
        for core, mapped in _ERRORS:
            if isinstance(exc, core):
                raise mapped(str(exc) or type(exc).__name__, request=request) from exc
        raise


class _Body(httpx.SyncByteStream):
    def __init__(self, stream: typing.Iterable[bytes], request: httpx.Request) -> None:
        self._stream = stream
        self._request = request

    def __iter__(self) -> Iterator[bytes]:
        chunks = iter(self._stream)
        deadline = self._request.extensions.get(DEADLINE)
        while True:
            with deadline_scope(deadline), _as_httpx(self._request):  # each read, not across yields
                chunk = next(chunks, None)
            if chunk is None:
                return
            yield chunk

    def close(self) -> None:
        close = getattr(self._stream, "close", None)
        if close is not None:
            close()


class DeadlineTransport(httpx.BaseTransport):
    """HTTP/1.1 through httpcore, every socket operation clipped to the request's deadline.

    Example:
        >>> with httpx.Client(transport=DeadlineTransport()) as client:  # doctest: +SKIP
        ...     client.get("https://api.pixxel.space/ping")
    """

    def __init__(self, *, trust_env: bool = True) -> None:
        self._pool = httpcore.ConnectionPool(
            ssl_context=httpx.create_ssl_context(trust_env=trust_env),
            max_connections=100,
            max_keepalive_connections=20,
            keepalive_expiry=5.0,
            network_backend=_DeadlineBackend(),
        )

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if not isinstance(request.stream, httpx.SyncByteStream):  # pragma: no cover - httpx.Client always gives one
            raise TypeError("DeadlineTransport needs a synchronous request body")
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
        with deadline_scope(request.extensions.get(DEADLINE)), _as_httpx(request):
            response = self._pool.handle_request(core_request)
        assert isinstance(response.stream, typing.Iterable)
        return httpx.Response(
            status_code=response.status,
            headers=response.headers,
            stream=_Body(response.stream, request),
            extensions=response.extensions,
        )

    def close(self) -> None:
        self._pool.close()


def default_transport() -> httpx.BaseTransport | None:
    """The sync client's transport: :class:`DeadlineTransport`, or ``None`` (httpx's own) when
    the environment names a proxy, which httpx's default transport knows how to use."""
    if any(scheme != "no" for scheme in urllib.request.getproxies()):
        return None
    return DeadlineTransport()
