"""Local protocol servers for cloud stores: moto (S3), gcp-storage-emulator (GCS), Azurite (Azure).

Each runs as a separate process in its own process group (never in a process that reads with
GDAL: see the project's store notes), is ready once it answers HTTP, dies with the process that
started it (``PR_SET_PDEATHSIG``), and is stopped with SIGTERM to its group, then SIGKILL.

Credentials each server accepts (``Emulator.credentials``):

- ``s3``: an IAM access key made in moto right after start; moto's IAM authentication is then
  switched on, so a wrong key or secret is refused (``InvalidAccessKeyId`` /
  ``SignatureDoesNotMatch``). Presigned (query-string) URLs are not accepted in that mode.
- ``gcs``: the emulator checks nothing; the sandbox issues one service account
  (``project_id`` and ``service_account_credentials``) and refuses deliveries for any other.
- ``azure``: Azurite's account ``devstoreaccount1`` and its well-known key (shared-key and SAS
  signatures and expiry are checked by Azurite).

Example:
    >>> with running_emulators(("s3", "azure"), log_dir=tmp_path) as found:  # doctest: +SKIP
    ...     found["s3"].endpoint
    'http://127.0.0.1:40123'
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from pixxel_geo.sandbox.processes import die_with_parent, terminate_group

__all__ = [
    "AZURITE_ACCOUNT",
    "AZURITE_KEY",
    "STORE_KINDS",
    "Emulator",
    "EmulatorError",
    "find_azurite",
    "parse_store_kinds",
    "running_emulators",
    "start_emulator",
]

STORE_KINDS = ("s3", "gcs", "azure")
"""Emulator names, as given to ``--stores``."""
STORE_TYPE_OF_KIND = {"s3": "S3", "gcs": "GCS", "azure": "AZBLOB"}
AZURITE_ACCOUNT = "devstoreaccount1"
AZURITE_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
"""Azurite's published development key (not a secret)."""
AZURITE_ENV = "PIXXEL_AZURITE_MAIN"
GCS_PROJECT = "pixxel-sandbox"
GCS_SERVICE_ACCOUNT = f"deliveries@{GCS_PROJECT}.iam.gserviceaccount.com"


class EmulatorError(RuntimeError):
    """An emulator is not installed, exited, or did not answer in time."""


@dataclass
class Emulator:
    """One running store server.

    Attributes:
        kind: ``s3``, ``gcs`` or ``azure``.
        endpoint: its base URL (``http://127.0.0.1:PORT``).
        credentials: what the sandbox's deliveries and tests may use to reach it.
        process: the server process.
        log_path: where its output goes.
    """

    kind: str
    endpoint: str
    credentials: dict[str, str]
    process: subprocess.Popen[bytes] = field(repr=False)
    log_path: Path

    def describe(self) -> dict[str, Any]:
        """Endpoint, store type and credentials as plain JSON (for ``/_sandbox/info``)."""
        return {
            "kind": self.kind,
            "type": STORE_TYPE_OF_KIND[self.kind],
            "endpoint": self.endpoint,
            "credentials": dict(self.credentials),
            "pid": self.process.pid,
        }

    def stop(self, grace: float = 5.0) -> None:
        """SIGTERM the server's process group, SIGKILL after ``grace`` seconds."""
        terminate_group(self.process, grace)


def parse_store_kinds(text: str | Iterable[str] | None) -> tuple[str, ...]:
    """Parse ``"s3,gcs,azure"`` (or a list) into known emulator names, in order, without repeats.

    Raises:
        ValueError: an unknown name (the message lists the known ones).

    Example:
        >>> parse_store_kinds("S3, azure,s3")
        ('s3', 'azure')
    """
    if text is None:
        return ()
    items = text.split(",") if isinstance(text, str) else list(text)
    kinds: list[str] = []
    for item in items:
        name = item.strip().lower()
        if not name:
            continue
        name = {"azblob": "azure", "gs": "gcs"}.get(name, name)
        if name not in STORE_KINDS:
            raise ValueError(f"unknown store server {item!r}: choose from {', '.join(STORE_KINDS)}")
        if name not in kinds:
            kinds.append(name)
    return tuple(kinds)


def find_azurite() -> Path:
    """Return Azurite's blob server script (``node_modules/azurite/dist/src/blob/main.js``).

    Looks at ``$PIXXEL_AZURITE_MAIN``, then ``node_modules`` in the repository holding this
    package, then in the current directory.

    Raises:
        EmulatorError: node or Azurite is missing (the message says how to install them).
    """
    if shutil.which("node") is None:
        raise EmulatorError("Azurite needs Node.js: install it (apt-get install nodejs npm)")
    candidates = []
    if os.environ.get(AZURITE_ENV):
        candidates.append(Path(os.environ[AZURITE_ENV]))
    relative = Path("node_modules/azurite/dist/src/blob/main.js")
    candidates += [Path(__file__).resolve().parents[2] / relative, Path.cwd() / relative]
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    raise EmulatorError(
        "Azurite is not installed: run `npm ci` at the repository root (package.json pins it), "
        f"or point ${AZURITE_ENV} at azurite/dist/src/blob/main.js"
    )


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _command(kind: str, port: int) -> list[str]:
    bin_dir = Path(sys.executable).parent
    if kind == "s3":
        return [str(bin_dir / "moto_server"), "-H", "127.0.0.1", "-p", str(port)]
    if kind == "gcs":
        exe = str(bin_dir / "gcp-storage-emulator")
        return [exe, "start", "--host", "127.0.0.1", "--port", str(port), "--in-memory", "--quiet"]
    return [
        "node",
        str(find_azurite()),
        "--blobHost",
        "127.0.0.1",
        "--blobPort",
        str(port),
        "--silent",
        "--skipApiVersionCheck",
        "--loose",
        "--disableTelemetry",
        "--inMemoryPersistence",
    ]


