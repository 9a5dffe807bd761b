"""One deadline for a whole request: connecting, the answer's headers and its body together.

httpx's timeouts bound each socket operation, so a server sending one byte a
second never trips a 3 s read timeout. The drivers bound the whole exchange:

- every request carries its deadline (a time on the client's clock,
  :meth:`pixxel_geo.api.clock.Clock.now`) in ``request.extensions[DEADLINE]`` and
  per-operation timeouts clipped to it;
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
import typing
from collections.abc import Callable, Iterator

import httpcore
import httpx

from pixxel_geo.api.clock import SYSTEM_CLOCK
from pixxel_geo.api.transport import HttpcoreTransport, StreamWrapper, WrappingBackend, proxy_configured

__all__ = ["DEADLINE", "BoundedBody", "DeadlineTransport", "default_transport", "with_deadline"]

DEADLINE = "pixxel_geo.deadline"
"""The request extension holding the request's deadline (a time on the client's clock)."""

Now = Callable[[], float]
"""A clock's monotonic reading (:meth:`pixxel_geo.api.clock.Clock.now`)."""

_current: contextvars.ContextVar[tuple[float, Now] | None] = contextvars.ContextVar("pixxel_geo_deadline", default=None)


def with_deadline(request: httpx.Request, deadline: float, timeout: float, now: float) -> httpx.Request:
    """Stamp ``request`` with ``deadline`` and per-operation timeouts no longer than the time left at ``now``."""
    left = max(0.001, deadline - now)
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
def deadline_scope(deadline: float | None, now: Now = SYSTEM_CLOCK.now) -> Iterator[None]:
    """Make ``deadline`` (on the clock ``now`` reads) the one :class:`DeadlineTransport` enforces here."""
    token = _current.set(None if deadline is None else (deadline, now))
    try:
        yield
    finally:
        _current.reset(token)


def _clip(timeout: float | None, error: type[Exception]) -> float | None:
    current = _current.get()
    if current is None:
        return timeout
    deadline, now = current
    left = deadline - now()
    if left <= 0:
        raise error("the request's deadline passed")
    return left if timeout is None else min(timeout, left)


class BoundedBody(httpx.SyncByteStream):
    """A response body that raises :class:`httpx.ReadTimeout` once the deadline passes."""

    def __init__(
        self, stream: httpx.SyncByteStream, deadline: float, request: httpx.Request, now: Now = SYSTEM_CLOCK.now
    ) -> None:
        self._stream = stream
        self._deadline = deadline
        self._request = request
        self._now = now

    def __iter__(self) -> Iterator[bytes]:
        for chunk in self._stream:
            if self._now() > self._deadline:
                raise httpx.ReadTimeout("the answer did not arrive in time", request=self._request)
            yield chunk

    def close(self) -> None:
        self._stream.close()


class _DeadlineStream(StreamWrapper):
    def __init__(self, stream: httpcore.NetworkStream, now: Now) -> None:
        super().__init__(stream)
        self._now = now

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._stream.read(max_bytes, _clip(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._stream.write(buffer, _clip(timeout, httpcore.WriteTimeout))

    def start_tls(
        self, ssl_context: typing.Any, server_hostname: str | None = None, timeout: float | None = None
    ) -> httpcore.NetworkStream:
        tls = self._stream.start_tls(ssl_context, server_hostname, _clip(timeout, httpcore.ConnectTimeout))
        return _DeadlineStream(tls, self._now)


class _DeadlineBackend(WrappingBackend):
    def __init__(self, now: Now) -> None:
        super().__init__(lambda stream: _DeadlineStream(stream, now))

    def connect_timeout(self, timeout: float | None) -> float | None:
        return _clip(timeout, httpcore.ConnectTimeout)


class DeadlineTransport(HttpcoreTransport):
    """HTTP/1.1 through httpcore, every socket operation clipped to the request's deadline.

    Args:
        trust_env: read SSL settings from the environment, as httpx does.
        now: the clock the requests' deadlines are on (the client's: ``clock.now``).

    Example:
        >>> with httpx.Client(transport=DeadlineTransport()) as client:  # doctest: +SKIP
        ...     client.get("https://api.pixxel.space/ping")
    """

    def __init__(self, *, trust_env: bool = True, now: Now = SYSTEM_CLOCK.now) -> None:
        super().__init__(_DeadlineBackend(now), trust_env=trust_env)
        self._now = now

    def scope(self, request: httpx.Request) -> contextlib.AbstractContextManager[None] | None:
        return deadline_scope(request.extensions.get(DEADLINE), self._now)


def default_transport(now: Now = SYSTEM_CLOCK.now) -> httpx.BaseTransport | None:
    """The sync client's transport: :class:`DeadlineTransport` on the clock ``now`` reads, or ``None``
    (httpx's own) when the environment names a proxy, which httpx's default transport knows how to use."""
    return None if proxy_configured() else DeadlineTransport(now=now)
