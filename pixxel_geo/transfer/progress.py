"""Progress reporting for transfers: throttled, with a sliding-window rate."""

from __future__ import annotations

import collections
import threading
import time
from dataclasses import dataclass

from pixxel_geo.api.events import EventCallback, Finished, Progress, emit

__all__ = ["FileFinished", "ProgressMeter"]


@dataclass(frozen=True, kw_only=True)
class FileFinished(Finished):
    """A file transfer ended well (a :class:`Finished` with numbers for summaries).

    ``size`` is the file's size, ``fetched`` the bytes moved over the network
    in this run (less than ``size`` after a resume, 0 when skipped), ``seconds``
    the wall time, ``verified`` how it was checked (``"sha-256"``, ``"size"``)
    and ``skipped`` whether an existing verified copy was kept.
    """

    path: str
    size: int
    fetched: int = 0
    seconds: float = 0.0
    verified: str | None = None
    skipped: bool = False

    @property
    def rate(self) -> float | None:
        """Bytes per second moved in this run, when meaningful."""
        if self.skipped or self.seconds <= 0:
            return None
        return self.fetched / self.seconds


class ProgressMeter:
    """Count bytes from many threads; emit :class:`Progress` at most ``max_per_second``.

    The rate is measured over the last ``window`` seconds, so it follows the
    current speed rather than the average since the start (bytes found on disk
    when resuming do not count as speed).

    Example:
        >>> events = []
        >>> meter = ProgressMeter("a.zip", total=100, on_event=events.append)
        >>> meter.add(100); meter.close()
        >>> events[-1].done
        100
    """

    def __init__(
        self,
        subject: str,
        *,
        total: int | None,
        on_event: EventCallback | None,
        done: int = 0,
        max_per_second: float = 10.0,
        window: float = 3.0,
    ) -> None:
        self.subject = subject
        self.total = total
        self.done = done
        self._on_event = on_event
        self._interval = 1.0 / max_per_second
        self._window = window
        self._lock = threading.Lock()
        now = time.monotonic()
        self._last_emit = now - self._interval
        self._samples: collections.deque[tuple[float, int]] = collections.deque([(now, done)])

    def add(self, nbytes: int) -> None:
        """Count ``nbytes`` more; emits an event if the throttle allows."""
        with self._lock:
            self.done += nbytes
            now = time.monotonic()
            if now - self._last_emit >= self._interval:
                self._emit_locked(now)

    def reset(self, done: int = 0) -> None:
        """Start counting again from ``done`` (a restarted stream)."""
        with self._lock:
            self.done = done
            self._samples.clear()
            self._samples.append((time.monotonic(), done))

    def close(self) -> None:
        """Emit the final figures, whatever the throttle says."""
        with self._lock:
            self._emit_locked(time.monotonic())

    def _emit_locked(self, now: float) -> None:
        self._last_emit = now
        self._samples.append((now, self.done))
        while len(self._samples) > 2 and now - self._samples[1][0] >= self._window:
            self._samples.popleft()
        then, done_then = self._samples[0]
        rate = (self.done - done_then) / (now - then) if now > then else None
        eta = None
        if rate and self.total is not None:
            eta = max(self.total - self.done, 0) / rate
        emit(
            self._on_event,
            Progress(subject=self.subject, done=self.done, total=self.total, rate=rate, eta=eta),
        )
