"""Widget test fixtures: a guard against exceptions ipywidgets swallows, and ready-made panels."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from widget_guard import swallowed

import pixxel_geo as px
from pixxel_geo.api import PollSchedule


@pytest.fixture(autouse=True)
def no_swallowed_errors(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """Fail the test if a widget callback raised (ipywidgets only logs it) or anything logged an error."""
    caplog.set_level(logging.WARNING)
    yield
    problems = swallowed(caplog.get_records("setup") + caplog.get_records("call"))
    if problems:
        pytest.fail("errors were logged (swallowed by ipywidgets?):\n" + "\n".join(problems))


@pytest.fixture
def fast_client(sandbox: Any) -> Iterator[px.Client]:
    """A client on the sandbox that polls every 0.1 s (deliveries finish in 0.3 s)."""
    schedule = PollSchedule(first=0.1, factor=1.2, cap=0.3)
    with px.Client(api_key=sandbox.token, base_url=sandbox.url, poll_schedule=schedule) as c:
        yield c


@pytest.fixture
async def panel(fast_client: px.Client, tmp_path: Any) -> AsyncIterator[Any]:
    """A loaded :class:`PixxelPanel` downloading into ``tmp_path`` (closed afterwards)."""
    from pixxel_geo.widgets import PixxelPanel

    p = PixxelPanel(fast_client, dest=tmp_path / "downloads")
    await p.wait_idle(timeout=60)
    yield p
    await p.wait_idle(timeout=60)
    p.close()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Run the real-browser tests last: Playwright's sync API keeps an event loop running
    in the main thread for the rest of the session, which asyncio tests cannot share."""
    browser = [i for i in items if "/widgets/browser/" in str(i.path).replace("\\", "/")]
    if browser:
        rest = [i for i in items if i not in browser]
        items[:] = rest + browser
