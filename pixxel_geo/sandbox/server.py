"""Command line: ``python -m pixxel_geo.sandbox [--port P] [--token T] [--data-dir D] …``.

Product layout: ``--interleave band|pixel|mixed`` and ``--deflate-members``.

Binds 127.0.0.1 (port 0 picks a free port), prints the URL and token, writes the port to
``--port-file`` when given (how the launcher learns it), and serves until SIGTERM/SIGINT.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import secrets
import socket
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pixxel_geo.sandbox.processes import die_with_parent
from pixxel_geo.sandbox.settings import CRS_KINDS, INTERLEAVES, LAYOUTS, LEVELS, SandboxSettings

TOKEN_ENV = "PIXXEL_SANDBOX_TOKEN"  # noqa: S105 (a variable name, not a secret)
PARENT_ENV = "PIXXEL_SANDBOX_PARENT_PID"


def _port(text: str) -> int:
    """A TCP port for argparse: 0 (any free one) to 65535."""
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number (0-65535)") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{port} is not a port number: use 0-65535 (0 picks a free one)")
    return port


def _parser() -> argparse.ArgumentParser:
    defaults = SandboxSettings()
    parser = argparse.ArgumentParser(prog="pixxel-geo sandbox", description="Run a local emulator of the Pixxel API.")
    parser.add_argument("--port", type=_port, default=0, help="port on 127.0.0.1 (0: a free one)")
    parser.add_argument("--token", default=None, help=f"API token to accept (default: ${TOKEN_ENV} or random)")
    parser.add_argument("--data-dir", type=Path, default=None, help="state, products, buckets")
    parser.add_argument("--bands", type=int, default=defaults.bands)
    parser.add_argument("--size", type=int, default=defaults.width, help="width = height, px")
    parser.add_argument("--count", type=int, default=defaults.count, help="catalogs to seed")
    parser.add_argument("--url-lifetime", type=float, default=defaults.url_lifetime)
    parser.add_argument("--download-seconds", type=float, default=defaults.download_seconds)
    parser.add_argument("--delivery-seconds", type=float, default=defaults.delivery_seconds)
    parser.add_argument("--head-status", type=int, default=defaults.head_status)
    parser.add_argument(
        "--stores",
        default="",
        help="store servers to run (comma-separated: s3,gcs,azure); deliveries into stores of "
        "those types land in moto / gcp-storage-emulator / Azurite instead of local folders",
    )
    parser.add_argument(
        "--interleave",
        choices=INTERLEAVES,
        default=defaults.interleave,
        help="GeoTIFF layout of the products: band (default), pixel, or mixed (catalogs alternate band/pixel)",
    )
    parser.add_argument(
        "--deflate-members",
        action="store_true",
        help="pack zip members DEFLATED instead of STORED (no random access; for testing readers)",
    )
    parser.add_argument("--level", choices=LEVELS, default=defaults.level, help="processing level (default L2A)")
    parser.add_argument("--crs", choices=CRS_KINDS, default=defaults.crs, help="image grid (default EPSG:4326)")
    parser.add_argument(
        "--layout", choices=LAYOUTS, default=defaults.layout, help="zip layout: flat (default) or a folder per product"
    )
    parser.add_argument("--no-header", action="store_true", help="ship no ENVI .hdr member")
    parser.add_argument("--no-stac-bands", action="store_true", help="catalog STAC without eo:bands/raster:bands")
    parser.add_argument("--gdal-metadata", action="store_true", help="GeoTIFF band scale/offset and wavelengths")
    parser.add_argument("--no-mask-flags", action="store_true", help="quality mask without flag names")
    parser.add_argument("--wavelength-units", choices=("nm", "um"), default=defaults.wavelength_units)
    parser.add_argument("--timeseries", action="store_true", help="also seed a season over one farm")
    parser.add_argument("--port-file", type=Path, default=None, help=argparse.SUPPRESS)
    return parser


def _die_with_parent() -> None:
    """Die with the launching process, when a launcher said who that is."""
    expected = os.environ.get(PARENT_ENV)
    if expected:
        die_with_parent(int(expected))


def listening_socket(port: int) -> socket.socket:
    """The server's socket on 127.0.0.1 (``port`` 0 picks a free one), bound, not yet listening."""
    # IPPROTO_TCP explicitly: asyncio turns Nagle off (TCP_NODELAY) only on sockets whose proto
    # says TCP, and with Nagle on, a response written in pieces stalls 40 ms on the client's
    # delayed ACK whenever a connection is reused.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    # A fixed 256 KiB send buffer (Linux autotunes it up to 4 MiB) bounds what a dropped connection
    # swallows, so the request log's byte counts stay close to what clients received;
    # loopback throughput is unchanged (~1 GB/s for one stream).
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 262144)
    try:
        sock.bind(("127.0.0.1", port))
    except OSError:
        sock.close()
        raise
    return sock


