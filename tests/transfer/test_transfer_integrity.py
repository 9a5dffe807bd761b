"""Integrity without ``Repr-Digest`` and ``Retry-After`` past the backoff cap, against the real sandbox.

The sandbox answers like Google Cloud Storage (``x-goog-hash``) or S3 (an MD5 ``ETag``) on request,
inverts a byte in transit (``flip_byte``), sends per-answer ``Content-Digest`` (``part_digests``) and
throttles its file URLs (``file_rate_limit``).
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

import pytest

import pixxel_geo as px
from pixxel_geo.api.events import Event
from pixxel_geo.api.retry import RetryPolicy
from pixxel_geo.transfer import FileFinished, download_products, fetch

PART = 128 * 1024


@pytest.fixture
def catalog_id(client: Any) -> str:
    return next(iter(client.catalogs.search(limit=1))).id


@pytest.fixture
def reference(client: Any, sandbox: Any, catalog_id: str, tmp_path: Path) -> bytes:
    """The product's bytes from a plain fault-free download."""
    sandbox.clear_faults()
    return download_products(client, catalog_ids=[catalog_id], dest=tmp_path / "reference")[0].read_bytes()


def signed_url(client: Any, catalog_id: str) -> str:
    download = client.downloads.wait(client.downloads.create(catalog_ids=[catalog_id]).id)
    assert download.signed_url
    return str(download.signed_url)


def file_gets(sandbox: Any) -> list[dict[str, Any]]:
    return [r for r in sandbox.requests(path_prefix="/files/") if r["method"] == "GET"]


def verified_as(events: list[Event]) -> str | None:
    finished = [e for e in events if isinstance(e, FileFinished)]
    assert len(finished) == 1
    return finished[0].verified


