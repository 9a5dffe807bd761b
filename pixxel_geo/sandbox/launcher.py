"""Start the sandbox as a child process and talk to its control endpoints.

The server never runs in the caller's process: GDAL may call back into a server thread while
holding the interpreter lock and deadlock (see the project's store notes). The child gets its
own process group, dies with its parent (``PR_SET_PDEATHSIG``), and is stopped with SIGTERM to
the group, then SIGKILL after a grace period.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

from pixxel_geo.sandbox.processes import terminate_group
from pixxel_geo.sandbox.server import PARENT_ENV, TOKEN_ENV
from pixxel_geo.sandbox.settings import SandboxSettings


class SandboxStartError(RuntimeError):
    """The sandbox process exited or did not answer in time."""


class Sandbox:
    """A running sandbox server (a child process) and its control API.

    Use :meth:`launch` (a context manager), or :meth:`start` and :meth:`stop`.

    Example:
        >>> with Sandbox.launch(data_dir=tmp_path, token="test-token",
        ...                     settings=SandboxSettings(bands=16, width=256, height=256)) as sb:
        ...     httpx.get(sb.url + "/ping").json()  # doctest: +SKIP
        'pong'
    """

    def __init__(
        self,
        url: str,
        token: str,
        data_dir: Path,
        settings: SandboxSettings,
        process: subprocess.Popen[bytes],
        log_path: Path,
    ) -> None:
        self.url = url
        self.token = token
        self.data_dir = data_dir
        self.settings = settings
        self.process = process
        self.log_path = log_path
        self._http = httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=30.0)

    def __repr__(self) -> str:
        return f"Sandbox(url={self.url!r}, data_dir={str(self.data_dir)!r})"

    @classmethod
    @contextlib.contextmanager
    def launch(
        cls,
        data_dir: Path | str,
        token: str | None = None,
        settings: SandboxSettings | None = None,
        *,
        port: int = 0,
        startup_timeout: float = 600.0,
    ) -> Iterator[Sandbox]:
        """Run a sandbox for the duration of a ``with`` block.

        Args:
            data_dir: state, products and buckets (reuse it to keep state across launches).
            token: the API token to accept (random when omitted; see ``.token``).
            settings: product sizes and lifecycle durations.
            port: port on 127.0.0.1; 0 picks a free one.
            startup_timeout: seconds to wait for the first answer (products are generated on
                the first start on a data dir).

        Yields:
            The running sandbox.

        Raises:
            SandboxStartError: the process exited or did not answer in time.
        """
        sandbox = cls.start(data_dir, token, settings, port=port, startup_timeout=startup_timeout)
        try:
            yield sandbox
        finally:
            sandbox.stop()

    @classmethod
    def start(
        cls,
        data_dir: Path | str,
        token: str | None = None,
        settings: SandboxSettings | None = None,
        *,
        port: int = 0,
        startup_timeout: float = 600.0,
    ) -> Sandbox:
        """Start a sandbox process and wait until it answers ``/ping``; see :meth:`launch`."""
        settings = settings or SandboxSettings()
        token = token or secrets.token_urlsafe(24)
        data_dir = Path(data_dir)
        data_dir.mkdir(parents=True, exist_ok=True)
        port_file = data_dir / "sandbox.port"
        port_file.unlink(missing_ok=True)
        log_path = data_dir / "sandbox.log"
        command = [
            sys.executable,
            "-m",
            "pixxel_geo.sandbox",
            "--port",
            str(port),
            "--data-dir",
            str(data_dir),
            "--port-file",
            str(port_file),
            "--bands",
            str(settings.bands),
            "--size",
            str(settings.width),
            "--count",
            str(settings.count),
            "--url-lifetime",
            str(settings.url_lifetime),
            "--download-seconds",
            str(settings.download_seconds),
            "--delivery-seconds",
            str(settings.delivery_seconds),
            "--head-status",
            str(settings.head_status),
        ]
        if settings.stores:
            command += ["--stores", ",".join(settings.stores)]
        if settings.interleave != "band":
            command += ["--interleave", settings.interleave]
        if settings.deflate_members:
            command.append("--deflate-members")
        command += ["--level", settings.level, "--crs", settings.crs, "--layout", settings.layout]
        command += ["--wavelength-units", settings.wavelength_units]
        for flag, on in (
            ("--no-header", not settings.header),
            ("--no-stac-bands", not settings.stac_bands),
            ("--gdal-metadata", settings.gdal_metadata),
            ("--no-mask-flags", not settings.mask_flag_metadata),
            ("--timeseries", settings.timeseries),
        ):
            if on:
                command.append(flag)
        if settings.width != settings.height:
            raise ValueError("the sandbox launcher makes square products: set width == height")
        env = {**os.environ, TOKEN_ENV: token, PARENT_ENV: str(os.getpid())}
        log_start = log_path.stat().st_size if log_path.exists() else 0
        with log_path.open("ab") as log_file:
            process = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                env=env,
                start_new_session=True,
            )
        try:
            url = _wait_ready(process, port_file, log_path, startup_timeout, log_start)
        except BaseException:
            terminate_group(process)
            raise
        return cls(url, token, data_dir, settings, process, log_path)

    def stop(self, grace: float = 5.0) -> None:
        """Stop the server: SIGTERM to its process group, SIGKILL after ``grace`` seconds."""
        self._http.close()
        terminate_group(self.process, grace)

    # control API -------------------------------------------------------------------------
    def set_faults(self, **faults: Any) -> dict[str, Any]:
        """Set faults (see :mod:`pixxel_geo.sandbox.faults`); returns all current faults.

        Example:
            >>> sb.set_faults(latency=0.04, bandwidth=25e6)  # doctest: +SKIP
        """
        return self._control("POST", "/_sandbox/faults", json=faults)["faults"]

    def clear_faults(self) -> None:
        """Turn every fault off."""
        self._control("DELETE", "/_sandbox/faults")

    def faults(self) -> dict[str, Any]:
        """Return the current faults."""
        return self._control("GET", "/_sandbox/faults")["faults"]

    def requests(self, path_prefix: str = "") -> list[dict[str, Any]]:
        """Return served requests (method, path without query, status, range, bytes)."""
        return self._control("GET", "/_sandbox/requests", params={"path_prefix": path_prefix})["requests"]

    def reset_requests(self) -> None:
        """Forget the served requests."""
        self._control("DELETE", "/_sandbox/requests")

    def info(self) -> dict[str, Any]:
        """Return settings, data dir, the seeded catalog and order item ids, and the store servers.

        ``info()["stores"]`` maps ``s3`` / ``gcs`` / ``azure`` to ``{"type", "endpoint",
        "credentials"}`` for each server started with ``SandboxSettings(stores=…)``;
        ``info()["delivery_failures"]`` maps failed delivery ids to their reasons.
        """
        return self._control("GET", "/_sandbox/info")

    def _control(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self._http.request(method, path, **kwargs)
        if response.status_code >= 400:
            try:
                message = response.json()["error"]["message"]
            except (ValueError, KeyError, TypeError):
                message = response.text[:200]
            raise ValueError(f"sandbox {method} {path} failed ({response.status_code}): {message}")
        return response.json() if response.content else None


def _wait_ready(
    process: subprocess.Popen[bytes], port_file: Path, log_path: Path, timeout: float, log_start: int = 0
) -> str:
    deadline = time.monotonic() + timeout
    url = None
    while time.monotonic() < deadline:
        if process.poll() is not None:
            with log_path.open("rb") as log:  # what this run wrote, not earlier runs' lines
                log.seek(log_start)
                tail = log.read().decode(errors="replace")[-1200:]
            raise SandboxStartError(f"the sandbox exited with status {process.returncode}; its log ends:\n{tail}")
        if url is None and port_file.exists():
            url = f"http://127.0.0.1:{port_file.read_text().strip()}"
        if url is not None:
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(url + "/ping", timeout=2.0).status_code == 200:
                    return url
        time.sleep(0.05)
    raise SandboxStartError(
        f"the sandbox did not answer within {timeout:.0f} s; see {log_path} (raise startup_timeout for large products)"
    )
