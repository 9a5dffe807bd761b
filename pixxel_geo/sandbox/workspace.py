"""The seeded workspace: catalogs over a few places and dates, their orders and order items.

Ids are uuid5 of stable names, so the same settings give the same ids on every machine and
every restart. Products are generated once into ``<data_dir>/products/`` and reused.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pixxel_geo.sandbox.settings import SandboxSettings
from pixxel_geo.sandbox.timefmt import parse_rfc3339, rfc3339

log = logging.getLogger(__name__)

NAMESPACE = uuid.UUID("5b1c7a52-3c1e-4f4e-9d8a-7a1f0c2b9e10")
ORG_ID = str(uuid.uuid5(NAMESPACE, "org"))
USER_ID = str(uuid.uuid5(NAMESPACE, "user"))
PROJECT_ID = str(uuid.uuid5(NAMESPACE, "project"))
GSD_METRES = 5


def stable_id(kind: str, name: str) -> str:
    """Return the deterministic id of a seeded object.

    Example:
        >>> stable_id("catalog", "x") == stable_id("catalog", "x")
        True
    """
    return str(uuid.uuid5(NAMESPACE, f"{kind}:{name}"))


@dataclass
class CatalogEntry:
    """One catalog: its public record plus what the server needs behind it."""

    record: dict[str, Any]
    item_id: str
    order_id: str
    order_item_id: str
    zip_path: Path
    size: int
    sha256: str
    geometry: dict[str, Any]
    epoch: float
    cloud_cover: float


@dataclass
class Workspace:
    """Everything the seeded workspace holds, indexed by id."""

    catalogs: dict[str, CatalogEntry] = field(default_factory=dict)
    order_items: dict[str, dict[str, Any]] = field(default_factory=dict)

    def catalogs_of_order_item(self, order_item_id: str) -> list[str]:
        """Return the catalog ids that belong to an order item."""
        return [c for c, e in self.catalogs.items() if e.order_item_id == order_item_id]


def _groups(count: int) -> list[list[int]]:
    # order items: [0], [1, 2] (one order item holding two catalogs), then one each
    groups: list[list[int]] = [[0], [1, 2]] if count >= 3 else [[i] for i in range(count)]
    groups += [[i] for i in range(3, count)]
    return [[i for i in g if i < count] for g in groups if any(i < count for i in g)]


def _bbox(geometry: dict[str, Any]) -> list[float]:
    xs: list[float] = []
    ys: list[float] = []

    def walk(node: Any) -> None:
        if node and isinstance(node[0], int | float):
            xs.append(float(node[0]))
            ys.append(float(node[1]))
        else:
            for child in node:
                walk(child)

    walk(geometry["coordinates"])
    return [min(xs), min(ys), max(xs), max(ys)]


def build_workspace(settings: SandboxSettings, data_dir: Path) -> Workspace:
    """Generate (or reuse) the products and return the workspace built around them.

    Args:
        settings: product sizes and layout (interleave, DEFLATED members) and catalog count.
        data_dir: the sandbox data directory (products go to ``products/``).

    Returns:
        The workspace.

    Example:
        >>> ws = build_workspace(SandboxSettings(bands=4, width=64, height=64), tmp)  # doctest: +SKIP
    """
    from pixxel_geo.sandbox.products import build_product, default_specs, season_specs

    options = settings.product_options()
    specs = [
        dataclasses.replace(spec, interleave=settings.interleave_of(index))
        for index, spec in enumerate(
            default_specs(
                bands=settings.bands, width=settings.width, height=settings.height, count=settings.count, **options
            )[: settings.count]
        )
    ]
    if settings.timeseries:
        specs += season_specs(bands=settings.bands, width=settings.width, height=settings.height, **options)
    out_dir = data_dir / "products"
    out_dir.mkdir(parents=True, exist_ok=True)
    products = []
    for spec in specs:
        log.info("preparing product %s", spec.item_id)
        products.append(build_product(spec, out_dir))

    workspace = Workspace()
    groups = _groups(len(products))
    for index, group in enumerate(groups):
        order_number = min(index // 2, 2) + 1
        order_id = stable_id("order", f"order-{order_number}")
        order_item_id = stable_id("order-item", f"order-item-{index + 1}")
        images: list[dict[str, Any]] = []
        tasks: list[dict[str, Any]] = []
        first_epoch = min(parse_rfc3339(products[i].spec.datetime) for i in group)
        created = rfc3339(first_epoch - 10 * 86400)
        for i in group:
            product = products[i]
            spec = product.spec
            stac = dict(product.stac_item)
            geometry = stac.get("geometry") or product.footprint.get("geometry", product.footprint)
            stac.setdefault("geometry", geometry)
            stac.setdefault("bbox", _bbox(geometry))
            epoch = parse_rfc3339(spec.datetime)
            task_id = stable_id("task", spec.item_id)
            catalog_id = stable_id("catalog", spec.item_id)
            stamp = rfc3339(epoch + 2 * 86400)
            record = {
                "id": catalog_id,
                "area": round(spec.width * spec.height * GSD_METRES**2 / 1e6, 3),
                "bandset_id": stable_id("bandset", ",".join(spec.grid().names)),
                "created_at": stamp,
                "created_by": USER_ID,
                "delivery_status": "UNSPECIFIED" if i == len(products) - 1 else "SUCCESS",
                "details": stac,
                "org_id": ORG_ID,
                "task_id": task_id,
                "updated_at": stamp,
                "updated_by": USER_ID,
            }
            workspace.catalogs[catalog_id] = CatalogEntry(
                record=record,
                item_id=spec.item_id,
                order_id=order_id,
                order_item_id=order_item_id,
                zip_path=product.zip_path,
                size=product.size,
                sha256=product.sha256,
                geometry=geometry,
                epoch=epoch,
                cloud_cover=float(spec.cloud_cover),
            )
            images.append({"item_id": spec.item_id, "geometry": geometry})
            tasks.append(
                {
                    "id": task_id,
                    "order_item_id": order_item_id,
                    "status": "FULFILLED",
                    "type": "ARCHIVE",
                    "delivery_status": "NOT_APPLICABLE",
                    "number_of_strips": 1,
                    "start_date": rfc3339(epoch - 86400),
                    "end_date": rfc3339(epoch + 86400),
                    "created_at": created,
                    "created_by": USER_ID,
                    "updated_at": stamp,
                    "updated_by": USER_ID,
                    "tokens_used": 0,
                    "transaction_id": stable_id("transaction", order_item_id),
                }
            )
        spec0 = products[group[0]].spec
        workspace.order_items[order_item_id] = _order_item(
            order_item_id,
            order_id,
            f"{spec0.place} archive ({len(group)} image{'s' if len(group) > 1 else ''})",
            "FULFILLED",
            "ARCHIVE",
            created,
            images,
            tasks,
            bands=spec0.grid(),
            area=sum(workspace.catalogs[stable_id("catalog", products[i].spec.item_id)].record["area"] for i in group),
        )
    # a tasking order item still waiting for its capture: nothing to deliver yet
    pending_id = stable_id("order-item", "order-item-pending")
    workspace.order_items[pending_id] = _order_item(
        pending_id,
        stable_id("order", "order-3"),
        "Tasking request (awaiting capture)",
        "ACTIVE",
        "TASKING",
        rfc3339(parse_rfc3339("2025-01-05T09:00:00Z")),
        [],
        [],
        bands=default_specs(bands=settings.bands, count=1)[0].grid(),
        area=25,
    )
    return workspace


def _order_item(
    order_item_id: str,
    order_id: str,
    name: str,
    status: str,
    kind: str,
    created: str,
    images: list[dict[str, Any]],
    tasks: list[dict[str, Any]],
    *,
    bands: Any,
    area: float,
) -> dict[str, Any]:
    tasking = kind == "TASKING"
    bandset = [{"name": n, "wavelength": c} for n, c in zip(bands.names, bands.centers, strict=True)]
    return {
        "id": order_item_id,
        "order_id": order_id,
        "name": name,
        "status": status,
        "type": kind,
        "area": math.ceil(area),
        "bandset": {"bandset_id": stable_id("bandset", ",".join(bands.names)), "bands": bandset},
        "number_of_bands": len(bands.names),
        "base_amount": 1000.0,
        "final_amount": 1000.0,
        "cloud_cover": 20 if tasking else 0,
        "off_nadir": 20 if tasking else 0,
        "delivery_speed": "STANDARD" if tasking else "NOT_APPLICABLE",
        "feasibility_status": "SUCCESS" if tasking else "NOT_APPLICABLE",
        "image_type": "VNIR",
        "payment_status": "PAID",
        "recurrence": "ONCE" if tasking else "NOT_APPLICABLE",
        "no_of_occurrences": 0,
        "occurrences": [],
        "images": images,
        "tasks": tasks,
        "tokens_used": 0,
        "transaction_id": stable_id("transaction", order_item_id),
        "uplifts": [],
        "usecase": "agriculture",
        "validation_errors": [],
        "org_id": ORG_ID,
        "project_id": PROJECT_ID,
        "user_id": USER_ID,
        "created_at": created,
        "created_by": USER_ID,
        "updated_at": created,
        "updated_by": USER_ID,
    }
