"""Typed progress events.

The core never prints. Long operations (waiting for a delivery, transferring a
file) report what happens as a stream of small immutable events passed to an
``on_event`` callback; each front end renders them its own way (a tqdm bar in
the CLI, a progress widget in JupyterLab, QGIS's task manager).

Example:
    >>> def show(event: Event) -> None:
    ...     if isinstance(event, Progress):
    ...         print(f"{event.subject}: {event.done}/{event.total}")
    >>> show(Progress(subject="catalogs.zip", done=5, total=10))
    catalogs.zip: 5/10
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

__all__ = [
    "Event",
    "EventCallback",
    "Failed",
    "Finished",
    "Progress",
    "Started",
    "StateChanged",
    "emit",
]


@dataclass(frozen=True, kw_only=True)
class Event:
    """Base of all events. ``subject`` names what the event is about."""

    subject: str
    """A resource id (delivery, download) or a file name."""
    at: float = field(default_factory=time.time)
    """When the event happened (seconds since the epoch)."""


@dataclass(frozen=True, kw_only=True)
class Started(Event):
    """Work on ``subject`` began. ``total`` is in bytes for transfers, else ``None``."""

    total: int | None = None


@dataclass(frozen=True, kw_only=True)
class Progress(Event):
    """Bytes done so far; ``rate`` in bytes/s and ``eta`` in seconds when known."""

    done: int
    total: int | None = None
    rate: float | None = None
    eta: float | None = None

    @property
    def fraction(self) -> float | None:
        """``done / total`` in [0, 1], or ``None`` when the total is unknown."""
        if not self.total:
            return None
        return min(1.0, self.done / self.total)


@dataclass(frozen=True, kw_only=True)
class StateChanged(Event):
    """A resource moved to another status (as normalised by the models)."""

    status: str
    previous: str | None = None


@dataclass(frozen=True, kw_only=True)
class Finished(Event):
    """Work on ``subject`` ended well. ``detail`` is a short human summary."""

    detail: str = ""


@dataclass(frozen=True, kw_only=True)
class Failed(Event):
    """Work on ``subject`` ended with an error (its message, already redacted)."""

    error: str


EventCallback = Callable[[Event], None]


def emit(callback: EventCallback | None, event: Event) -> None:
    """Give ``event`` to ``callback`` if there is one."""
    if callback is not None:
        callback(event)
