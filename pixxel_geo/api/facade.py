"""The resources' facades, written once for both clients.

A facade method is one line: it hands an operation to its client's driver
(``return self._client._run(self._ops.get(id))``). The sync driver's ``_run`` returns
the result; the async driver's returns an awaitable of it. So the sync facade's
methods serve the async facade as they are: :func:`awaitable` and
:func:`async_iterable` only give them the async face (``async def``, the same
signature and docstring, the right types), and the signatures are written once.
"""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Iterator
from typing import Any, ClassVar, Concatenate, ParamSpec, TypeVar, cast

__all__ = ["Facade", "async_iterable", "awaitable"]

P = ParamSpec("P")
T = TypeVar("T")


class Facade:
    """What a resource's two facades hold: the client that drives, and the resource's operations
    (``operations``, built from the client: its policies, such as the poll schedule, come with it)."""

    operations: ClassVar[type[Any]]

    def __init__(self, client: Any) -> None:
        self._client = client
        self._ops = self.operations(client)


def awaitable(method: Callable[Concatenate[Any, P], T]) -> Callable[Concatenate[Any, P], Coroutine[Any, Any, T]]:
    """The async twin of a sync facade method: the same body, on a client whose ``_run`` is awaitable."""

    @functools.wraps(method)
    async def twin(self: Any, *args: P.args, **kwargs: P.kwargs) -> T:
        return await cast(Awaitable[T], method(self, *args, **kwargs))

    return twin


def async_iterable(
    method: Callable[Concatenate[Any, P], Iterator[T]],
) -> Callable[Concatenate[Any, P], AsyncIterator[T]]:
    """The async twin of a sync facade method that iterates: the async client's ``_iterate`` is ``async for``."""

    @functools.wraps(method)
    def twin(self: Any, *args: P.args, **kwargs: P.kwargs) -> AsyncIterator[T]:
        return cast(AsyncIterator[T], method(self, *args, **kwargs))

    return twin
