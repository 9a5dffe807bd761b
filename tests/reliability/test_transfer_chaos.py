"""The chaos download run: every download byte-identical and verified under the sandbox's worst.

Seeded 5xx on file URLs, throttling with Retry-After, cut bodies, a byte inverted in transit (caught
by the per-answer Content-Digest), slow links and signed URLs that expire in 2.5 s — all at once.
Also a secret scan: no signature reaches the files written, the log, or an event.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import pytest

from pixxel_geo.api.events import Event
from pixxel_geo.transfer import FileFinished, download_products

PART = 96 * 1024


@pytest.fixture
def catalog_ids(client: Any) -> list[str]:
    return [c.id for c in client.catalogs.search(limit=3)]


def test_downloads_under_chaos_are_identical_verified_and_leak_nothing(
    client: Any, sandbox: Any, catalog_ids: list[str], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    references = {
        c: download_products(client, catalog_ids=[c], dest=tmp_path / "reference")[0].read_bytes() for c in catalog_ids
    }
    sandbox.set_faults(
        server_error_prefix="/files/",
        error_rate=0.15,
        error_seed=15,
        file_rate_limit=3,
        retry_after=1,
        cut_after=50_000,
        cut_count=6,
        flip_byte=PART + 1234,
        flip_count=2,
        part_digests=True,
        bandwidth=400_000,
        url_lifetime=2.5,
    )
    caplog.set_level(logging.DEBUG, logger="pixxel_geo")
    events: list[Event] = []
    dest = tmp_path / "chaos"
    for catalog_id, reference in references.items():
        [path] = download_products(
            client, catalog_ids=[catalog_id], dest=dest, part_size=PART, connections=4, on_event=events.append
        )
        assert path.read_bytes() == reference
    sandbox.clear_faults()

    finished = [e for e in events if isinstance(e, FileFinished)]
    assert [e.verified for e in finished] == ["sha-256"] * len(references)
    statuses = {r["status"] for r in sandbox.requests(path_prefix="/files/")}
    assert {403, 429, 503} <= statuses  # the chaos did happen: expiries, throttling, errors
    assert sorted(os.listdir(dest)) == sorted(
        [".pixxel-verified.json", ".pixxel-verified.lock", *(f"pixxel-{c}.zip" for c in references)]
    )

    secrets = ("X-Pixxel-Signature", "X-Pixxel-Expires", sandbox.token)
    written = b"".join(p.read_bytes() for p in dest.iterdir() if p.suffix != ".zip")
    said = caplog.text + "\n".join(repr(e) for e in events)
    for secret in secrets:
        assert secret.encode() not in written
        assert secret not in said
