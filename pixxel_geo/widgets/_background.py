"""Run blocking work off the kernel's event loop and bring the results back to it.

In a Jupyter kernel (ipykernel >= 7.1) widget callbacks run on the kernel's asyncio
loop. Blocking calls (HTTP waits, transfers, raster reads) go to a small thread
pool; their completion callbacks run back on the loop, where creating widgets and
changing the page is safe. Without a running loop (a plain script) the work runs in
a thread and the callbacks run in that thread.

Worker code may set traits (ipykernel >= 7.1 sends those updates from any thread)
but never prints: prints from threads are lost.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

__all__ = ["BackgroundRunner"]

logger = logging.getLogger(__name__)
T = TypeVar("T")


class BackgroundRunner:
    """A thread pool whose results come back on the loop that submitted the work.

    Args:
        on_error: called (on the loop, or in the worker without one) with any
            exception the work or its ``done`` callback raised.
        max_workers: threads in the pool.

    Example:
        >>> runner = BackgroundRunner(on_error=print)
        >>> runner.submit(lambda: 2 + 2, done=lambda n: None)  # doctest: +SKIP
        >>> runner.join(timeout=5)  # doctest: +SKIP
    """

    def __init__(self, on_error: Callable[[BaseException], None], max_workers: int = 4) -> None:
        self._on_error = on_error
        self._pool = concurrent.futures.ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="pixxel-widgets")
        self._lock = threading.Lock()
        self._pending: set[concurrent.futures.Future[Any] | asyncio.Future[Any]] = set()
        self._closed = False

    @property
    def busy(self) -> bool:
        """True while any submitted work (or its ``done`` callback) has not finished."""
        with self._lock:
            return bool(self._pending)

    def submit(
        self,
        work: Callable[[], T],
        done: Callable[[T], None] | None = None,
        on_error: Callable[[BaseException], None] | None = None,
    ) -> None:
        """Run ``work()`` in a worker thread, then ``done(result)`` on the caller's loop.

        Args:
            work: blocking function; may set traits, must not print.
            done: receives the result; runs on the kernel's loop when there is one.
            on_error: replaces the runner's error handler for this work.

        Raises:
            RuntimeError: the runner was closed.
        """
        if self._closed:
            raise RuntimeError("this panel was closed; create a new one")
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            loop = None
        report = on_error or self._on_error
        if loop is None:
            self._submit_threaded(work, done, report)
        else:
            self._submit_on_loop(loop, work, done, report)

    def _submit_threaded(
        self, work: Callable[[], T], done: Callable[[T], None] | None, report: Callable[[BaseException], None]
    ) -> None:
        def run() -> None:
            try:
                result = work()
                if done is not None:
                    done(result)
            except Exception as exc:
                self._report(report, exc)

        future = self._pool.submit(run)
        self._track(future)

    def _submit_on_loop(
        self,
        loop: asyncio.AbstractEventLoop,
        work: Callable[[], T],
        done: Callable[[T], None] | None,
        report: Callable[[BaseException], None],
    ) -> None:
        async def run() -> None:
            try:
                result = await loop.run_in_executor(self._pool, work)
                if done is not None:
                    done(result)
            except Exception as exc:
                self._report(report, exc)

        task = loop.create_task(run())
        self._track(task)

    def _track(self, future: concurrent.futures.Future[Any] | asyncio.Future[Any]) -> None:
        with self._lock:
            self._pending.add(future)

        def forget(f: Any) -> None:
            with self._lock:
                self._pending.discard(f)

        future.add_done_callback(forget)

    @staticmethod
    def _report(report: Callable[[BaseException], None], exc: BaseException) -> None:
        try:
            report(exc)
        except Exception:  # the error display itself failed: keep the traceback visible
            logger.exception("could not show an error in the panel")

    async def wait_idle(self, timeout: float = 60.0) -> None:
        """Await until no work is pending (for notebooks and tests on the loop).

        Raises:
            TimeoutError: work is still pending after ``timeout`` seconds.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while self.busy:
            if loop.time() > deadline:
                raise TimeoutError(f"background work still running after {timeout} s")
            await asyncio.sleep(0.02)

    def join(self, timeout: float = 60.0) -> None:
        """Block until no work is pending (threads only; on a loop use :meth:`wait_idle`).

        Raises:
            TimeoutError: work is still pending after ``timeout`` seconds.
        """
        deadline = time.monotonic() + timeout
        while self.busy and time.monotonic() < deadline:
            time.sleep(0.02)
        if self.busy:
            raise TimeoutError(f"background work still running after {timeout} s")

    def close(self, then: Callable[[], None] | None = None) -> None:
        """Stop accepting work and let the threads end once their work is done.

        Args:
            then: called (in a short-lived thread) once the work already running has
                ended, e.g. to close the client that work uses. Queued work is dropped.
        """
        self._closed = True
        self._pool.shutdown(wait=False, cancel_futures=True)
        if then is not None:
            closer = threading.Thread(target=self._after_shutdown, args=(then,), name="pixxel-close", daemon=True)
            closer.start()

    def _after_shutdown(self, then: Callable[[], None]) -> None:
        self._pool.shutdown(wait=True)
        try:
            then()
        except Exception:
            logger.exception("could not finish closing the panel")
