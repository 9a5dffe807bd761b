from __future__ import annotations

import time
import uuid

import httpx
import pytest

from pixxel_geo.sandbox import Sandbox

from .sandbox_helpers import ready_url


def test_faults_are_off_by_default_and_cleared(sandbox: Sandbox) -> None:
    sandbox.set_faults(rate_limit=5, no_range=True)
    sandbox.clear_faults()
    faults = sandbox.faults()
    assert faults["rate_limit"] == 0 and faults["no_range"] is False


def test_unknown_or_bad_fault_is_refused(sandbox: Sandbox) -> None:
    with pytest.raises(ValueError, match="unknown fault"):
        sandbox.set_faults(explode=True)
    with pytest.raises(ValueError, match="5xx"):
        sandbox.set_faults(server_error_status=404)
    with pytest.raises(ValueError, match="probability"):
        sandbox.set_faults(error_rate=2)


def test_rate_limit_answers_429_with_retry_after(api: httpx.Client, sandbox: Sandbox) -> None:
    sandbox.set_faults(rate_limit=2, retry_after=7)
    for _ in range(2):
        response = api.get("/v0/stores")
        assert response.status_code == 429
        assert response.headers["retry-after"] == "7"
        assert response.json()["error"]["code"] == "TOO_MANY_REQUESTS"
    assert api.get("/v0/stores").status_code == 200
    assert httpx.get(sandbox.url + "/ping").status_code == 200


def test_server_errors_on_a_path_prefix(api: httpx.Client, sandbox: Sandbox) -> None:
    sandbox.set_faults(server_errors=1, server_error_status=503, server_error_prefix="/v0/catalogs/")
    assert api.get("/v0/stores").status_code == 200
    failed = api.post("/v0/catalogs/search", json={})
    assert failed.status_code == 503
    assert failed.json()["error"]["code"] == "SERVICE_UNAVAILABLE"
    assert api.post("/v0/catalogs/search", json={}).status_code == 200


def test_server_errors_on_files_are_xml(api: httpx.Client, sandbox: Sandbox, catalog_ids: list[str]) -> None:
    _, url = ready_url(api, catalog_ids[:1])
    sandbox.set_faults(server_errors=1, server_error_prefix="/files/", server_error_status=500)
    failed = httpx.get(url)
    assert failed.status_code == 500 and b"<Error>" in failed.content
    assert httpx.get(url).status_code == 200


def test_error_rate_is_reproducible_with_a_seed(api: httpx.Client, sandbox: Sandbox) -> None:
    def run() -> list[int]:
        sandbox.set_faults(error_rate=0.5, error_seed=42)
        return [api.get("/v0/stores").status_code for _ in range(20)]

    first = run()
    assert set(first) == {200, 503}
    assert run() == first


def test_non_json_errors_look_like_a_proxy(api: httpx.Client, sandbox: Sandbox) -> None:
    sandbox.set_faults(non_json_errors=1)
    response = api.get("/v0/stores")
    assert response.status_code == 502
    assert response.headers["content-type"].startswith("text/html")
    assert b"Bad Gateway" in response.content
    assert api.get("/v0/stores").status_code == 200


def test_dropped_create_response_still_creates(api: httpx.Client, sandbox: Sandbox) -> None:
    sandbox.set_faults(drop_create_response=1)
    name = f"dropped-{uuid.uuid4().hex[:8]}"
    body = {
        "name": name,
        "type": "GCS",
        "configs": {"bucket": "drop-bucket", "region": "eu"},
        "secrets": {"project_id": "p"},
    }
    with pytest.raises(httpx.RemoteProtocolError):
        api.post("/v0/stores", json=body)
    assert name in [s["name"] for s in api.get("/v0/stores").json()["stores"]]
    assert api.post("/v0/stores", json=body).status_code == 409


def test_cut_after_closes_mid_body(api: httpx.Client, sandbox: Sandbox, catalog_ids: list[str]) -> None:
    _, url = ready_url(api, catalog_ids[:1])
    sandbox.set_faults(cut_after=10_000, cut_count=1)
    received = bytearray()
    with pytest.raises(httpx.RemoteProtocolError), httpx.stream("GET", url) as response:
        assert response.status_code == 200
        for chunk in response.iter_bytes():
            received += chunk
    assert len(received) == 10_000
    whole = httpx.get(url)
    assert whole.status_code == 200 and whole.content[:10_000] == bytes(received)


def test_no_range_answers_the_whole_file(api: httpx.Client, sandbox: Sandbox, catalog_ids: list[str]) -> None:
    _, url = ready_url(api, catalog_ids[:1])
    sandbox.set_faults(no_range=True)
    response = httpx.get(url, headers={"Range": "bytes=0-9"})
    assert response.status_code == 200
    assert len(response.content) == int(response.headers["content-length"]) > 10


def test_latency_and_bandwidth_slow_responses_down(api: httpx.Client, sandbox: Sandbox, catalog_ids: list[str]) -> None:
    _, url = ready_url(api, catalog_ids[:1])
    sandbox.set_faults(latency=0.2)
    started = time.monotonic()
    assert api.get("/v0/stores").status_code == 200
    assert time.monotonic() - started >= 0.2  # a lower bound: the sleep is guaranteed
    sandbox.set_faults(latency=0.0, bandwidth=1_000_000)
    started = time.monotonic()
    response = httpx.get(url, headers={"Range": "bytes=0-499999"})
    assert len(response.content) == 500_000
    assert time.monotonic() - started >= 0.4  # 500 kB at 1 MB/s, less one 50 kB step


