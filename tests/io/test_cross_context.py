"""Datasets opened by open_raster / open_dataset are safe to read and close from any thread or
asyncio task: rasterio 1.4 keeps its ``opener=`` state in ContextVars, and a close (or garbage
collection) in a context that never saw the open used to raise LookupError and could segfault."""

from __future__ import annotations

import asyncio
import contextvars
import gc
import logging
import subprocess
import sys
import textwrap
import threading
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import rasterio
import rasterio.io

import pixxel_geo as px
from pixxel_geo.io.bound import ContextBoundDatasetReader, open_bound
from pixxel_geo.io.raster import _resolve, opener_for

from .io_helpers import image_path

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def unraisable(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Exceptions Python swallowed (``__del__``, GC, callbacks), which pytest would only warn about."""
    seen: list[str] = []

    def hook(info: Any) -> None:
        seen.append(f"{info.exc_type.__name__}: {info.exc_value} in {info.object!r}")

    monkeypatch.setattr(sys, "unraisablehook", hook)
    return seen


@pytest.fixture
def no_warnings_logged(caplog: pytest.LogCaptureFixture) -> Any:
    caplog.set_level(logging.WARNING, logger="pixxel_geo")
    yield
    assert [r.getMessage() for r in caplog.records if r.name.startswith("pixxel_geo")] == []


def _expected(local_product: Path) -> np.ndarray:
    with rasterio.open(image_path(local_product)) as ref:
        return ref.read([1, 3], window=((0, 40), (0, 50)))


def _in_thread(func: Any) -> Any:
    """Run ``func`` on a new thread (a fresh, empty context) and return its result."""
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["value"] = func()
        except BaseException as exc:  # re-raised in the caller
            box["error"] = exc

    thread = threading.Thread(target=target)
    thread.start()
    thread.join()
    if "error" in box:
        raise box["error"]
    return box.get("value")


def test_plain_rasterio_cannot_close_in_another_context(client: Any, catalog: Any, unraisable: list[str]) -> None:
    """Why the fix exists: if this starts passing cleanly, rasterio fixed its bridge."""
    resolved, name = _resolve(catalog.id, None, client)
    context = contextvars.Context()
    dataset = context.run(rasterio.open, name, opener=opener_for(resolved.archive, name))
    with pytest.raises((LookupError, SystemError)):
        _in_thread(dataset.close)
    context.run(dataset.close)  # what is left of it, where it was opened


def test_open_bound_keeps_a_real_dataset_reader(client: Any, catalog: Any) -> None:
    resolved, name = _resolve(catalog.id, None, client)
    with open_bound(name, opener=opener_for(resolved.archive, name)) as src:
        assert isinstance(src, rasterio.io.DatasetReader)
        assert type(src) is ContextBoundDatasetReader
        with rasterio.vrt.WarpedVRT(src) as vrt:  # Cython code that needs the real dataset
            assert vrt.count == src.count
    assert src.closed


async def test_open_in_one_task_read_and_drop_in_another(
    client: Any, catalog: Any, local_product: Path, unraisable: list[str], no_warnings_logged: None
) -> None:
    holder: dict[str, Any] = {}

    async def opener() -> None:
        holder["cube"] = px.open_dataset(catalog, client=client, mask_and_scale=False)
        holder["src"] = px.open_raster(catalog, client=client)

    async def reader() -> tuple[np.ndarray, np.ndarray]:
        cube = holder["cube"].isel(band=[0, 2], y=slice(0, 40), x=slice(0, 50)).values
        chip = holder["src"].read([1, 3], window=((0, 40), (0, 50)))
        return cube, chip

    async def dropper() -> None:
        holder["src"].close()
        holder.clear()
        gc.collect()

    await asyncio.create_task(opener())
    cube, chip = await asyncio.create_task(reader())
    await asyncio.create_task(dropper())
    expected = _expected(local_product)
    assert np.array_equal(cube, expected) and np.array_equal(chip, expected)
    assert unraisable == []


def test_opened_in_one_thread_closed_in_another(
    client: Any, catalog: Any, local_product: Path, unraisable: list[str], no_warnings_logged: None
) -> None:
    src = _in_thread(lambda: px.open_raster(catalog.id, client=client))
    chip = _in_thread(lambda: src.read([1, 3], window=((0, 40), (0, 50))))
    _in_thread(src.close)
    assert src.closed
    assert np.array_equal(chip, _expected(local_product))
    assert unraisable == []


def test_garbage_collected_in_another_context(
    client: Any, catalog: Any, local_product: Path, unraisable: list[str], no_warnings_logged: None
) -> None:
    holder = {"src": _in_thread(lambda: px.open_raster(catalog.id, client=client))}
    chip = holder["src"].read([1, 3], window=((0, 40), (0, 50)))

    def drop() -> None:
        holder.clear()
        gc.collect()

    _in_thread(drop)  # the last reference goes on a thread that never saw the open
    contextvars.Context().run(gc.collect)
    assert np.array_equal(chip, _expected(local_product))
    assert unraisable == []


def test_datasets_in_reference_cycles_collected_on_another_thread(
    client: Any, catalog: Any, local_product: Path, unraisable: list[str], no_warnings_logged: None
) -> None:
    """The cyclic collector may finalize rasterio's opener registration before the dataset's
    ``__del__``; the dataset keeps it reachable until it has closed in its own context."""
    resolved, name = _resolve(catalog.id, None, client)
    chips = []
    gc.disable()  # the cycles below are collected on a thread of the test's choosing
    try:
        for _ in range(8):
            src = _in_thread(lambda: open_bound(name, opener=opener_for(resolved.archive, name)))
            chips.append(src.read([1, 3], window=((0, 40), (0, 50))))
            cycle: dict[str, Any] = {"src": src}
            cycle["self"] = cycle
            src.__dict__["cycle"] = cycle  # only the cyclic collector can free it now
            del src, cycle
        _in_thread(gc.collect)
    finally:
        gc.enable()
    expected = _expected(local_product)
    assert all(np.array_equal(chip, expected) for chip in chips)
    assert unraisable == []


def test_dask_threaded_compute_then_del_and_gc(
    client: Any, catalog: Any, local_product: Path, unraisable: list[str], no_warnings_logged: None
) -> None:
    import dask

    with rasterio.open(image_path(local_product)) as ref:
        expected = ref.read().astype("float64").sum(axis=(1, 2))
    # Band-interleaved product of one 256-px tile: split the bands so several threads read.
    cube = px.open_dataset(catalog.id, chunks={"band": 4}, client=client, mask_and_scale=False)
    assert len(cube.data.chunks[0]) > 1
    with dask.config.set(scheduler="threads", num_workers=4):
        total = cube.astype("float64").sum(dim=("y", "x")).compute()
    np.testing.assert_array_equal(total.values, expected)
    del cube, total
    gc.collect()
    _in_thread(gc.collect)
    assert unraisable == []


def test_subprocess_exits_cleanly_after_cross_context_use(sandbox: Any, catalog: Any) -> None:
    """No "ERROR 3 ... I/O error" from GDAL at interpreter exit, no crash (exit code 0)."""
    script = textwrap.dedent(
        f"""
        import asyncio, threading
        import dask
        import pixxel_geo as px
        client = px.Client(api_key={sandbox.token!r}, base_url={sandbox.url!r})
        holder = {{}}
        async def opener():
            holder["cube"] = px.open_dataset({catalog.id!r}, client=client)
            holder["chunked"] = px.open_dataset({catalog.id!r}, chunks={{"band": 4}}, client=client)
            holder["src"] = px.open_raster({catalog.id!r}, client=client)
        async def reader():
            return float(holder["cube"].isel(x=slice(0, 10), y=slice(0, 10)).mean())
        async def main():
            await asyncio.create_task(opener())
            print("mean", await asyncio.create_task(reader()))
        asyncio.run(main())
        with dask.config.set(scheduler="threads", num_workers=4):
            holder["chunked"].mean().compute()
        t = threading.Thread(target=lambda: holder["src"].read(1, window=((0, 8), (0, 8))))
        t.start(); t.join()
        # Left open on purpose: closed at exit.
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "mean" in done.stdout
    assert "ERROR 3" not in done.stderr and "I/O error" not in done.stderr, done.stderr[-3000:]
    assert "Traceback" not in done.stderr and "Exception ignored" not in done.stderr, done.stderr[-3000:]
