"""``pixxel-geo``: the command line.

Results go to stdout (``--json`` for machines), progress and errors to stderr.
Errors are one line and exit 1; usage errors exit 2; ``--debug`` shows
tracebacks and the HTTP log (never the token or signed URLs' query strings).

Example::

    pixxel-geo catalogs search --bbox 77.5 12.9 77.7 13.1 --max-cloud-cover 10
    pixxel-geo deliver --store STORE_ID --catalog CATALOG_ID --wait
    pixxel-geo download --catalog CATALOG_ID --dest data/ --extract
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Callable, Sequence

import pixxel_geo as px
from pixxel_geo._extras import require_modules
from pixxel_geo.api.config import DEFAULT_BASE_URL
from pixxel_geo.api.redact import redact_urls
from pixxel_geo.api.validate import STORE_TYPES
from pixxel_geo.cli import commands
from pixxel_geo.cli._types import count, percent, positive_seconds, seconds

__all__ = ["build_parser", "main"]

Handler = Callable[[px.Client, argparse.Namespace], int]


def _add_common(parser: argparse.ArgumentParser, json: bool = True) -> None:
    if json:
        parser.add_argument("--json", action="store_true", help="print JSON instead of a table")


def _ids(parser: argparse.ArgumentParser, required: bool = True) -> None:
    group = parser.add_mutually_exclusive_group(required=required)
    group.add_argument("--catalog", nargs="+", metavar="ID", help="catalog id(s)")
    group.add_argument("--order-item", nargs="+", metavar="ID", help="order item id(s)")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (exposed for tests and docs)."""
    parser = argparse.ArgumentParser(
        prog="pixxel-geo",
        description="Pixxel imagery from the command line. The API key comes from PIXXEL_API_KEY "
        "or ~/.config/pixxel/config.toml; never pass it as an argument.",
    )
    parser.add_argument("--api-url", help=f"API base URL (default: PIXXEL_API_URL or {DEFAULT_BASE_URL})")
    parser.add_argument("--timeout", dest="http_timeout", type=positive_seconds, help="seconds each API call may take")
    parser.add_argument("--debug", action="store_true", help="show tracebacks and the HTTP log")
    parser.add_argument("--version", action="version", version=f"pixxel-geo {px.__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    stores = sub.add_parser("stores", help="list, create or delete stores").add_subparsers(
        dest="action", required=True, metavar="ACTION"
    )
    p = stores.add_parser("list", help="list stores")
    _add_common(p)
    p.set_defaults(handler=commands.stores_list)
    p = stores.add_parser("create", help="create a store")
    p.add_argument("--name", required=True)
    p.add_argument("--type", required=True, choices=STORE_TYPES, type=str.upper)
    p.add_argument("--bucket", required=True)
    p.add_argument("--region", required=True)
    p.add_argument("--path-prefix")
    p.add_argument(
        "--secret",
        action="append",
        metavar="KEY=ENV_VAR",
        help="repeatable: the store secret KEY, read from the environment variable ENV_VAR "
        "(never typed on the command line, where ps and shell history would keep it)",
    )
    p.add_argument("--secrets-file", metavar="FILE", help="a JSON object of store secrets")
    p.add_argument("--label", action="append", metavar="KEY=VALUE", help="repeatable")
    _add_common(p)
    p.set_defaults(handler=commands.stores_create)
    p = stores.add_parser("delete", help="delete a store")
    p.add_argument("store_id")
    p.set_defaults(handler=commands.stores_delete)

    catalogs = sub.add_parser("catalogs", help="search or show catalogs").add_subparsers(
        dest="action", required=True, metavar="ACTION"
    )
    p = catalogs.add_parser("search", help="search catalogs (all pages)")
    p.add_argument("--bbox", nargs=4, type=float, metavar=("W", "S", "E", "N"))
    p.add_argument("--datetime", help="RFC 3339 instant or interval, e.g. 2024-01-01T00:00:00Z/..")
    p.add_argument("--max-cloud-cover", type=percent, metavar="PERCENT")
    p.add_argument("--id", nargs="+", metavar="ID")
    p.add_argument("--order-id", nargs="+", metavar="ID")
    p.add_argument("--order-item-id", nargs="+", metavar="ID")
    p.add_argument("--sort", default="-datetime", help="datetime or -datetime (default; write --sort=-datetime)")
    p.add_argument("--max-items", type=count)
    _add_common(p)
    p.set_defaults(handler=commands.catalogs_search)
    p = catalogs.add_parser("show", help="show one catalog")
    p.add_argument("catalog_id")
    _add_common(p)
    p.set_defaults(handler=commands.catalogs_show)

    p = sub.add_parser("deliver", help="deliver catalogs or order items into a store")
    p.add_argument("--store", required=True, metavar="STORE_ID")
    _ids(p)
    p.add_argument("--path", help="prefix inside the store")
    p.add_argument("--wait", action="store_true", help="wait until delivered")
    p.add_argument("--timeout", dest="wait_timeout", type=seconds, default=3600, help="seconds to wait in all")
    _add_common(p)
    p.set_defaults(handler=commands.deliver)

    deliveries = sub.add_parser("deliveries", help="list, wait for or open deliveries").add_subparsers(
        dest="action", required=True, metavar="ACTION"
    )
    p = deliveries.add_parser("list", help="list deliveries")
    p.add_argument("--delivery-id")
    p.add_argument("--catalog-id")
    p.add_argument("--task-id")
    p.add_argument("--order-item-id")
    _add_common(p)
    p.set_defaults(handler=commands.deliveries_list)
    p = deliveries.add_parser("wait", help="wait until deliveries are final")
    p.add_argument("delivery_ids", nargs="+")
    p.add_argument("--timeout", dest="wait_timeout", type=seconds, default=3600, help="seconds to wait in all")
    _add_common(p)
    p.set_defaults(handler=commands.deliveries_wait)

    from pixxel_geo.cli import deliveries_open

    deliveries_open.add_open_parser(deliveries)

    p = sub.add_parser("link", help="get a signed download link and its expiry")
    _ids(p)
    p.add_argument("--timeout", dest="wait_timeout", type=seconds, default=1800, help="seconds to wait in all")
    p.add_argument("--show-url", action="store_true", help="also print the full URL (a credential)")
    _add_common(p)
    p.set_defaults(handler=commands.link)

    from pixxel_geo.cli import download

    download.add_parser(sub)

    from pixxel_geo.cli import serve

    serve.add_parser(sub)

    p = sub.add_parser("sandbox", help="run the local Pixxel API sandbox", add_help=False)
    p.add_argument("sandbox_args", nargs=argparse.REMAINDER)
    p.set_defaults(handler=None, local="sandbox")
    p = sub.add_parser("demo", help="run the guided demo on a fresh sandbox")
    p.add_argument("--data-dir", help="keep the sandbox's products here (default: a cache folder)")
    p.add_argument("--out", default="pixxel-demo", help="where to write the demo's files")
    p.set_defaults(handler=None, local="demo")
    return parser


