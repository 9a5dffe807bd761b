"""The sync :class:`Client` and the :class:`AsyncClient`: thin drivers of shared operations.

Each endpoint's logic lives once, in the resource modules, as a generator of
steps (:mod:`pixxel_geo.api._steps`). The two classes below differ only in how
they send a request and how they sleep.

They speak the API only: ``px.Client`` and ``px.AsyncClient``
(:mod:`pixxel_geo.transfer.client`) add ``download``, which fetches a product's
bytes with the transfer engine, so this package imports nothing above it.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator, Generator
from types import TracebackType
from typing import Any, Self, TypeVar

import httpx

from pixxel_geo.api._base import BaseClient
from pixxel_geo.api._steps import Emit, Now, Operation, Sleep, advance, keep_result, tell_time
from pixxel_geo.api._waiting import PollSchedule
from pixxel_geo.api.catalogs import AsyncCatalogs, Catalogs
from pixxel_geo.api.clock import SYSTEM_CLOCK, Clock
from pixxel_geo.api.config import ClientConfig, resolve_config
from pixxel_geo.api.deadline import DEADLINE, BoundedBody, default_transport
from pixxel_geo.api.deliveries import AsyncDeliveries, Deliveries
from pixxel_geo.api.downloads import AsyncDownloads, Downloads
from pixxel_geo.api.errors import ConfigurationError
from pixxel_geo.api.order_items import AsyncOrderItems, OrderItems
from pixxel_geo.api.retry import RetryPolicy
from pixxel_geo.api.stores import AsyncStores, Stores

__all__ = ["AsyncClient", "Client"]

T = TypeVar("T")


def _config_from(
    api_key: str | None,
    base_url: str | None,
    timeout: float | None,
    retry: RetryPolicy | None,
    config: ClientConfig | None,
) -> ClientConfig:
    if config is None:
        return resolve_config(api_key=api_key, base_url=base_url, timeout=timeout, retry=retry)
    if not isinstance(config, ClientConfig):
        raise ConfigurationError(f"config must be a ClientConfig, got {type(config).__name__}.")
    given = [name for name, value in (("api_key", api_key), ("base_url", base_url), ("timeout", timeout),
                                      ("retry", retry)) if value is not None]  # fmt: skip
    if given:
        raise ConfigurationError(
            f"Pass either config= or individual settings ({', '.join(given)}), not both: "
            "config= already holds them all. Use dataclasses.replace(config, ...) to change one."
        )
    return config


def _checked_parts(poll_schedule: Any, transport: Any, kind: type, clock: Any) -> PollSchedule:
    if poll_schedule is not None and not isinstance(poll_schedule, PollSchedule):
        raise ConfigurationError(f"poll_schedule must be a PollSchedule, got {type(poll_schedule).__name__}.")
    if clock is not None and not isinstance(clock, Clock):
        raise ConfigurationError(f"clock must be a pixxel_geo.api.clock.Clock, got {type(clock).__name__}.")
    if transport is not None and not isinstance(transport, kind):
        raise ConfigurationError(
            f"transport must be an {kind.__module__}.{kind.__name__}, got {type(transport).__name__}."
        )
    return poll_schedule or PollSchedule()


class Client(BaseClient):
    """The Pixxel API client (the core: ``px.Client`` adds ``download``, which needs the transfer engine).

    Args:
        api_key: a Personal Access Token (with or without ``Bearer ``). Else
            ``PIXXEL_API_KEY``, else ``api_key`` in ``~/.config/pixxel/config.toml``.
        base_url: else ``PIXXEL_API_URL``, else ``https://api.pixxel.space``.
        timeout: seconds each call may take in all (default 30): connecting, the answer's
            headers and body, and any retries; a server dripping bytes cannot stretch it.
        transport: an ``httpx.BaseTransport`` (tests, proxies, QGIS's network stack).
        retry: a :class:`RetryPolicy`.
        config: a resolved :class:`ClientConfig` instead of ``api_key``, ``base_url``,
            ``timeout`` and ``retry`` (passing both is a :class:`ConfigurationError`).
        poll_schedule: how often waits poll (a :class:`PollSchedule`).
        clock: the time the client runs on (a :class:`~pixxel_geo.api.clock.Clock`; default the
            system's): its retries, waits and request deadlines read it and sleep on it.

    Example:
        >>> import pixxel_geo as px
        >>> with px.Client() as client:  # doctest: +SKIP
        ...     for catalog in client.catalogs.search(max_items=5):
        ...         print(catalog.id, catalog.cloud_cover)
    """

    def __init__(
        self,
        api_key: str | None = None,
        base_url: str | None = None,
        timeout: float | None = None,
        transport: httpx.BaseTransport | None = None,
        *,
        retry: RetryPolicy | None = None,
        config: ClientConfig | None = None,
        poll_schedule: PollSchedule | None = None,
        clock: Clock | None = None,
    ) -> None:
        super().__init__(_config_from(api_key, base_url, timeout, retry, config))
        self._poll_schedule = _checked_parts(poll_schedule, transport, httpx.BaseTransport, clock)
        self._clock = clock or SYSTEM_CLOCK
        self._http = httpx.Client(transport=transport or default_transport(self._clock.now), **self._client_kwargs())
        self.stores = Stores(self)
        self.catalogs = Catalogs(self)
        self.order_items = OrderItems(self)
        self.deliveries = Deliveries(self)
        self.downloads = Downloads(self)

    @classmethod
    def from_config(cls, config: ClientConfig, transport: httpx.BaseTransport | None = None) -> Self:
        """A client built from a :class:`ClientConfig` (e.g. on a dask worker)."""
        return cls(config=config, transport=transport)

    def ping(self) -> str:
        """``GET /ping``: is the API reachable? No key needed.

        Returns:
            The server's answer, e.g. ``"pong"``.

        Raises:
            NetworkError, RequestTimeoutError: the server cannot be reached.

        Example:
            >>> px.Client(base_url="http://127.0.0.1:8000").ping()  # doctest: +SKIP
            'pong'
        """
        return str(self._run(self.request("GET", "/ping", authenticated=False)))

    # -- the driver ---------------------------------------------------------------

    def _step(self, step: Any) -> tuple[Any, BaseException | None]:
        if isinstance(step, Sleep):
            self._clock.sleep(step.seconds)
            return None, None
        if isinstance(step, Now):
            return tell_time(self._clock, step), None
        deadline = step.extensions.get(DEADLINE)
        try:
            response = self._http.send(step, stream=True)
            try:
                if deadline is not None and isinstance(response.stream, httpx.SyncByteStream):
                    response.stream = BoundedBody(response.stream, deadline, step, self._clock.now)
                response.read()
            finally:
                response.close()
        except httpx.RequestError as exc:  # transport failures, and bodies that do not decode
            return None, exc
        return response, None

    def _iterate(self, operation: Operation[Any]) -> Generator[Any, None, None]:
        """Carry out ``operation``'s steps; yield what it emits."""
        answer: Any = None
        error: BaseException | None = None
        while True:
            try:
                step = advance(operation, answer, error)
            except StopIteration:
                return
            if isinstance(step, Emit):
                answer, error = None, None
                yield step.value
            else:
                answer, error = self._step(step)

    def _run(self, operation: Operation[T]) -> T:
        result: list[T] = []
        with contextlib.closing(self._iterate(keep_result(operation, result))) as emitted:
            for _ in emitted:
                raise TypeError("a paging operation must be iterated, not run")
        return result[0]

    @property
    def closed(self) -> bool:
        """True once :meth:`close` was called (a closed client sends nothing more)."""
        return self._http.is_closed

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


class AsyncClient(BaseClient):
    """The asyncio twin of :class:`Client`: same resources, awaitable methods.

    Example:
        >>> async with px.AsyncClient() as client:  # doctest: +SKIP
        ...     download = await client.downloads.create(catalog_ids=[catalog_id])
        ...     download = await client.downloads.wait(download.id)
    """

    def __init__(
        self,
        api_key: str | None = None,
        base_url: str | None = None,
        timeout: float | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        *,
        retry: RetryPolicy | None = None,
        config: ClientConfig | None = None,
        poll_schedule: PollSchedule | None = None,
        clock: Clock | None = None,
    ) -> None:
        super().__init__(_config_from(api_key, base_url, timeout, retry, config))
        self._poll_schedule = _checked_parts(poll_schedule, transport, httpx.AsyncBaseTransport, clock)
        self._clock = clock or SYSTEM_CLOCK
        self._http = httpx.AsyncClient(transport=transport, **self._client_kwargs())
        self.stores = AsyncStores(self)
        self.catalogs = AsyncCatalogs(self)
        self.order_items = AsyncOrderItems(self)
        self.deliveries = AsyncDeliveries(self)
        self.downloads = AsyncDownloads(self)

    @classmethod
    def from_config(cls, config: ClientConfig, transport: httpx.AsyncBaseTransport | None = None) -> Self:
        """A client built from a :class:`ClientConfig`."""
        return cls(config=config, transport=transport)

    async def ping(self) -> str:
        """``GET /ping`` (no key needed)."""
        return str(await self._run(self.request("GET", "/ping", authenticated=False)))

    # -- the driver ---------------------------------------------------------------

    async def _step(self, step: Any) -> tuple[Any, BaseException | None]:
        if isinstance(step, Sleep):
            await self._clock.asleep(step.seconds)
            return None, None
        if isinstance(step, Now):
            return tell_time(self._clock, step), None
        deadline = step.extensions.get(DEADLINE)
        left = None if deadline is None else max(0.0, deadline - self._clock.now())
        try:
            async with asyncio.timeout(left):  # the whole exchange, headers and body
                return await self._http.send(step), None
        except TimeoutError:
            return None, httpx.ReadTimeout("the answer did not arrive in time", request=step)
        except httpx.RequestError as exc:  # transport failures, and bodies that do not decode
            return None, exc

    async def _iterate(self, operation: Operation[Any]) -> AsyncGenerator[Any, None]:
        answer: Any = None
        error: BaseException | None = None
        while True:
            try:
                step = advance(operation, answer, error)
            except StopIteration:
                return
            if isinstance(step, Emit):
                answer, error = None, None
                yield step.value
            else:
                answer, error = await self._step(step)

    async def _run(self, operation: Operation[T]) -> T:
        result: list[T] = []
        async with contextlib.aclosing(self._iterate(keep_result(operation, result))) as emitted:
            async for _ in emitted:
                raise TypeError("a paging operation must be iterated, not run")
        return result[0]

    @property
    def closed(self) -> bool:
        """True once :meth:`aclose` was called (a closed client sends nothing more)."""
        return self._http.is_closed

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()
