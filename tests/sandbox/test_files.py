from __future__ import annotations

import base64
import hashlib
import io
import zipfile
from urllib.parse import parse_qsl, urlencode, urlsplit

import httpx
import pytest

from pixxel_geo.sandbox import Sandbox

from .sandbox_helpers import ready_url


@pytest.fixture
def signed(api: httpx.Client, catalog_ids: list[str]) -> str:
    return ready_url(api, catalog_ids[:1])[1]


@pytest.fixture
def whole(signed: str) -> bytes:
    response = httpx.get(signed)
    assert response.status_code == 200
    return response.content


def test_full_get_headers_and_digest(signed: str) -> None:
    response = httpx.get(signed)
    assert response.status_code == 200
    assert int(response.headers["content-length"]) == len(response.content)
    assert response.headers["accept-ranges"] == "bytes"
    assert response.headers["etag"].startswith('"')
    digest = base64.b64encode(hashlib.sha256(response.content).digest()).decode()
    assert response.headers["repr-digest"] == f"sha-256=:{digest}:"
    assert zipfile.ZipFile(io.BytesIO(response.content)).testzip() is None


def test_single_range(signed: str, whole: bytes) -> None:
    response = httpx.get(signed, headers={"Range": "bytes=100-199"})
    assert response.status_code == 206
    assert response.content == whole[100:200]
    assert response.headers["content-range"] == f"bytes 100-199/{len(whole)}"
    full_digest = base64.b64encode(hashlib.sha256(whole).digest()).decode()
    assert response.headers["repr-digest"] == f"sha-256=:{full_digest}:"
    tail = httpx.get(signed, headers={"Range": "bytes=-22"})
    assert tail.content == whole[-22:]
    open_end = httpx.get(signed, headers={"Range": f"bytes={len(whole) - 10}-"})
    assert open_end.content == whole[-10:]
    past_end = httpx.get(signed, headers={"Range": f"bytes=0-{len(whole) + 1000}"})
    assert past_end.status_code == 206 and past_end.content == whole


def test_multiple_ranges_are_multipart(signed: str, whole: bytes) -> None:
    response = httpx.get(signed, headers={"Range": "bytes=0-9,1000-1019,-5"})
    assert response.status_code == 206
    content_type = response.headers["content-type"]
    assert content_type.startswith("multipart/byteranges; boundary=")
    boundary = content_type.split("boundary=")[1].encode()
    parts = response.content.split(b"--" + boundary)[1:-1]
    bodies = [p.split(b"\r\n\r\n", 1)[1][:-2] for p in parts]
    assert bodies == [whole[0:10], whole[1000:1020], whole[-5:]]
    assert f"Content-Range: bytes 1000-1019/{len(whole)}".encode() in parts[1]
    assert response.content.endswith(b"--" + boundary + b"--\r\n")


def test_unsatisfiable_range_is_416(signed: str, whole: bytes) -> None:
    response = httpx.get(signed, headers={"Range": f"bytes={len(whole)}-"})
    assert response.status_code == 416
    assert response.headers["content-range"] == f"bytes */{len(whole)}"


def test_unparseable_range_is_ignored(signed: str, whole: bytes) -> None:
    response = httpx.get(signed, headers={"Range": "pages=1-2"})
    assert response.status_code == 200 and response.content == whole


def test_head_is_refused(signed: str) -> None:
    assert httpx.head(signed).status_code == 403


def _with(url: str, **changes: str) -> str:
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query))
    query.update(changes)
    return parts._replace(query=urlencode(query)).geturl()


def test_tampered_signature_or_expiry_is_403_xml(signed: str) -> None:
    query = dict(parse_qsl(urlsplit(signed).query))
    bad_sig = httpx.get(_with(signed, **{"X-Pixxel-Signature": "0" * 64}))
    assert bad_sig.status_code == 403
    assert bad_sig.headers["content-type"].startswith("application/xml")
    assert b"<Code>SignatureDoesNotMatch</Code>" in bad_sig.content
    later = str(int(query["X-Pixxel-Expires"]) + 3600)
    assert httpx.get(_with(signed, **{"X-Pixxel-Expires": later})).status_code == 403
    other_path = signed.replace("/catalogs.zip", "/other.zip")
    assert httpx.get(other_path).status_code == 403
    unsigned = httpx.get(signed.split("?")[0])
    assert unsigned.status_code == 403 and b"AccessDenied" in unsigned.content


def test_expired_url_is_403_and_a_fresh_one_works(api: httpx.Client, sandbox: Sandbox, catalog_ids: list[str]) -> None:
    sandbox.set_faults(url_lifetime=0)
    download_id, stale = ready_url(api, catalog_ids[:1])
    expired = httpx.get(stale)
    assert expired.status_code == 403
    assert b"<Message>Request has expired</Message>" in expired.content
    sandbox.set_faults(url_lifetime=3600)
    fresh = api.get(f"/v0/catalogs/download/{download_id}").json()["signed_url"]
    assert httpx.get(fresh, headers={"Range": "bytes=0-3"}).content == b"PK\x03\x04"


def test_several_catalogs_make_one_zip(api: httpx.Client, catalog_ids: list[str]) -> None:
    _, url = ready_url(api, catalog_ids[:2])
    response = httpx.get(url)
    assert response.status_code == 200
    items = {api.get(f"/v0/catalogs/{c}").json()["details"]["id"] for c in catalog_ids[:2]}
    with zipfile.ZipFile(io.BytesIO(response.content)) as zf:
        tifs = {n[: -len(".tif")] for n in zf.namelist() if n.endswith(".tif") and not n.endswith(".mask.tif")}
        assert tifs == items
        assert all(i.compress_type == zipfile.ZIP_STORED for i in zf.infolist())
        assert zf.testzip() is None
    digest = base64.b64encode(hashlib.sha256(response.content).digest()).decode()
    assert response.headers["repr-digest"] == f"sha-256=:{digest}:"
    again = httpx.get(url, headers={"Range": "bytes=0-99"})
    assert again.content == response.content[:100]