def start_emulator(kind: str, log_dir: Path, *, startup_timeout: float = 60.0) -> Emulator:
    """Start one store server on a free loopback port and wait until it answers.

    Args:
        kind: ``s3``, ``gcs`` or ``azure``.
        log_dir: where ``<kind>-emulator.log`` is written.
        startup_timeout: seconds to wait for its first HTTP answer.

    Returns:
        The running emulator (stop it with :meth:`Emulator.stop`).

    Raises:
        EmulatorError: not installed, exited early, or no answer in time.
        ValueError: an unknown kind.

    Example:
        >>> moto = start_emulator("s3", tmp_path)  # doctest: +SKIP
        >>> moto.stop()  # doctest: +SKIP
    """
    (kind,) = parse_store_kinds([kind])
    command = _command(kind, port := _free_port())
    if not Path(command[0]).exists() and shutil.which(command[0]) is None:
        raise EmulatorError(f"{command[0]} is missing: install the 'stores' extra of pixxel-geo")
    log_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / f"{kind}-emulator.log"
    with log_path.open("ab") as log_file:
        process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=functools.partial(die_with_parent, os.getpid()),
        )
    endpoint = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(kind, endpoint, process, log_path, startup_timeout)
        credentials = _provision(kind, endpoint)
    except BaseException:
        terminate_group(process)
        raise
    return Emulator(kind, endpoint, credentials, process, log_path)


def _ready_path(kind: str) -> str:
    return {"s3": "/moto-api/", "gcs": "/storage/v1/b?project=" + GCS_PROJECT}.get(
        kind, f"/{AZURITE_ACCOUNT}?comp=list"
    )


def _wait_ready(kind: str, endpoint: str, process: subprocess.Popen[bytes], log_path: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            tail = log_path.read_text(errors="replace")[-1500:]
            raise EmulatorError(f"the {kind} server exited with status {process.returncode}:\n{tail}")
        with contextlib.suppress(httpx.TransportError):
            # Any HTTP answer means it serves (Azurite answers 403 to an unsigned listing).
            if httpx.get(endpoint + _ready_path(kind), timeout=2.0).status_code < 500:
                return
        time.sleep(0.05)
    raise EmulatorError(f"the {kind} server did not answer within {timeout:.0f} s; see {log_path}")


def _provision(kind: str, endpoint: str) -> dict[str, str]:
    """Make the credentials a server accepts (and, for moto, turn its authentication on)."""
    if kind == "s3":
        import boto3

        iam = boto3.client(
            "iam",
            endpoint_url=endpoint,
            region_name="us-east-1",
            aws_access_key_id="provisioning",
            aws_secret_access_key="provisioning",  # noqa: S106 (moto accepts anything before auth is on)
        )
        iam.create_user(UserName="pixxel-deliveries")
        key = iam.create_access_key(UserName="pixxel-deliveries")["AccessKey"]
        policy = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
        iam.put_user_policy(UserName="pixxel-deliveries", PolicyName="all", PolicyDocument=json.dumps(policy))
        httpx.post(endpoint + "/moto-api/reset-auth", content=b"0", timeout=10.0).raise_for_status()
        return {"access_key_id": key["AccessKeyId"], "secret_access_key": key["SecretAccessKey"]}
    if kind == "gcs":
        account = {
            "type": "service_account",
            "project_id": GCS_PROJECT,
            "private_key_id": secrets.token_hex(20),
            "client_email": GCS_SERVICE_ACCOUNT,
            "client_id": str(secrets.randbelow(10**20)),
        }
        return {"project_id": GCS_PROJECT, "service_account_credentials": json.dumps(account)}
    connection = (
        f"DefaultEndpointsProtocol=http;AccountName={AZURITE_ACCOUNT};AccountKey={AZURITE_KEY};"
        f"BlobEndpoint={endpoint}/{AZURITE_ACCOUNT};"
    )
    return {"account_name": AZURITE_ACCOUNT, "account_key": AZURITE_KEY, "connection_string": connection}


@contextlib.contextmanager
def running_emulators(kinds: Iterable[str], log_dir: Path) -> Iterator[dict[str, Emulator]]:
    """Start several store servers for a ``with`` block (all stopped at its end).

    Args:
        kinds: names as for :func:`parse_store_kinds`.
        log_dir: where their logs go.

    Yields:
        The running emulators by kind.
    """
    started: dict[str, Emulator] = {}
    try:
        for kind in parse_store_kinds(list(kinds)):
            started[kind] = start_emulator(kind, log_dir)
        yield started
    finally:
        for emulator in started.values():
            emulator.stop()
