"""Odd 2xx answers: unknown statuses never count as success, bodies of the wrong shape raise px errors."""

from __future__ import annotations

import gzip
import json

import httpx
import pytest

import pixxel_geo as px

SIGNED = "https://files.test.invalid/x.zip?X-Signature=abc"


@pytest.mark.parametrize("status", ["ARCHIVED", None, 5, "", ["success"]])
def test_download_with_unknown_status_and_a_signed_url_is_not_ready(make_client, status):
    client, rec = make_client(lambda r: httpx.Response(200, json={"id": "dl", "status": status, "signed_url": SIGNED}))
    with pytest.raises(px.WaitTimeoutError) as info:
        client.downloads.wait("dl", timeout=0.05)
    assert info.value.resources["dl"].startswith("UNKNOWN")
    assert len(rec.requests) >= 2  # it kept polling


def test_download_success_without_a_signed_url_keeps_waiting(make_client):
    client, _ = make_client(lambda r: httpx.Response(200, json={"id": "dl", "status": "success"}))
    with pytest.raises(px.WaitTimeoutError):
        client.downloads.wait("dl", timeout=0.05)


@pytest.mark.parametrize(
    "body", [{}, None, {"id": None}, {"id": ""}, {"id": "  "}, {"id": 5}, {"id": "a/b"}, [], 42, "x"]
)
def test_created_resource_without_a_usable_id_is_a_malformed_answer(make_client, body):
    client, rec = make_client(lambda r: httpx.Response(201, json=body))
    with pytest.raises(px.MalformedResponseError, match="download"):
        client.downloads.create(catalog_ids=["c1"])
    assert len(rec.requests) == 1
    with pytest.raises(px.MalformedResponseError):
        client.stores.create("n", "S3", "b", "r", {})
    with pytest.raises(px.MalformedResponseError):
        client.catalogs.get("c1")
    with pytest.raises(px.MalformedResponseError):
        client.order_items.get("o1")


@pytest.mark.parametrize(
    ("body", "call"),
    [
        ({"deliveries": 5}, lambda c: c.deliveries.list()),
        ({"deliveries": [5]}, lambda c: c.deliveries.list()),
        ({"deliveries": [{"delivery_id": None, "status": "SUCCESS"}]}, lambda c: c.deliveries.list()),
        (42, lambda c: c.deliveries.list()),
        ([1, 2], lambda c: c.stores.list()),
        ({"stores": {"a": 1}}, lambda c: c.stores.list()),
        ({"stores": [{"name": "no id"}]}, lambda c: c.stores.list()),
        (42, lambda c: list(c.catalogs.search())),
        ({"catalogs": "abc"}, lambda c: list(c.catalogs.search())),
        ({"catalogs": [None]}, lambda c: list(c.catalogs.search())),
        ({"order_items": 3.5}, lambda c: list(c.order_items.list())),
        (42, lambda c: c.deliveries.create("s1", catalog_ids=["c1"])),
        ({"deliveries": [{"status": "CREATED"}]}, lambda c: c.deliveries.create("s1", catalog_ids=["c1"])),
    ],
)
def test_wrong_shapes_raise_a_malformed_answer_error(make_client, body, call):
    def handler(request: httpx.Request) -> httpx.Response:
        if request.method == "GET" and request.url.path.endswith("/deliveries") and "catalog_id" in request.url.params:
            return httpx.Response(200, json={"deliveries": []})  # the create's look-before
        return httpx.Response(200, json=body)

    client, _ = make_client(handler)
    with pytest.raises(px.MalformedResponseError) as info:
        call(client)
    assert isinstance(info.value, px.PixxelError)


def test_gzip_declared_on_a_plain_body_is_a_px_error(make_client):
    client, _ = make_client(
        lambda r: httpx.Response(200, content=b'{"stores": []}', headers={"Content-Encoding": "gzip"})
    )
    with pytest.raises(px.MalformedResponseError, match="Content-Encoding"):
        client.stores.list()


def test_real_gzip_still_works(make_client):
    body = gzip.compress(json.dumps({"stores": [{"id": "s1"}]}).encode())
    client, _ = make_client(lambda r: httpx.Response(200, content=body, headers={"Content-Encoding": "gzip"}))
    assert [s.id for s in client.stores.list()] == ["s1"]


@pytest.mark.parametrize("status", [200, 500])
def test_deeply_nested_json_is_a_px_error(make_client, status):
    deep = b"[" * 200_000 + b"]" * 200_000
    client, _ = make_client(lambda r: httpx.Response(status, content=deep), retry=px.RetryPolicy(max_attempts=1))
    with pytest.raises(px.PixxelError):
        client.stores.list()


def test_null_id_is_never_the_string_none(make_client):
    client, _ = make_client(lambda r: httpx.Response(200, json={"stores": [{"id": None, "name": "x"}]}))
    with pytest.raises(px.MalformedResponseError, match="id"):
        client.stores.list()


async def test_async_client_maps_the_same_answers(make_async_client):
    client, _ = make_async_client(lambda r: httpx.Response(200, json=42))
    async with client:
        with pytest.raises(px.MalformedResponseError):
            await client.stores.list()
        with pytest.raises(px.MalformedResponseError):
            await client.downloads.create(catalog_ids=["c"])


def test_a_download_with_an_unknown_status_is_never_ready():
    assert not px.Download.from_api({"id": "dl", "status": "ARCHIVED", "signed_url": SIGNED}).ready
    assert px.Download.from_api({"id": "dl", "status": "success", "signed_url": SIGNED}).ready


def test_numbers_json_cannot_hold_are_no_crash(make_client):
    body = b'{"catalogs": [{"id": "c1"}], "pagination": {"total": 1e999, "limit": -1e999}}'
    client, _ = make_client(lambda r: httpx.Response(200, content=body))
    assert [c.id for c in client.catalogs.search()] == ["c1"]


@pytest.mark.parametrize("body", [b"<html>deleted</html>", b"[" * 200_000])
def test_a_delete_that_succeeded_is_not_failed_by_its_body(make_client, body):
    client, rec = make_client(lambda r: httpx.Response(200, content=body))
    assert client.stores.delete("s1") is None
    assert len(rec.requests) == 1
