"""The one digest parser: RFC 9530 fields, x-goog-hash, S3 ETags, and which one wins."""

from __future__ import annotations

import base64
import hashlib

import pytest

from pixxel_geo.ranged import (
    announced_digest,
    parse_digest_header,
    parse_goog_hash,
    part_digest,
    s3_etag_md5,
)

BODY = b"pixxel"
SHA256 = base64.b64encode(hashlib.sha256(BODY).digest()).decode()
SHA512 = base64.b64encode(hashlib.sha512(BODY).digest()).decode()
MD5 = hashlib.md5(BODY, usedforsecurity=False)


def test_rfc9530_keeps_the_strongest_supported_algorithm() -> None:
    both = parse_digest_header(f"sha-256=:{SHA256}:, sha-512=:{SHA512}:")
    assert both is not None and both.algorithm == "sha-512"
    assert both.value == hashlib.sha512(BODY).digest()
    one = parse_digest_header(f"unixsum=:AAA=:, SHA-256=:{SHA256}:")
    assert one is not None and one.algorithm == "sha-256"
    assert one.header_value == f"sha-256=:{SHA256}:"
    hasher = one.new_hash()
    hasher.update(BODY)
    assert hasher.digest() == one.value


@pytest.mark.parametrize(
    "value",
    [
        None,
        "",
        "sha-256",
        "sha-256=:not base64!:",
        "sha-256=:AAAA:",
        f"md5=:{base64.b64encode(MD5.digest()).decode()}:",
    ],
)
def test_rfc9530_ignores_what_it_cannot_check(value: str | None) -> None:
    assert parse_digest_header(value) is None  # md5 is deprecated by RFC 9530, a short value is not a sha-256


def test_goog_hash_prefers_crc32c_and_falls_back_to_md5() -> None:
    md5 = base64.b64encode(MD5.digest()).decode()
    both = parse_goog_hash(f"crc32c=n03x6A==, md5={md5}")
    assert both is not None and both.algorithm == "crc32c"
    only_md5 = parse_goog_hash(f"md5={md5}")
    assert only_md5 is not None and only_md5.value == MD5.digest()
    assert parse_goog_hash("crc32c=short") is None


def test_an_s3_etag_is_an_md5_only_when_the_answer_is_s3s_and_single_part() -> None:
    etag = f'"{MD5.hexdigest()}"'
    assert s3_etag_md5({"ETag": etag, "Server": "AmazonS3"}) is not None
    assert s3_etag_md5({"ETag": etag}) is None
    assert s3_etag_md5({"ETag": f'"{MD5.hexdigest()[:-2]}-3"', "x-amz-request-id": "r"}) is None
    assert s3_etag_md5({"ETag": f"W/{etag}", "x-amz-request-id": "r"}) is None
    assert s3_etag_md5({"ETag": etag, "x-amz-request-id": "r", "x-amz-server-side-encryption": "aws:kms"}) is None


def test_the_whole_files_digest_comes_from_the_strongest_header() -> None:
    md5 = base64.b64encode(MD5.digest()).decode()
    headers = {"Repr-Digest": f"sha-256=:{SHA256}:", "x-goog-hash": f"md5={md5}"}
    found = announced_digest(headers, whole_body=False)
    assert found is not None and found.algorithm == "sha-256"
    # Content-Digest describes the whole file only when the body is the whole file (a 200).
    content = {"Content-Digest": f"sha-512=:{SHA512}:"}
    assert announced_digest(content, whole_body=False) is None
    assert announced_digest(content, whole_body=True) is not None
    found_part = part_digest(content)
    assert found_part is not None and found_part.algorithm == "sha-512"