@pytest.mark.parametrize(("mode", "algorithm"), [("gcs", "crc32c"), ("s3", "md5")])
def test_cloud_hashes_catch_a_flipped_byte_and_verify_the_rerun(
    client: Any, sandbox: Any, catalog_id: str, reference: bytes, tmp_path: Path, mode: str, algorithm: str
) -> None:
    """With no Repr-Digest, the storage's own hash headers verify the file: a flipped byte is never placed."""
    sandbox.set_faults(hash_headers=mode, flip_byte=len(reference) // 2, flip_count=1)
    dest = tmp_path / "out"
    with pytest.raises(px.IntegrityError, match=f"{algorithm} checksum"):
        download_products(client, catalog_ids=[catalog_id], dest=dest, part_size=PART)
    archive = dest / f"pixxel-{catalog_id}.zip"
    assert not archive.exists()
    records = dest / ".pixxel-verified.json"
    assert not records.exists() or archive.name not in json.loads(records.read_text())
    assert sorted(p.name for p in dest.iterdir() if p.name.startswith(archive.name)) == []

    events: list[Event] = []
    paths = download_products(client, catalog_ids=[catalog_id], dest=dest, part_size=PART, on_event=events.append)
    assert verified_as(events) == algorithm
    assert paths[0].read_bytes() == reference
    assert json.loads(records.read_text())[archive.name]["verified"] == algorithm


def test_no_checksum_at_all_is_verified_by_size_only(
    client: Any, sandbox: Any, catalog_id: str, reference: bytes, tmp_path: Path
) -> None:
    sandbox.set_faults(hash_headers="none")
    events: list[Event] = []
    paths = download_products(client, catalog_ids=[catalog_id], dest=tmp_path, on_event=events.append)
    assert verified_as(events) == "size"
    assert paths[0].read_bytes() == reference


def test_part_digests_refetch_only_the_corrupt_part(
    client: Any, sandbox: Any, catalog_id: str, reference: bytes, tmp_path: Path
) -> None:
    """A 206 whose body fails its Content-Digest is fetched again; every other part once."""
    flipped = PART + 100  # in the second part
    sandbox.set_faults(part_digests=True, flip_byte=flipped, flip_count=1)
    sandbox.reset_requests()
    events: list[Event] = []
    paths = download_products(client, catalog_ids=[catalog_id], dest=tmp_path, part_size=PART, on_event=events.append)
    assert paths[0].read_bytes() == reference
    assert verified_as(events) == "sha-256"
    ranges = [r["range"] for r in file_gets(sandbox) if r["range"] != "bytes=0-0"]
    n_parts = -(-len(reference) // PART)
    second = f"bytes={PART}-{2 * PART - 1}"
    assert len(ranges) == n_parts + 1
    assert ranges.count(second) == 2
    assert len(set(ranges)) == n_parts


def test_retry_after_beyond_the_backoff_cap_is_honoured(
    client: Any, sandbox: Any, catalog_id: str, reference: bytes, tmp_path: Path
) -> None:
    url = signed_url(client, catalog_id)
    sandbox.set_faults(file_rate_limit=2, retry_after=2)
    sandbox.reset_requests()
    policy = RetryPolicy(max_attempts=8, backoff_base=0.01, backoff_cap=0.1, retry_statuses=frozenset({429, 503}))
    path = fetch(url, tmp_path / "a.zip", retry=policy)
    assert path.read_bytes() == reference
    log = file_gets(sandbox)
    assert [r["status"] for r in log[:3]] == [429, 429, 206]
    # Each retry came no sooner than the server asked (a lower bound, not a speed claim).
    for refused, retried in itertools.pairwise(log[:3]):
        assert retried["time"] - refused["time"] >= 1.9


def test_retry_after_past_the_limit_gives_up_clearly(
    client: Any, sandbox: Any, catalog_id: str, tmp_path: Path
) -> None:
    url = signed_url(client, catalog_id)
    sandbox.set_faults(file_rate_limit=1, retry_after=3600)
    with pytest.raises(px.TransferError, match=r"asked to wait 3600 s .*Retry-After.*Run again later") as caught:
        fetch(url, tmp_path / "a.zip")
    assert "X-Pixxel-Signature" not in str(caught.value)
    assert not (tmp_path / "a.zip").exists()


def test_single_stream_fallback_verifies_with_cloud_hashes(
    client: Any, sandbox: Any, catalog_id: str, reference: bytes, tmp_path: Path
) -> None:
    """A server ignoring Range (200s only) still gets its x-goog-hash checked."""
    url = signed_url(client, catalog_id)
    # Two corrupt answers: the probe's 200 (headers read, body dropped) and the transfer's.
    sandbox.set_faults(no_range=True, hash_headers="gcs", flip_byte=7, flip_count=2)
    with pytest.raises(px.IntegrityError, match="crc32c checksum"):
        fetch(url, tmp_path / "a.zip")
    assert not (tmp_path / "a.zip").exists()
    events: list[Event] = []
    fetch(url, tmp_path / "a.zip", on_event=events.append)
    assert verified_as(events) == "crc32c"
    assert (tmp_path / "a.zip").read_bytes() == reference


@pytest.mark.parametrize(
    ("headers", "algorithm"),
    [
        ({"ETag": '"acbd18db4cc2f85cedef654fccc4a4d8"', "x-amz-request-id": "R"}, "md5"),
        ({"ETag": '"acbd18db4cc2f85cedef654fccc4a4d8"', "Server": "AmazonS3"}, "md5"),
        ({"ETag": '"acbd18db4cc2f85cedef654fccc4a4d8"'}, None),  # not S3: an opaque tag
        ({"ETag": '"acbd18db4cc2f85cedef654fccc4a4d8-3"', "x-amz-request-id": "R"}, None),  # multipart
        ({"ETag": 'W/"acbd18db4cc2f85cedef654fccc4a4d8"', "x-amz-request-id": "R"}, None),  # weak
        (
            {
                "ETag": '"acbd18db4cc2f85cedef654fccc4a4d8"',
                "x-amz-request-id": "R",
                "x-amz-server-side-encryption": "aws:kms",
            },
            None,
        ),
        ({"x-goog-hash": "crc32c=n03x6A==,md5=rL0Y20zC+Fzt72VPzMSk2A=="}, "crc32c"),
        ({"x-goog-hash": "md5=rL0Y20zC+Fzt72VPzMSk2A=="}, "md5"),
        ({"x-goog-hash": "crc32c=not-base64!"}, None),
        (
            {
                "Repr-Digest": "sha-256=:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=:",
                "x-goog-hash": "crc32c=n03x6A==",
            },
            "sha-256",
        ),
    ],
)
def test_announced_digest_takes_only_what_is_trustworthy(headers: dict[str, str], algorithm: str | None) -> None:
    import httpx

    from pixxel_geo.ranged.digest import announced_digest

    found = announced_digest(httpx.Headers(headers), whole_body=False)
    assert (found.algorithm if found else None) == algorithm
