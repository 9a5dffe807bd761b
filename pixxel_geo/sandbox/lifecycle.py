"""How deliveries and download resources move through their states on the clock.

State is derived from elapsed time when read: a resource created at ``t0`` with a duration ``d``
is ``CREATED`` until ``t0 + d/4``, then ``IN_PROGRESS``, and final from ``t0 + d``. A delivery
becomes ``SUCCESS`` only once its archive has been copied into the store (the server's ticker
does that when the time is up); one marked to fail becomes ``FAILED`` at ``t0 + d``.
Deliveries use upper-case statuses, download resources lower-case ones, as the API does.
"""

from __future__ import annotations

from typing import Any

from pixxel_geo.sandbox.timefmt import rfc3339

IN_PROGRESS_AFTER = 0.25


def _phase(record: dict[str, Any], now: float) -> tuple[str, float]:
    """Return (created|in_progress|due, epoch of the last change)."""
    started = float(record["created"])
    seconds = float(record["seconds"])
    if now >= started + seconds:
        return "due", started + seconds
    if now >= started + seconds * IN_PROGRESS_AFTER:
        return "in_progress", started + seconds * IN_PROGRESS_AFTER
    return "created", started


def delivery_status(record: dict[str, Any], now: float) -> tuple[str, float]:
    """Return a delivery's status and the epoch time it took that status.

    Example:
        >>> delivery_status({"created": 0, "seconds": 4, "fail": False, "done_at": None}, 2)
        ('IN_PROGRESS', 1.0)
    """
    if record.get("done_at") is not None:
        return "SUCCESS", float(record["done_at"])
    phase, changed = _phase(record, now)
    if record.get("failed_at") is not None:
        return "FAILED", float(record["failed_at"])
    if phase == "due":
        return ("FAILED", changed) if record.get("fail") else ("IN_PROGRESS", changed)
    return phase.upper(), changed


def delivery_due(record: dict[str, Any], now: float) -> bool:
    """True when a delivery's time is up and its copy is still to be done."""
    if record.get("done_at") is not None or record.get("failed_at") is not None:
        return False
    return not record.get("fail") and _phase(record, now)[0] == "due"


def delivery_view(record: dict[str, Any], now: float) -> dict[str, Any]:
    """Return the public Delivery object for a delivery record."""
    status, changed = delivery_status(record, now)
    return {
        "delivery_id": record["delivery_id"],
        "catalog_id": record["catalog_id"],
        "cloud_delivery": {"config": record["store_id"], "path": record["cloud_path"]},
        "target_path": record["target_path"],
        "task_id": record.get("task_id"),
        "status": status,
        "created_at": rfc3339(record["created"]),
        "created_by": record["created_by"],
        "updated_at": rfc3339(changed),
        "updated_by": record["created_by"],
    }


def download_status(record: dict[str, Any], now: float) -> str:
    """Return a download resource's status (lower case).

    Example:
        >>> download_status({"created": 0, "seconds": 4, "fail": True}, 5)
        'failed'
    """
    phase, _ = _phase(record, now)
    if phase == "due":
        return "failed" if record.get("fail") else "success"
    return phase
