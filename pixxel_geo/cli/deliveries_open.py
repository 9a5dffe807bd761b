"""``pixxel-geo deliveries open ID``: what a delivery holds (members, sizes) and where it is.

Reads only the zip's central directory, in place in the store, with the user's own cloud
credentials (the SDKs' standard environment and config) or ``--storage-option KEY=VALUE``.

Example:
    $ pixxel-geo deliveries open 5b0d… --storage-option endpoint_url=http://127.0.0.1:9000
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from pixxel_geo._extras import missing_extra
from pixxel_geo.api.errors import ConfigurationError, InvalidInputError, PixxelError
from pixxel_geo.api.redact import redact_urls
from pixxel_geo.cli._output import print_json, print_table

__all__ = ["add_open_parser", "deliveries_open", "parse_storage_options"]


def parse_storage_options(values: list[str] | None) -> dict[str, Any]:
    """``["anon=true", "endpoint_url=http://h:1"]`` → ``{"anon": True, "endpoint_url": "http://h:1"}``.

    Values that read as JSON (``true``, ``3``, ``{"a": 1}``) are decoded; others stay strings.

    Raises:
        InvalidInputError: an item is not ``KEY=VALUE``.

    Example:
        >>> parse_storage_options(["anon=true", "key=AKIA"])
        {'anon': True, 'key': 'AKIA'}
    """
    options: dict[str, Any] = {}
    for item in values or []:
        key, sep, raw = item.partition("=")
        if not sep or not key.strip():
            raise InvalidInputError(f"--storage-option must look like KEY=VALUE, got {item.split('=')[0]!r}")
        try:
            value: Any = json.loads(raw)
        except ValueError:
            value = raw
        options[key.strip()] = value if isinstance(value, bool | int | float | dict | list) else raw
    return options


def deliveries_open(client: Any, args: argparse.Namespace) -> int:
    """Print a delivery's object URL and its members (name, size, stored or compressed).

    Args:
        client: a ``px.Client``.
        args: ``delivery_id``, ``storage_option`` (list of KEY=VALUE) and ``json``.

    Returns:
        0 on success (errors are raised for the CLI's error handler).
    """
    try:
        from pixxel_geo.io.stores import delivery_location, store_archive
    except ModuleNotFoundError as exc:
        error = missing_extra(exc, "pixxel-geo deliveries open", prefer="stores")
        if error is None:
            raise
        raise error from None

    options = parse_storage_options(args.storage_option)
    delivery, store, url = delivery_location(args.delivery_id, client)
    try:
        archive = store_archive(url, options)
        members = [m for m in archive.members.values() if not m.is_dir]
    except PixxelError:
        raise
    except ModuleNotFoundError as exc:
        error = missing_extra(exc, f"Reading a {store.type} store", prefer="stores")
        if error is None:
            raise
        raise error from None
    except Exception as exc:  # the cloud SDK's own errors: no credentials, access denied, no such bucket
        raise _store_error(exc, url, store.type) from None
    if args.json:
        print_json(
            {
                "delivery_id": delivery.delivery_id,
                "catalog_id": delivery.catalog_id,
                "store_id": store.id,
                "store_type": store.type,
                "url": url,
                "size": archive.size,
                "members": [{"name": m.name, "size": m.file_size, "stored": m.is_stored} for m in members],
            }
        )
        return 0
    sys.stdout.write(f"{url}  ({archive.size} bytes, store {store.name} {store.type})\n")
    print_table(
        ["MEMBER", "SIZE", "STORED"],
        [(m.name, m.file_size, "yes" if m.is_stored else "no (compressed)") for m in members],
    )
    return 0


_CREDENTIALS_HELP = {
    "S3": "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or a profile in ~/.aws",
    "GCS": "GOOGLE_APPLICATION_CREDENTIALS (a service account file) or gcloud's application-default login",
    "AZBLOB": "AZURE_STORAGE_CONNECTION_STRING, or AZURE_STORAGE_ACCOUNT_NAME with a key",
}


def _store_error(exc: Exception, url: str, store_type: str) -> ConfigurationError:
    """A cloud SDK's failure as one clear error: what failed, and where credentials come from."""
    name = type(exc).__name__
    said = redact_urls(" ".join(str(exc).split()))[:300]
    credentials = "credential" in name.lower() or "credential" in said.lower()
    advice = (
        f"Set your cloud credentials ({_CREDENTIALS_HELP.get(store_type.upper(), 'the SDK standard ones')})"
        if credentials
        else "Check the bucket, your access to it and your credentials"
    )
    return ConfigurationError(
        f"Cannot read {url}: {name}: {said}. {advice}, or pass them with --storage-option KEY=VALUE "
        "(e.g. key=… secret=… endpoint_url=…)."
    )


def add_open_parser(deliveries_subparsers: Any) -> None:
    """Add ``open`` to the ``deliveries`` subcommands (handler: :func:`deliveries_open`).

    Args:
        deliveries_subparsers: the ``add_subparsers()`` object of ``pixxel-geo deliveries``.

    Example:
        >>> parser = argparse.ArgumentParser(); sub = parser.add_subparsers()
        >>> add_open_parser(sub)
        >>> parser.parse_args(["open", "d1", "--storage-option", "anon=true"]).storage_option
        ['anon=true']
    """
    p = deliveries_subparsers.add_parser(
        "open",
        help="show what a delivery holds and where (reads the zip in place in your bucket)",
        description="List a delivered archive's members, read in place from the store with your own "
        "cloud credentials (environment / SDK config) or --storage-option.",
    )
    p.add_argument("delivery_id", metavar="ID", help="the delivery's id")
    p.add_argument(
        "--storage-option",
        action="append",
        metavar="KEY=VALUE",
        help="an option for s3fs / gcsfs / adlfs, e.g. endpoint_url=http://127.0.0.1:9000 (repeatable)",
    )
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(handler=deliveries_open)
