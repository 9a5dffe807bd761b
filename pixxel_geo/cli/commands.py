"""The CLI's commands that talk to the API (one function per command)."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

import pixxel_geo as px
from pixxel_geo.api.errors import InvalidInputError
from pixxel_geo.api.events import Event, Finished, StateChanged
from pixxel_geo.api.redact import redact_url
from pixxel_geo.cli._output import print_json, print_table

__all__ = [
    "catalogs_search",
    "catalogs_show",
    "deliver",
    "deliveries_list",
    "deliveries_wait",
    "link",
    "stores_create",
    "stores_delete",
    "stores_list",
]


def _pairs(values: list[str] | None, what: str) -> dict[str, str]:
    result: dict[str, str] = {}
    for value in values or []:
        key, sep, val = value.partition("=")
        if not sep or not key:
            raise InvalidInputError(f"{what} must look like KEY=VALUE, got {value!r}.")
        result[key] = val
    return result


def _status_line(event: Event) -> None:
    if isinstance(event, StateChanged):
        sys.stderr.write(f"{event.subject}: {event.status}\n")
    elif isinstance(event, Finished) and event.detail:
        sys.stderr.write(f"{event.subject}: done ({event.detail})\n")


def stores_list(client: px.Client, args: argparse.Namespace) -> int:
    """``pixxel-geo stores list [--json]``: the workspace's stores."""
    stores = client.stores.list()
    if args.json:
        print_json(stores)
    else:
        rows = [(s.id, s.name, s.type, s.configs.bucket, s.configs.region, s.configs.path_prefix) for s in stores]
        print_table(("ID", "NAME", "TYPE", "BUCKET", "REGION", "PREFIX"), rows)
    return 0


def _store_secrets(args: argparse.Namespace) -> dict[str, str]:
    """Secrets from ``--secrets-file`` and ``--secret KEY=ENV_VAR``, never from the command line itself."""
    secrets: dict[str, str] = {}
    if args.secrets_file:
        try:
            loaded = json.loads(Path(args.secrets_file).read_text())
        except (OSError, ValueError) as exc:
            raise InvalidInputError(f"Cannot read --secrets-file {args.secrets_file}: {exc}") from None
        if not isinstance(loaded, dict) or not all(isinstance(v, str) for v in loaded.values()):
            raise InvalidInputError("--secrets-file must hold a JSON object of strings.")
        secrets.update(loaded)
    for key, variable in _pairs(args.secret, "--secret").items():
        if variable not in os.environ:
            raise InvalidInputError(
                f"--secret {key}={variable}: the environment variable {variable} is not set. "
                "Export it first (--secret names a variable, not the secret itself)."
            )
        secrets[key] = os.environ[variable]
    return secrets


def stores_create(client: px.Client, args: argparse.Namespace) -> int:
    """``stores create``: create a store; prints its id (or the store with ``--json``)."""
    store = client.stores.create(
        args.name, args.type, args.bucket, args.region, _store_secrets(args),
        path_prefix=args.path_prefix, labels=_pairs(args.label, "--label") or None,
    )  # fmt: skip
    if args.json:
        print_json(store)
    else:
        print(store.id)
    return 0


def stores_delete(client: px.Client, args: argparse.Namespace) -> int:
    """``pixxel-geo stores delete ID``."""
    client.stores.delete(args.store_id)
    sys.stderr.write(f"deleted store {args.store_id}\n")
    return 0


def catalogs_search(client: px.Client, args: argparse.Namespace) -> int:
    """``pixxel-geo catalogs search [filters] [--json]``: every matching catalog, all pages."""
    query: dict[str, Any] | None = None
    if args.max_cloud_cover is not None:
        query = {"cloudcover": {"lte": args.max_cloud_cover}}
    catalogs = list(
        client.catalogs.search(
            bbox=args.bbox, datetime=args.datetime, ids=args.id, order_ids=args.order_id,
            order_item_ids=args.order_item_id, query=query, sort_by=args.sort, max_items=args.max_items,
        )
    )  # fmt: skip
    if args.json:
        print_json(catalogs)
        return 0
    rows = [
        (
            c.id,
            c.item_id,
            c.datetime.strftime("%Y-%m-%d %H:%M") if c.datetime else "",
            "" if c.cloud_cover is None else f"{c.cloud_cover:.1f}",
            len(c.bands),
            "" if c.area is None else f"{c.area:g}",
        )
        for c in catalogs
    ]
    print_table(("ID", "ITEM", "DATETIME", "CLOUD %", "BANDS", "AREA KM²"), rows)
    return 0


