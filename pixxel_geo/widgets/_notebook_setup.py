"""Shared setup of the example notebooks: a client on Pixxel, or on a local sandbox.

With ``PIXXEL_API_KEY`` set, the notebooks talk to Pixxel (or to ``PIXXEL_API_URL``).
Without it they start the sandbox as a child process with small products, so they run
offline; it stops, and its folder is removed, when the kernel exits.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

__all__ = ["connect", "scratch_dir"]

_SMALL = {"bands": 16, "width": 256, "height": 256, "download_seconds": 0.2, "delivery_seconds": 0.3}


def scratch_dir(prefix: str = "pixxel-notebook-") -> Path:
    """A temporary folder removed when the kernel exits."""
    path = Path(tempfile.mkdtemp(prefix=prefix))
    atexit.register(shutil.rmtree, path, ignore_errors=True)
    return path


def connect(**settings: Any) -> tuple[Any, Any]:
    """A ``px.Client``, and the sandbox it talks to (``None`` when using the real API).

    Args:
        **settings: ``SandboxSettings`` overrides (default: 16 bands, 256 x 256 pixels).

    Returns:
        ``(client, sandbox_or_None)``.

    Example:
        >>> client, sandbox = connect()  # doctest: +SKIP
    """
    import pixxel_geo as px

    if os.environ.get("PIXXEL_API_KEY"):
        return px.Client(), None
    from pixxel_geo.sandbox import Sandbox, SandboxSettings

    sandbox = Sandbox.start(data_dir=scratch_dir("pixxel-sandbox-"), settings=SandboxSettings(**{**_SMALL, **settings}))
    atexit.register(sandbox.stop)
    return px.Client(api_key=sandbox.token, base_url=sandbox.url), sandbox
