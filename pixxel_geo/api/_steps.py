"""The small vocabulary between endpoint logic and the two clients.

Every endpoint is written once, as a generator that yields *steps* and gets
answers back. The sync :class:`~pixxel_geo.Client` and the
:class:`~pixxel_geo.AsyncClient` only carry the steps out:

- an :class:`httpx.Request` is sent; the generator receives the
  :class:`httpx.Response`, or the transport exception is thrown into it;
- a :class:`Sleep` is slept (``time.sleep`` or ``asyncio.sleep``);
- an :class:`Emit` hands a value out of a paging iterator.

So retries, paging, waiting and the duplicate-free create logic exist once.
"""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx

__all__ = ["Emit", "Operation", "Sleep", "Step"]

T = TypeVar("T")


@dataclass(frozen=True)
class Sleep:
    """Wait this many seconds before going on."""

    seconds: float


@dataclass(frozen=True)
class Emit:
    """Hand ``value`` to the caller of a paging iterator."""

    value: Any


Step = httpx.Request | Sleep | Emit
Operation = Generator[Step, Any, T]
"""An endpoint's logic: yields steps, returns its result."""
