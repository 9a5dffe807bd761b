"""httpx over httpcore with a network backend of one's own: the base of the project's transports.

httpx's default transport builds its httpcore connection pool itself, so changing how
sockets are read means writing a transport. :class:`HttpcoreTransport` is that transport
once: it turns an :class:`httpx.Request` into an httpcore one, sends it through a pool
whose network backend the caller chooses, and raises httpcore's errors as the httpx
errors of the same name. :class:`WrappingBackend` and :class:`StreamWrapper` make such a
backend by wrapping httpcore's own sockets. Two transports are built on it:

- :class:`pixxel_geo.api.deadline.DeadlineTransport` (the clients' default): every socket
  operation clipped to the request's deadline;
- :class:`pixxel_geo.transfer.transport.LargeReadTransport` (the download engine's): larger
  socket reads on a fast link.
"""

from __future__ import annotations

import contextlib
import typing
import urllib.request
from collections.abc import Callable, Iterable, Iterator

import httpcore
import httpx

__all__ = ["HttpcoreTransport", "StreamWrapper", "WrappingBackend", "as_httpx_errors", "proxy_configured"]

DEFAULT_LIMITS = httpx.Limits(max_connections=100, max_keepalive_connections=20, keepalive_expiry=5.0)
"""httpx's own pool limits."""


def proxy_configured() -> bool:
    """Whether the environment names a proxy (``HTTPS_PROXY``, ``ALL_PROXY``...; ``NO_PROXY`` alone names none).

    ``httpx.Client`` ignores the proxy settings when given a transport, so the project's
    transports stand aside then and leave the client to httpx's own, which reads the same
    ``urllib.request.getproxies()``.

    Example:
        >>> isinstance(proxy_configured(), bool)
        True
    """
    return any(scheme != "no" for scheme in urllib.request.getproxies())


@contextlib.contextmanager
def as_httpx_errors(request: httpx.Request | None = None) -> Iterator[None]:
    """Raise httpcore's errors as the httpx errors of the same name (``ReadError``, ``ConnectTimeout``...).

    Example:
        >>> with as_httpx_errors():  # doctest: +IGNORE_EXCEPTION_DETAIL
        ...     raise httpcore.ReadTimeout("slow")
        Traceback (most recent call last):
        httpx.ReadTimeout: slow
    """
    try:
        yield
    except Exception as exc:
        for cls in type(exc).__mro__:
            if cls.__module__.startswith("httpcore"):
                mapped = getattr(httpx, cls.__name__, None)
                if isinstance(mapped, type) and issubclass(mapped, httpx.TransportError):
                    raise mapped(str(exc) or type(exc).__name__, request=request) from exc
        raise


class StreamWrapper(httpcore.NetworkStream):
    """A network stream that passes every call to the one it wraps; subclasses change some."""

    def __init__(self, stream: httpcore.NetworkStream) -> None:
        self._stream = stream

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._stream.read(max_bytes, timeout)

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._stream.write(buffer, timeout)

    def close(self) -> None:
        self._stream.close()

    def start_tls(
        self, ssl_context: typing.Any, server_hostname: str | None = None, timeout: float | None = None
    ) -> httpcore.NetworkStream:
        return self._stream.start_tls(ssl_context, server_hostname, timeout)

    def get_extra_info(self, info: str) -> typing.Any:
        return self._stream.get_extra_info(info)


class WrappingBackend(httpcore.NetworkBackend):
    """httpcore's sync backend (or ``backend``) whose new streams are passed through ``wrap``.

    Subclasses may change :meth:`connect_timeout` (the timeout a connection attempt gets).
    """

    def __init__(
        self,
        wrap: Callable[[httpcore.NetworkStream], httpcore.NetworkStream],
        backend: httpcore.NetworkBackend | None = None,
    ) -> None:
        self._wrap = wrap
        self._backend = backend or httpcore.SyncBackend()

    def connect_timeout(self, timeout: float | None) -> float | None:
        return timeout

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: typing.Iterable[typing.Any] | None = None,
    ) -> httpcore.NetworkStream:
        timeout = self.connect_timeout(timeout)
        return self._wrap(self._backend.connect_tcp(host, port, timeout, local_address, socket_options))

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: typing.Iterable[typing.Any] | None = None
    ) -> httpcore.NetworkStream:
        timeout = self.connect_timeout(timeout)
        return self._wrap(self._backend.connect_unix_socket(path, timeout, socket_options))

    def sleep(self, seconds: float) -> None:
        self._backend.sleep(seconds)


class HttpcoreTransport(httpx.BaseTransport):
    """HTTP/1.1 through httpcore's connection pool over ``backend`` (TLS verified, keep-alive, timeouts
    from the request: all httpcore's). Subclasses may wrap each socket call in :meth:`scope`.

    Example:
        >>> transport = HttpcoreTransport(httpcore.SyncBackend())
        >>> with httpx.Client(transport=transport) as client:  # doctest: +SKIP
        ...     client.get("https://api.pixxel.space/ping")
        >>> transport.close()
    """

    def __init__(
        self, backend: httpcore.NetworkBackend, *, limits: httpx.Limits = DEFAULT_LIMITS, trust_env: bool = True
    ) -> None:
        self.ssl_context = httpx.create_ssl_context(verify=True, trust_env=trust_env)
        self._pool = httpcore.ConnectionPool(
            ssl_context=self.ssl_context,
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=backend,
        )

    def scope(self, request: httpx.Request) -> contextlib.AbstractContextManager[None] | None:
        """The context each socket call of ``request`` runs in (sending, and each read of the body);
        ``None`` (the default) for none, which lets the body be read without a context per read."""
        return None

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if not isinstance(request.stream, httpx.SyncByteStream):  # pragma: no cover - httpx.Client always gives one
            raise TypeError(f"{type(self).__name__} needs a synchronous request body")
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
        with self.scope(request) or contextlib.nullcontext(), as_httpx_errors(request):
            response = self._pool.handle_request(core_request)
        assert isinstance(response.stream, Iterable)
        return httpx.Response(
            status_code=response.status,
            headers=response.headers,
            stream=_Body(response.stream, request, self.scope),
            extensions=response.extensions,
        )

    def close(self) -> None:
        self._pool.close()


class _Body(httpx.SyncByteStream):
    def __init__(
        self,
        stream: Iterable[bytes],
        request: httpx.Request,
        scope: Callable[[httpx.Request], contextlib.AbstractContextManager[None] | None],
    ) -> None:
        self._stream = stream
        self._request = request
        self._scope = scope

    def __iter__(self) -> Iterator[bytes]:
        if self._scope(self._request) is None:  # the hot path of large downloads: one context for all reads
            with as_httpx_errors(self._request):
                yield from self._stream
            return
        chunks = iter(self._stream)
        while True:
            with self._scope(self._request) or contextlib.nullcontext(), as_httpx_errors(self._request):
                chunk = next(chunks, None)  # each read in the scope, not across yields
            if chunk is None:
                return
            yield chunk

    def close(self) -> None:
        close = getattr(self._stream, "close", None)
        if close is not None:
            close()