def _run_local(command: str, run: Callable[[], int]) -> int:
    """Run ``sandbox`` or ``demo``: a missing extra or a refused port is one line, not a traceback."""
    try:
        return run()
    except ModuleNotFoundError as exc:
        from pixxel_geo._extras import missing_extra

        error = missing_extra(exc, f"pixxel-geo {command}", prefer="sandbox")
        if error is None:
            raise
        raise error from None
    except (OSError, OverflowError) as exc:  # e.g. a port outside 0-65535 or already in use
        raise px.ConfigurationError(f"pixxel-geo {command} failed: {exc}") from None
    except RuntimeError as exc:
        from pixxel_geo.sandbox.launcher import SandboxStartError

        if not isinstance(exc, SandboxStartError):
            raise
        raise px.ConfigurationError(f"pixxel-geo {command}: the local sandbox did not start: {exc}") from None


_SANDBOX_MODULES = ("starlette", "uvicorn", "numpy", "rasterio")
_DEMO_IO_MODULES = ("xarray", "fsspec", "rioxarray")


def _sandbox(argv: list[str]) -> int:
    require_modules("pixxel-geo sandbox", "sandbox", _SANDBOX_MODULES)
    from pixxel_geo.sandbox.server import main as sandbox_main

    return sandbox_main(argv)


def _demo(args: argparse.Namespace) -> int:
    require_modules("pixxel-geo demo", "sandbox", _SANDBOX_MODULES)
    require_modules("pixxel-geo demo", "io", _DEMO_IO_MODULES)
    from pixxel_geo.demo import run_demo

    return run_demo(data_dir=args.data_dir, out=args.out)


def _say_error(message: str) -> None:
    """One line on stderr (an error message never spans lines; URLs' query strings removed)."""
    sys.stderr.write("error: " + " ".join(redact_urls(message).split()) + "\n")


def _stdout_gone() -> int:
    """The reader of stdout went away (``| head``): stop quietly, as Unix tools do."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, sys.stdout.fileno())  # so the interpreter's final flush finds nowhere to fail
    except (OSError, ValueError):
        pass  # stdout is not a real file (tests capture it)
    finally:
        os.close(devnull)
    return 141  # 128 + SIGPIPE, what a shell reports for a tool killed by a closed pipe


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit code.

    Errors are one line on stderr and exit 1 (usage errors exit 2); with
    ``--debug`` they raise, with their traceback. A closed stdout (``| head``)
    ends the command quietly with 141.
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv
    try:
        if argv[:1] == ["sandbox"]:  # hand everything after "sandbox" to its own parser
            return _run_local("sandbox", lambda: _sandbox(argv[1:]))
        parser = build_parser()
        args = parser.parse_args(argv)
        if args.debug:
            logging.basicConfig(level=logging.DEBUG, format="%(levelname)s %(name)s: %(message)s")
            logging.getLogger("httpx").setLevel(logging.WARNING)  # its log lines include full URLs
            logging.getLogger("httpcore").setLevel(logging.WARNING)
        if args.handler is None:  # "--debug sandbox …" comes this way too
            local = args.local
            return _run_local(local, lambda: _sandbox(args.sandbox_args) if local == "sandbox" else _demo(args))
        with px.Client(base_url=args.api_url, timeout=args.http_timeout) as client:
            handler: Handler = args.handler
            return handler(client, args)
    except px.PixxelError as exc:
        if debug:
            raise
        _say_error(str(exc))
        return 1
    except BrokenPipeError:
        return _stdout_gone()
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        return 130
    except Exception as exc:
        if debug:
            raise
        said = " ".join(str(exc).split())
        said = said if len(said) <= 300 else said[:300] + "…"
        _say_error(
            f"unexpected {type(exc).__name__}: {said}. This is a bug in pixxel-geo: run the command again "
            "with --debug for the traceback, and report it."
        )
        return 1
