"""Render :mod:`pixxel_geo.api.events` as tqdm progress bars on stderr."""

from __future__ import annotations

import sys
from typing import Any, TextIO

from tqdm import tqdm

from pixxel_geo.api.events import Event, Failed, Finished, Progress, Started, StateChanged
from pixxel_geo.transfer.progress import FileFinished

__all__ = ["ProgressRenderer"]

_MAX_DESC = 40


def _short(subject: str) -> str:
    return subject if len(subject) <= _MAX_DESC else subject[: _MAX_DESC - 1] + "…"


class ProgressRenderer:
    """An ``on_event`` callback drawing one byte bar per transferred file.

    Events without a byte total (waiting for a download resource, state
    changes) become single status lines. Finished file transfers are kept in
    :attr:`finished` for the summary.

    Args:
        stream: where to draw (default: stderr).
        disable: ``True`` to draw nothing, ``None`` to draw only on a terminal.

    Example:
        >>> renderer = ProgressRenderer(disable=True)
        >>> client.download(catalog_ids=[cid], on_event=renderer)  # doctest: +SKIP
        >>> renderer.close()
    """

    def __init__(self, stream: TextIO | None = None, disable: bool | None = None) -> None:
        self.stream = stream or sys.stderr
        self.disable = disable
        if disable is None:
            self.disable = not getattr(self.stream, "isatty", lambda: False)()
        self.finished: list[FileFinished] = []
        self._bars: dict[str, Any] = {}

    def __call__(self, event: Event) -> None:
        """Render one event."""
        if isinstance(event, Started) and event.total is not None:
            self._bar(event.subject, event.total)
        elif isinstance(event, Progress):
            bar = self._bar(event.subject, event.total)
            bar.update(event.done - bar.n)
        elif isinstance(event, StateChanged):
            bar = self._bars.get(event.subject)
            if bar is not None:
                bar.set_postfix_str(event.status)
            else:
                self._line(f"{event.subject}: {event.status}")
        elif isinstance(event, FileFinished):
            self._close_bar(event.subject)
            self.finished.append(event)
        elif isinstance(event, Finished):
            if not self._close_bar(event.subject) and event.detail:
                self._line(f"{event.subject}: {event.detail}")
        elif isinstance(event, Failed):
            self._close_bar(event.subject)

    def close(self) -> None:
        """Close any bar still open."""
        for subject in list(self._bars):
            self._close_bar(subject)

    def _bar(self, subject: str, total: int | None) -> Any:
        bar = self._bars.get(subject)
        if bar is None:
            bar = tqdm(
                total=total,
                desc=_short(subject),
                unit="B",
                unit_scale=True,
                unit_divisor=1000,
                file=self.stream,
                disable=self.disable,
                dynamic_ncols=True,
                leave=True,
            )
            self._bars[subject] = bar
        return bar

    def _close_bar(self, subject: str) -> bool:
        bar = self._bars.pop(subject, None)
        if bar is None:
            return False
        bar.close()
        return True

    def _line(self, text: str) -> None:
        if not self.disable:
            tqdm.write(text, file=self.stream)
