"""``pixxel-geo download``: products to disk, in parallel, resumable, verified.

Example::

    pixxel-geo download --catalog 4b1c... --dest data/ --extract
    pixxel-geo download --order-item 77f0... --dest data/ --connections 16 --json
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from pixxel_geo.api.errors import TransferCancelled
from pixxel_geo.api.validate import MAX_CONNECTIONS
from pixxel_geo.cli.progress import ProgressRenderer
from pixxel_geo.transfer.progress import FileFinished

__all__ = ["add_parser", "run"]


def _connections(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        number = 0
    if not 1 <= number <= MAX_CONNECTIONS:
        raise argparse.ArgumentTypeError(
            f"--connections must be a whole number from 1 to {MAX_CONNECTIONS}, not {value!r}"
        )
    return number


def add_parser(subparsers: Any) -> None:
    """Add the ``download`` command to the root parser's subparsers."""
    parser = subparsers.add_parser(
        "download",
        help="download products (parallel, resumable, verified)",
        description="Create a download resource, wait for its signed URL, and fetch the archive into "
        "DEST as pixxel-<first id>.zip (resumable: run the same command again after an interruption). "
        "Progress goes to stderr, the summary to stdout.",
    )
    ids = parser.add_mutually_exclusive_group(required=True)
    ids.add_argument("--catalog", nargs="+", metavar="ID", help="catalog id(s)")
    ids.add_argument("--order-item", nargs="+", metavar="ID", help="order item id(s)")
    parser.add_argument("--dest", default=".", metavar="DIR", help="destination folder (default: .)")
    parser.add_argument("--extract", action="store_true", help="also unpack the archive (safely)")
    parser.add_argument(
        "--connections", type=_connections, default=8, metavar="N", help="parallel connections (default 8)"
    )
    parser.add_argument("--overwrite", action="store_true", help="replace existing files")
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")
    parser.set_defaults(handler=lambda client, args: run(args, client))


def run(args: argparse.Namespace, client: Any) -> int:
    """Run ``pixxel-geo download``; returns the exit code (0 done, 130 cancelled).

    Other errors (:class:`pixxel_geo.PixxelError`) propagate to the root CLI,
    which prints them on one line and exits 1.
    """
    renderer = ProgressRenderer()
    try:
        paths = client.download(  # checks every argument before the first request
            catalog_ids=args.catalog,
            order_item_ids=args.order_item,
            dest=args.dest,
            extract=args.extract,
            overwrite=args.overwrite,
            connections=args.connections,
            on_event=renderer,
        )
    except (TransferCancelled, KeyboardInterrupt) as exc:
        message = str(exc) if isinstance(exc, TransferCancelled) else "interrupted"
        sys.stderr.write(f"cancelled: {message}\n")
        return 130
    finally:
        renderer.close()
    _print_summary(renderer.finished, [str(p) for p in paths], as_json=args.json)
    return 0


def _file_summary(event: FileFinished) -> dict[str, Any]:
    rate = event.rate
    return {
        "path": event.path,
        "size": event.size,
        "fetched": event.fetched,
        "seconds": round(event.seconds, 3),
        "mb_per_s": round(rate / 1e6, 1) if rate else None,
        "verified": event.verified,
        "skipped": event.skipped,
    }


def _print_summary(finished: list[FileFinished], paths: list[str], *, as_json: bool) -> None:
    files = [_file_summary(event) for event in finished]
    if as_json:
        json.dump({"files": files, "paths": paths}, sys.stdout, indent=2)
        sys.stdout.write("\n")
        return
    for item in files:
        if item["skipped"]:
            how = "already complete, kept"
        else:
            how = f"{item['seconds']:.1f} s, {item['mb_per_s'] or 0:.1f} MB/s"
        checked = item["verified"] not in (None, "none")
        verified = f"{item['verified']} verified" if checked else "NOT verified"
        print(f"{item['path']}  {item['size'] / 1e6:.1f} MB  {how}  {verified}")
    if len(paths) != len(files) or paths != [item["path"] for item in files]:
        print(f"{len(paths)} file(s):")
        for path in paths:
            print(f"  {path}")