def test_slow_transitions(api: httpx.Client, sandbox: Sandbox, catalog_ids: list[str]) -> None:
    sandbox.set_faults(download_seconds=3600)
    created = api.post("/v0/catalogs/download", json={"catalog_ids": catalog_ids[:1], "order_item_ids": []})
    download_id = created.json()["id"]
    time.sleep(0.3)
    assert api.get(f"/v0/catalogs/download/{download_id}").json()["status"] == "created"


def test_request_log(api: httpx.Client, sandbox: Sandbox, catalog_ids: list[str]) -> None:
    _, url = ready_url(api, catalog_ids[:1])
    sandbox.reset_requests()
    httpx.get(url, headers={"Range": "bytes=0-99"})
    api.get("/v0/stores")
    files = sandbox.requests(path_prefix="/files/")
    assert len(files) == 1
    entry = files[0]
    assert entry["method"] == "GET" and entry["status"] == 206
    assert entry["range"] == "bytes=0-99" and entry["bytes"] == 100
    assert "?" not in entry["path"] and entry["path"].endswith("/catalogs.zip")
    everything = sandbox.requests()
    assert [e["path"] for e in everything] == [entry["path"], "/v0/stores"]
    assert sandbox.token not in str(everything) and "Signature" not in str(everything)
    sandbox.reset_requests()
    assert sandbox.requests() == []


def _product(api: httpx.Client, catalog_ids: list[str]) -> tuple[str, bytes]:
    _, url = ready_url(api, catalog_ids[:1])
    return url, httpx.get(url).content


def test_file_rate_limit_answers_429_slowdown_with_retry_after(
    api: httpx.Client, sandbox: Sandbox, catalog_ids: list[str]
) -> None:
    url, _ = _product(api, catalog_ids)
    sandbox.set_faults(file_rate_limit=2, retry_after=9)
    for _ in range(2):
        response = httpx.get(url, headers={"Range": "bytes=0-0"})
        assert response.status_code == 429
        assert response.headers["retry-after"] == "9"
        assert b"<Code>SlowDown</Code>" in response.content
    assert httpx.get(url, headers={"Range": "bytes=0-0"}).status_code == 206
    assert api.get("/v0/stores").status_code == 200  # the API is not throttled by it


@pytest.mark.parametrize("mode", ["gcs", "s3", "none"])
def test_hash_headers_are_those_of_the_storage_and_right(
    api: httpx.Client, sandbox: Sandbox, catalog_ids: list[str], mode: str
) -> None:
    import base64
    import hashlib

    import google_crc32c

    url, data = _product(api, catalog_ids)
    sandbox.set_faults(hash_headers=mode)
    response = httpx.get(url, headers={"Range": "bytes=10-19"})
    assert response.status_code == 206 and response.content == data[10:20]
    headers = response.headers
    assert "repr-digest" not in headers
    md5 = hashlib.md5(data).digest()
    if mode == "gcs":
        hashes = headers.get_list("x-goog-hash")
        assert f"crc32c={base64.b64encode(google_crc32c.Checksum(data).digest()).decode()}" in hashes
        assert f"md5={base64.b64encode(md5).decode()}" in hashes
        assert headers["x-goog-stored-content-length"] == str(len(data))
    elif mode == "s3":
        assert headers["etag"] == f'"{md5.hex()}"'
        assert "AmazonS3" in headers["server"] and headers["x-amz-request-id"]
    else:
        assert not any(name.startswith(("x-goog", "x-amz")) for name in headers)


def test_flip_byte_inverts_one_byte_in_the_responses_covering_it(
    api: httpx.Client, sandbox: Sandbox, catalog_ids: list[str]
) -> None:
    url, data = _product(api, catalog_ids)
    sandbox.set_faults(flip_byte=1000, flip_count=1)
    assert httpx.get(url, headers={"Range": "bytes=0-99"}).content == data[:100]  # not covering: untouched
    got = httpx.get(url).content
    assert len(got) == len(data) and got[1000] == data[1000] ^ 0xFF
    assert got[:1000] == data[:1000] and got[1001:] == data[1001:]
    assert httpx.get(url).content == data  # flip_count used up


def test_part_digests_describe_each_206_body(api: httpx.Client, sandbox: Sandbox, catalog_ids: list[str]) -> None:
    import base64
    import hashlib

    url, data = _product(api, catalog_ids)
    sandbox.set_faults(part_digests=True)
    response = httpx.get(url, headers={"Range": "bytes=100-4195"})
    expected = base64.b64encode(hashlib.sha256(data[100:4196]).digest()).decode()
    assert response.headers["content-digest"] == f"sha-256=:{expected}:"
    assert "content-digest" not in httpx.get(url).headers  # a 200 carries Repr-Digest already


def test_new_faults_are_validated(sandbox: Sandbox) -> None:
    with pytest.raises(ValueError, match="hash_headers"):
        sandbox.set_faults(hash_headers="azure")
    with pytest.raises(ValueError, match="true or false"):
        sandbox.set_faults(part_digests="yes")
    with pytest.raises(ValueError, match="negative"):
        sandbox.set_faults(flip_byte=-1)
