"""The time the clients run on: a monotonic reading, the wall time, and a pause.

The operations (:mod:`pixxel_geo.api._steps`) never read the time themselves, as in
h11: they yield a :data:`~pixxel_geo.api._steps.NOW` step and the driver answers it
from its clock, and they yield a ``Sleep`` that the driver carries out with the same
clock. A client built with ``clock=`` therefore runs on that clock from end to end:
its retries, waits and request deadlines. Tests inject one whose time moves only when
it sleeps, instead of patching the :mod:`time` module.
"""

from __future__ import annotations

import asyncio
import time

__all__ = ["SYSTEM_CLOCK", "Clock"]


class Clock:
    """The system's clock: :func:`time.monotonic`, :func:`time.time` and a real pause.

    Subclass it to give a client another time (``px.Client(clock=...)``); the sync
    client uses :meth:`now`, :meth:`wall` and :meth:`sleep`, the async one :meth:`now`,
    :meth:`wall` and :meth:`asleep`.

    Example:
        >>> class Frozen(Clock):
        ...     def __init__(self) -> None:
        ...         self.t = 0.0
        ...     def now(self) -> float:
        ...         return self.t
        ...     def sleep(self, seconds: float) -> None:
        ...         self.t += seconds
        >>> clock = Frozen()
        >>> clock.sleep(2.5)
        >>> clock.now()
        2.5
    """

    def now(self) -> float:
        """Seconds on a monotonic clock (deadlines are measured on it)."""
        return time.monotonic()

    def wall(self) -> float:
        """Seconds since the epoch (to read an HTTP-date ``Retry-After``)."""
        return time.time()

    def sleep(self, seconds: float) -> None:
        """Pause the calling thread (the sync client's ``Sleep`` step)."""
        time.sleep(seconds)

    async def asleep(self, seconds: float) -> None:
        """Pause the calling task (the async client's ``Sleep`` step)."""
        await asyncio.sleep(seconds)


SYSTEM_CLOCK = Clock()
"""The clock clients use unless given another."""
