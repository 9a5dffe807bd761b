"""Background work in QGIS's task manager: every network call of the plugin runs here.

``run()`` runs on a worker thread and must not touch widgets; ``finished()``
runs on the GUI thread and hands the result to callbacks. Two QGIS pitfalls
shape this module:

- a task nothing in Python references dies silently, so :class:`TaskRunner`
  keeps each task until its ``finished()`` ran;
- the task manager deletes finished tasks, so results are copied out in
  ``finished()`` and nothing touches the task afterwards.

An exception escaping ``run()`` can abort QGIS: :class:`FunctionTask` catches
everything and reports it through ``on_error`` on the GUI thread.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from qgis.core import QgsApplication, QgsFeedback, QgsTask
from qgis.PyQt.QtCore import QObject, pyqtSignal

__all__ = ["FunctionTask", "TaskRunner"]

LOG = logging.getLogger(__name__)

Work = Callable[["FunctionTask"], Any]


class FunctionTask(QgsTask):
    """A QgsTask that runs ``work(task)`` on a worker thread.

    ``work`` may call ``task.setProgress(0..100)``, ``task.report(text)`` (shown
    in the panel through :attr:`reported`) and pass ``task.feedback`` to network
    calls so cancelling the task aborts them.

    Args:
        description: shown in QGIS's task manager.
        work: the function to run; its return value goes to ``on_done``.
        on_done: called on the GUI thread with the result.
        on_error: called on the GUI thread with the exception (or a
            cancellation message as a ``RuntimeError``).

    Example:
        >>> task = FunctionTask("Search", lambda t: client.ping(), on_done=print)  # doctest: +SKIP
        >>> runner.submit(task)  # doctest: +SKIP
    """

    reported = pyqtSignal(str)

    def __init__(
        self,
        description: str,
        work: Work,
        on_done: Callable[[Any], None] | None = None,
        on_error: Callable[[BaseException], None] | None = None,
    ) -> None:
        super().__init__(description, QgsTask.CanCancel)
        self.feedback = QgsFeedback()
        self._work = work
        self._on_done = on_done
        self._on_error = on_error
        self._result: Any = None
        self._error: BaseException | None = None
        self._on_finished: Callable[[FunctionTask], None] | None = None

    def report(self, text: str) -> None:
        """Send a status line to the GUI thread (a queued signal; safe from ``run()``)."""
        self.reported.emit(text)

    def cancel(self) -> None:
        """Cancel the task and abort its network request in flight."""
        self.feedback.cancel()
        super().cancel()

    def run(self) -> bool:
        """Worker thread: run ``work``; never let an exception escape."""
        try:
            self._result = self._work(self)
        except BaseException as exc:  # reported in finished(), on the GUI thread
            self._error = exc
            return False
        return not self.isCanceled()

    def finished(self, result: bool) -> None:
        """GUI thread: hand the result or the error to the callbacks."""
        try:
            if result and self._on_done is not None:
                self._on_done(self._result)
            elif not result and self._on_error is not None:
                error = self._error or RuntimeError(f"{self.description()} was cancelled.")
                self._on_error(error)
        finally:
            if self._on_finished is not None:
                self._on_finished(self)


class TaskRunner(QObject):
    """Submit tasks to QGIS's task manager and keep them alive until they finish.

    Example:
        >>> runner = TaskRunner()  # doctest: +SKIP
        >>> runner.submit(FunctionTask("Ping", lambda t: client.ping(), on_done=print))  # doctest: +SKIP
    """

    all_finished = pyqtSignal()

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._running: dict[int, FunctionTask] = {}

    def submit(self, task: FunctionTask) -> FunctionTask:
        """Add ``task`` to QGIS's task manager and keep a reference to it."""
        task._on_finished = self._forget
        self._running[id(task)] = task
        QgsApplication.taskManager().addTask(task)
        return task

    def running(self) -> list[FunctionTask]:
        """Tasks submitted and not finished yet."""
        return list(self._running.values())

    def cancel_all(self) -> None:
        """Cancel every running task (on plugin unload)."""
        for task in list(self._running.values()):
            try:
                task.cancel()
            except RuntimeError:  # already deleted by the task manager
                self._running.pop(id(task), None)

    def _forget(self, task: FunctionTask) -> None:
        self._running.pop(id(task), None)
        if not self._running:
            self.all_finished.emit()
