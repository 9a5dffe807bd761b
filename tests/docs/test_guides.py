"""Every ``python`` and ``bash`` block of the documentation runs, page by page, on the sandbox.

A page is one test: its blocks run in order, Python blocks in one shared namespace (like a
notebook), shell blocks in ``bash -euo pipefail`` with the variables they set carried to the next
shell block. Each page starts in an empty folder with ``PIXXEL_API_KEY`` and ``PIXXEL_API_URL``
pointing at a fresh sandbox of its own (a new user's workspace), so the guides' ``px.Client()`` and ``pixxel-geo`` commands
talk to it exactly as they would to Pixxel. The environment is restored after each page.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import subprocess
import sys
import traceback
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pixxel_geo.sandbox import Sandbox
from tests.docs.blocks import DOCS, NO_RUN_REASONS, Block, blocks, pages

PAGES = [p for p in pages() if any(b.runnable for b in blocks(p))]
NOT_RUN = [b for p in pages() for b in blocks(p) if b.lang in ("python", "bash") and not b.runnable]


@pytest.fixture
def page_env(page_sandbox: Sandbox, tmp_path: Path) -> Iterator[Path]:
    """An empty working folder and an environment pointing at the sandbox; restored after (logging too)."""
    saved_env, saved_cwd = dict(os.environ), Path.cwd()
    root = logging.getLogger()
    saved_logging = (list(root.handlers), root.level)
    os.environ.update(
        PIXXEL_API_KEY=page_sandbox.token,
        PIXXEL_API_URL=page_sandbox.url,
        PIXXEL_CONFIG=str(tmp_path / "no-config.toml"),
        MPLBACKEND="Agg",
        PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
    )
    work = tmp_path / "work"
    work.mkdir()
    os.chdir(work)
    try:
        yield work
    finally:
        os.chdir(saved_cwd)
        os.environ.clear()
        os.environ.update(saved_env)
        root.handlers[:], root.level = saved_logging  # a page's logging.basicConfig stays in the page


def _run_python(block: Block, namespace: dict[str, Any]) -> None:
    code = compile(block.code, block.where, "exec")
    try:
        exec(code, namespace)
    except Exception:
        pytest.fail(f"the Python block at {block.where} failed:\n{traceback.format_exc()}", pytrace=False)


def _run_bash(block: Block, work: Path, shell_env: dict[str, str]) -> dict[str, str]:
    state = work.parent / "shell-state"
    script = f"set -a\ntrap 'env -0 > {state}' EXIT\n{block.code}"
    result = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script],
        cwd=work,
        env=shell_env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    if result.returncode != 0:
        pytest.fail(
            f"the shell block at {block.where} exited {result.returncode}:\n{block.code}\n"
            f"--- stdout\n{result.stdout[-3000:]}\n--- stderr\n{result.stderr[-3000:]}",
            pytrace=False,
        )
    raw = state.read_bytes().decode() if state.exists() else ""
    return dict(item.split("=", 1) for item in raw.split("\0") if "=" in item) or shell_env


def _clean_up(namespace: dict[str, Any]) -> None:
    """Close the clients a page left open and stop the sandboxes it started, as a script's exit would."""
    import pixxel_geo as px

    for value in namespace.values():
        if isinstance(value, px.Client) and not value.closed:
            value.close()
        elif isinstance(value, px.AsyncClient):
            asyncio.run(value.aclose())
        elif isinstance(value, Sandbox) and value.process.poll() is None:
            value.stop()


@pytest.mark.parametrize("doc_page", PAGES, ids=[str(p.relative_to(DOCS)) for p in PAGES])
def test_page_runs(doc_page: Path, page_env: Path) -> None:
    namespace: dict[str, Any] = {"__name__": "__main__"}
    shell_env: dict[str, str] | None = None
    # Guides are written like scripts: a client rebound to a new name is left to the garbage
    # collector. Its ResourceWarning is not the guide's failure (tests/ check the library's own
    # resource handling); every other warning still fails the page.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        try:
            for block in blocks(doc_page):
                if not block.runnable:
                    continue
                if block.lang == "python":
                    _run_python(block, namespace)
                else:
                    shell_env = _run_bash(block, page_env, shell_env if shell_env is not None else dict(os.environ))
        finally:
            _clean_up(namespace)
            namespace.clear()
            gc.collect()


@pytest.mark.parametrize("block", NOT_RUN, ids=[b.where for b in NOT_RUN])
def test_blocks_not_run_give_a_listed_reason(block: Block) -> None:
    reason = block.options.get("reason")
    assert "no-run" in block.classes
    assert reason in NO_RUN_REASONS, (
        f"{block.where}: a {block.lang} block is not run ({reason!r}); the only accepted reasons are "
        f"{sorted(NO_RUN_REASONS)} (tests/docs/blocks.py)"
    )
