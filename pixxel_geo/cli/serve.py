"""``pixxel-geo serve``: the local range server, for GDAL tools and anything that reads HTTP ranges.

Example::

    pixxel-geo serve --catalog 4b1c...        # prints the base URL and each catalog's GDAL path
    gdalinfo /vsicurl/http://127.0.0.1:41234/<token>/catalogs/4b1c.../<item>.tif
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from typing import Any

__all__ = ["add_parser", "run"]

TOKEN_ENV = "PIXXEL_SERVE_TOKEN"  # noqa: S105  (the variable's name, not a secret)


def add_parser(subparsers: Any) -> None:
    """Add the ``serve`` command to the root parser's subparsers."""
    parser = subparsers.add_parser(
        "serve",
        help="serve products on 127.0.0.1 for GDAL tools (no signed URLs, re-signed on expiry)",
        description="Run a range server on 127.0.0.1 in front of Pixxel's signed URLs until interrupted. "
        "URLs look like http://127.0.0.1:PORT/TOKEN/catalogs/ID/catalogs.zip (the archive) or "
        ".../catalogs/ID/MEMBER (a stored member, e.g. the image .tif). TOKEN is random unless "
        f"{TOKEN_ENV} is set (16-128 letters, digits, '-', '_'), which keeps URLs stable across restarts.",
    )
    parser.add_argument("--port", type=int, default=0, help="port to listen on (default: a free one)")
    parser.add_argument("--catalog", nargs="+", default=[], metavar="ID", help="print these catalogs' GDAL paths")
    parser.set_defaults(handler=run)


def run(client: Any, args: argparse.Namespace) -> int:
    """Serve until Ctrl-C or SIGTERM; print the base URL, then one ``ID PATH`` line per ``--catalog``."""
    from pixxel_geo.io.localserver import LocalRangeServer, local_gdal_path

    server = LocalRangeServer(client=client, port=args.port, token=os.environ.get(TOKEN_ENV) or None)
    stop = threading.Event()
    previous = signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        server.start()
        print(f"serving on {server.base_url}", flush=True)
        for catalog_id in args.catalog:
            print(f"{catalog_id} {local_gdal_path(catalog_id, client=client, server=server)}", flush=True)
        sys.stderr.write("press Ctrl-C to stop\n")
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
        server.close()
    return 0