def main(argv: list[str] | None = None) -> int:
    """Run the sandbox server until it is stopped.

    Args:
        argv: command-line arguments (``sys.argv[1:]`` when None).

    Returns:
        The exit status.

    Example:
        >>> main(["--port", "8123", "--bands", "16", "--size", "256"])  # doctest: +SKIP
    """
    args = _parser().parse_args(argv)
    _die_with_parent()
    try:
        settings = SandboxSettings(
            bands=args.bands,
            width=args.size,
            height=args.size,
            count=args.count,
            url_lifetime=args.url_lifetime,
            download_seconds=args.download_seconds,
            delivery_seconds=args.delivery_seconds,
            head_status=args.head_status,
            stores=args.stores.split(","),
            interleave=args.interleave,
            deflate_members=args.deflate_members,
            level=args.level,
            crs=args.crs,
            layout=args.layout,
            header=not args.no_header,
            stac_bands=not args.no_stac_bands,
            gdal_metadata=args.gdal_metadata,
            mask_flag_metadata=not args.no_mask_flags,
            wavelength_units=args.wavelength_units,
            timeseries=args.timeseries,
        )
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    token = args.token or os.environ.get(TOKEN_ENV) or secrets.token_urlsafe(24)
    data_dir = args.data_dir or Path(tempfile.mkdtemp(prefix="pixxel-sandbox-"))
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")

    try:
        sock = listening_socket(args.port)
    except OSError as exc:
        print(f"error: cannot listen on 127.0.0.1:{args.port}: {exc}", file=sys.stderr)
        return 1
    port = sock.getsockname()[1]

    from pixxel_geo.sandbox.emulators import EmulatorError

    try:
        with _store_servers(settings, data_dir) as servers:
            for kind, server in servers.items():
                print(f"  {kind + ' store:':13} {server['endpoint']}", flush=True)
            return _serve(settings, data_dir, token, sock, port, args.port_file)
    except EmulatorError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


@contextlib.contextmanager
def _store_servers(settings: SandboxSettings, data_dir: Path) -> Iterator[dict[str, dict[str, Any]]]:
    """Run the store servers asked for and record them in the data dir (none: remove the record)."""
    from pixxel_geo.sandbox.emulators import running_emulators
    from pixxel_geo.sandbox.stores import SERVERS_FILE, write_servers

    (data_dir / SERVERS_FILE).unlink(missing_ok=True)
    if not settings.stores:
        yield {}
        return
    # The Azure SDK and httpx log every request at INFO; keep the sandbox's log readable.
    for noisy in ("azure", "httpx"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    with running_emulators(settings.stores, data_dir / "store-servers") as emulators:
        servers = {kind: emulator.describe() for kind, emulator in emulators.items()}
        write_servers(data_dir, servers)
        try:
            yield servers
        finally:
            (data_dir / SERVERS_FILE).unlink(missing_ok=True)


def _serve(
    settings: SandboxSettings, data_dir: Path, token: str, sock: socket.socket, port: int, port_file: Path | None
) -> int:
    import uvicorn

    from pixxel_geo.sandbox.app import create_app

    app = create_app(settings, data_dir, token)
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="on", http="h11", ws="none")
    server = uvicorn.Server(config)
    print(f"Pixxel sandbox on http://127.0.0.1:{port}", flush=True)
    print(f"  token:    {token}", flush=True)
    print(f"  data dir: {data_dir}", flush=True)
    if port_file:
        tmp = port_file.with_name(port_file.name + ".tmp")
        tmp.write_text(str(port), encoding="ascii")
        os.replace(tmp, port_file)
    server.run(sockets=[sock])
    return 0