def catalogs_show(client: px.Client, args: argparse.Namespace) -> int:
    """``pixxel-geo catalogs show ID [--json]``: one catalog, its bands and assets."""
    catalog = client.catalogs.get(args.catalog_id)
    if args.json:
        print_json(catalog)
        return 0
    bands = catalog.bands
    lines = [
        ("id", catalog.id),
        ("item", catalog.item_id),
        ("datetime", catalog.datetime.isoformat() if catalog.datetime else ""),
        ("cloud cover", catalog.cloud_cover),
        ("gsd (m)", catalog.gsd),
        ("epsg", catalog.epsg),
        ("bbox", ", ".join(f"{v:.4f}" for v in catalog.bbox) if catalog.bbox else ""),
        ("bands", len(bands)),
    ]
    if bands and bands[0].center_wavelength is not None and bands[-1].center_wavelength is not None:
        lines.append(("wavelengths", f"{bands[0].center_wavelength:g}–{bands[-1].center_wavelength:g} nm"))
    lines.append(("assets", ", ".join(catalog.assets)))
    width = max(len(k) for k, _ in lines)
    for key, value in lines:
        print(f"{key.ljust(width)}  {'' if value is None else value}")
    return 0


def deliver(client: px.Client, args: argparse.Namespace) -> int:
    """``pixxel-geo deliver --store ID (--catalog … | --order-item …) [--path P] [--wait]``."""
    deliveries = client.deliveries.create(
        args.store, catalog_ids=args.catalog, order_item_ids=args.order_item, path=args.path
    )
    if args.wait:
        deliveries = client.deliveries.wait(
            [d.delivery_id for d in deliveries], timeout=args.wait_timeout, on_event=_status_line
        )
    if args.json:
        print_json(deliveries)
    else:
        _delivery_table(deliveries)
    return 0


def _path_in_store(delivery: px.Delivery) -> str:
    prefix = delivery.cloud_delivery.path if delivery.cloud_delivery else None
    return "/".join(p.strip("/") for p in (prefix or "", delivery.target_path or "") if p)


def _delivery_table(deliveries: list[px.Delivery]) -> None:
    rows = [
        (
            d.delivery_id,
            d.catalog_id,
            d.status,
            d.cloud_delivery.config if d.cloud_delivery else "",
            _path_in_store(d),
        )
        for d in deliveries
    ]
    print_table(("DELIVERY", "CATALOG", "STATUS", "STORE", "PATH IN STORE"), rows)


def deliveries_list(client: px.Client, args: argparse.Namespace) -> int:
    """``pixxel-geo deliveries list [filters] [--json]``."""
    deliveries = client.deliveries.list(
        delivery_id=args.delivery_id, catalog_id=args.catalog_id, task_id=args.task_id,
        order_item_id=args.order_item_id,
    )  # fmt: skip
    if args.json:
        print_json(deliveries)
    else:
        _delivery_table(deliveries)
    return 0


def deliveries_wait(client: px.Client, args: argparse.Namespace) -> int:
    """``pixxel-geo deliveries wait ID… [--timeout S]``: until every one is final."""
    deliveries = client.deliveries.wait(args.delivery_ids, timeout=args.wait_timeout, on_event=_status_line)
    if args.json:
        print_json(deliveries)
    else:
        _delivery_table(deliveries)
    return 0


def link(client: px.Client, args: argparse.Namespace) -> int:
    """Create a download resource, wait, and say where the link points and when it expires."""
    download = client.downloads.create(catalog_ids=args.catalog, order_item_ids=args.order_item)
    download = client.downloads.wait(download.id, timeout=args.wait_timeout, on_event=_status_line)
    expires = download.expires_at
    if args.json:
        print_json({"id": download.id, "status": download.status.raw,
                    "url": redact_url(download.signed_url), "expires_at": expires})  # fmt: skip
        return 0
    print(f"download   {download.id}")
    print(f"status     {download.status}")
    print(f"link       {redact_url(download.signed_url)}  (query string hidden: it is a credential)")
    print(f"expires    {expires.isoformat() if expires else 'not stated by the URL'}")
    if args.show_url:
        print(download.signed_url)
    return 0
