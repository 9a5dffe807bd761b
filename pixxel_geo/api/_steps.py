"""The small vocabulary between endpoint logic and the two clients.

Every endpoint is written once, as a generator that yields *steps* and gets
answers back. The sync :class:`~pixxel_geo.Client` and the
:class:`~pixxel_geo.AsyncClient` only carry the steps out:

- an :class:`httpx.Request` is sent; the generator receives the
  :class:`httpx.Response`, or the transport exception is thrown into it;
- a :class:`Sleep` is slept (the client's clock: ``time.sleep`` or ``asyncio.sleep``);
- a :class:`Now` is answered with the time on the client's clock (operations never
  read the clock themselves, as in h11; see :mod:`pixxel_geo.api.clock`);
- an :class:`Emit` hands a value out of a paging iterator.

So retries, paging, waiting and the duplicate-free create logic exist once.
"""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

import httpx

if TYPE_CHECKING:
    from pixxel_geo.api.clock import Clock

__all__ = ["NOW", "WALL", "Emit", "Now", "Operation", "Sleep", "Step", "advance", "keep_result", "tell_time"]

T = TypeVar("T")


@dataclass(frozen=True)
class Sleep:
    """Wait this many seconds before going on."""

    seconds: float


@dataclass(frozen=True)
class Now:
    """Ask the driver for the time: its clock's monotonic seconds, or with ``wall`` the epoch seconds."""

    wall: bool = False


NOW = Now()
WALL = Now(wall=True)


@dataclass(frozen=True)
class Emit:
    """Hand ``value`` to the caller of a paging iterator."""

    value: Any


Step = httpx.Request | Sleep | Now | Emit
Operation = Generator[Step, Any, T]
"""An endpoint's logic: yields steps, returns its result."""


def advance(operation: Operation[T], answer: Any, error: BaseException | None) -> Step:
    """Hand the last step's outcome to ``operation`` (its answer, or the error thrown into it); return
    the next step. Raises :class:`StopIteration` (with the result) once the operation is done."""
    return operation.throw(error) if error is not None else operation.send(answer)


def tell_time(clock: Clock, step: Now) -> float:
    """The answer to a :class:`Now` step, from ``clock``."""
    return clock.wall() if step.wall else clock.now()


def keep_result(operation: Operation[T], into: list[T]) -> Operation[None]:
    """``operation``, its result appended to ``into``: a driver's ``_run`` is its ``_iterate`` plus this."""
    into.append((yield from operation))
