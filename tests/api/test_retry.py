"""Retries: which requests, how long, and never a duplicate create."""

from __future__ import annotations

import email.utils
import json

import httpx
import pytest

import pixxel_geo as px
from pixxel_geo.api.retry import parse_retry_after

from .conftest import envelope

DELIVERY = {"delivery_id": "d1", "catalog_id": "c1", "status": "CREATED", "cloud_delivery": {"config": "s1"}}


@pytest.fixture
def sleeps(clock):
    return clock.sleeps  # make_client's clients sleep on the fake clock


def test_retry_after_seconds_is_honoured(make_client, sleeps):
    answers = iter(
        [
            envelope(429, "rate_limited", "slow down", **{"Retry-After": "7"}),
            httpx.Response(200, json={"stores": []}),
        ]
    )
    client, rec = make_client(lambda r: next(answers), retry=px.RetryPolicy(max_attempts=3, backoff_cap=60))
    assert client.stores.list() == []
    assert sleeps == [7.0] and len(rec.requests) == 2


def test_retry_after_http_date(make_client, sleeps, clock):
    when = email.utils.formatdate(clock.wall() + 20, usegmt=True)
    answers = iter(
        [
            envelope(503, "unavailable", "busy", **{"Retry-After": when}),
            httpx.Response(200, json={"stores": []}),
        ]
    )
    client, _ = make_client(lambda r: next(answers), retry=px.RetryPolicy(max_attempts=3, backoff_cap=60))
    client.stores.list()
    assert sleeps == [20.0]  # the date read on the client's clock


def test_retry_after_longer_than_the_cap_raises_at_once(make_client, sleeps):
    client, rec = make_client(
        lambda r: envelope(429, "rate_limited", "slow down", **{"Retry-After": "120"}),
        retry=px.RetryPolicy(max_attempts=3, backoff_cap=30),
    )
    with pytest.raises(px.RateLimitError, match="120 s") as info:
        client.stores.list()
    assert info.value.retry_after == 120.0
    assert len(rec.requests) == 1 and sleeps == []


def test_backoff_is_capped_and_jittered(make_client, sleeps):
    client, rec = make_client(
        lambda r: envelope(500, "oops", "broken"),
        retry=px.RetryPolicy(max_attempts=6, backoff_base=1, backoff_cap=3),
    )
    with pytest.raises(px.ServerError):
        client.catalogs.get("c1")
    assert len(rec.requests) == 6 and len(sleeps) == 5
    assert all(0 <= s <= 3 for s in sleeps)


@pytest.mark.parametrize("status", [500, 502, 503, 504, 429])
def test_idempotent_requests_retry_on(make_client, sleeps, status):
    answers = iter([envelope(status, "x", "y"), httpx.Response(200, json={"id": "c1"})])
    client, rec = make_client(lambda r: next(answers))
    assert client.catalogs.get("c1").id == "c1"
    assert len(rec.requests) == 2


@pytest.mark.parametrize("status", [400, 401, 403, 404, 409])
def test_no_retry_on_client_errors(make_client, status):
    client, rec = make_client(lambda r: envelope(status, "x", "y"))
    with pytest.raises(px.APIError):
        client.catalogs.get("c1")
    assert len(rec.requests) == 1


def test_parse_retry_after():
    assert parse_retry_after("0") == 0.0
    assert parse_retry_after("-3") == 0.0
    assert parse_retry_after("") is None
    assert parse_retry_after("soon") is None
    assert parse_retry_after(email.utils.formatdate(1000, usegmt=True), now=990) == pytest.approx(10)


def test_lost_delivery_answer_is_found_not_repeated(make_client, sleeps):
    """A 502 after the server created the delivery: the client finds it instead of re-posting."""
    created: list[dict] = []

    def handler(request: httpx.Request) -> httpx.Response:
        if request.method == "POST":
            created.append({**DELIVERY, "delivery_id": f"d{len(created) + 1}"})
            return httpx.Response(502, text="bad gateway")
        return httpx.Response(200, json={"deliveries": created})

    client, rec = make_client(handler)
    result = client.deliveries.create("s1", catalog_ids=["c1"])
    assert [d.delivery_id for d in result] == ["d1"]
    assert [r.method for r in rec.requests].count("POST") == 1
    assert len(created) == 1


def test_dropped_connection_on_create_is_checked_then_retried(make_client, sleeps):
    """The answer was lost and nothing was created: only then is the POST sent again."""
    posts: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        if request.method == "POST":
            posts.append(1)
            if len(posts) == 1:
                raise httpx.RemoteProtocolError("peer closed connection", request=request)
            return httpx.Response(201, json={"deliveries": [DELIVERY]})
        return httpx.Response(200, json={"deliveries": []})

    client, rec = make_client(handler)
    result = client.deliveries.create("s1", catalog_ids=["c1"])
    assert [d.delivery_id for d in result] == ["d1"] and len(posts) == 2
    methods = [r.method for r in rec.requests]
    # snapshot, first POST, look-up, second POST
    assert methods == ["GET", "POST", "GET", "POST"]


def test_existing_deliveries_are_not_mistaken_for_new_ones(make_client, sleeps):
    old = {**DELIVERY, "delivery_id": "old"}
    state = {"deliveries": [old]}

    def handler(request: httpx.Request) -> httpx.Response:
        if request.method == "POST":
            if "posted" not in state:
                state["posted"] = True
                raise httpx.ReadTimeout("timeout", request=request)
            return httpx.Response(201, json={"deliveries": [{**DELIVERY, "delivery_id": "new"}]})
        return httpx.Response(200, json={"deliveries": state["deliveries"]})

    client, _ = make_client(handler)
    assert [d.delivery_id for d in client.deliveries.create("s1", catalog_ids=["c1"])] == ["new"]


def _delivery(delivery_id: str, catalog_id: str, path: str | None = None) -> dict:
    cloud = {"config": "s1", **({"path": path} if path is not None else {})}
    return {"delivery_id": delivery_id, "catalog_id": catalog_id, "status": "CREATED", "cloud_delivery": cloud}


def _partial_server(creates_for: set[str], path: str | None = None):
    """POSTs create a delivery only for the catalogs in ``creates_for``, then answer 500."""
    made: list[dict] = []
    posts: list[list[str]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        if request.method == "POST":
            wanted = json.loads(request.content)["deliveries"][0]["catalog_ids"]
            posts.append(wanted)
            for catalog_id in wanted:
                if catalog_id in creates_for:
                    made.append(_delivery(f"d{len(made) + 1}", catalog_id, path))
            creates_for.difference_update(wanted)
            return envelope(500, "internal", "boom")
        catalog_id = request.url.params.get("catalog_id")
        return httpx.Response(200, json={"deliveries": [d for d in made if d["catalog_id"] == catalog_id]})

    return handler, posts


def test_partly_created_deliveries_resend_only_the_missing_ids(make_client, sleeps):
    handler, posts = _partial_server({"c1"})

    def second_post_succeeds(request: httpx.Request) -> httpx.Response:
        if request.method == "POST" and posts:
            posts.append(json.loads(request.content)["deliveries"][0]["catalog_ids"])
            return httpx.Response(201, json={"deliveries": [_delivery("d2", "c2")]})
        return handler(request)

    client, _ = make_client(second_post_succeeds)
    result = client.deliveries.create("s1", catalog_ids=["c1", "c2"])
    assert [d.delivery_id for d in result] == ["d1", "d2"]
    assert posts == [["c1", "c2"], ["c2"]]


def test_partly_created_deliveries_name_what_was_made_when_retries_run_out(make_client, sleeps):
    handler, posts = _partial_server({"c1"})
    client, _ = make_client(handler, retry=px.RetryPolicy(max_attempts=2, backoff_base=0, backoff_cap=0))
    with pytest.raises(px.ServerError) as info:
        client.deliveries.create("s1", catalog_ids=["c1", "c2"])
    assert "d1" in str(info.value) and "catalog_ids c2" in str(info.value)
    assert posts == [["c1", "c2"], ["c2"]]


def test_lost_delivery_answer_is_found_when_the_server_normalises_the_path(make_client, sleeps):
    handler, posts = _partial_server({"c1"}, path="path/to/destination/")
    client, _ = make_client(handler)
    result = client.deliveries.create("s1", catalog_ids=["c1"], path="/path/to/destination")
    assert [d.delivery_id for d in result] == ["d1"] and len(posts) == 1


def test_connect_error_on_create_is_retried_directly(make_client, sleeps):
    """A refused connection never reached the server, so the POST is simply retried."""
    attempts: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        attempts.append(1)
        if len(attempts) == 1:
            raise httpx.ConnectError("refused", request=request)
        return httpx.Response(201, json={"id": "dl1", "status": "created"})

    client, _ = make_client(handler)
    assert client.downloads.create(catalog_ids=["c1"]).id == "dl1"
    assert len(attempts) == 2


def test_ambiguous_download_create_is_not_resent(make_client, sleeps):
    client, rec = make_client(lambda r: httpx.Response(503, text="unavailable"))
    with pytest.raises(px.ServerError, match="may have been created"):
        client.downloads.create(catalog_ids=["c1"])
    assert len(rec.requests) == 1


def test_rate_limited_create_is_retried(make_client, sleeps):
    """429 means the request was not processed: safe to send again."""
    answers = iter(
        [
            envelope(429, "rate", "slow", **{"Retry-After": "1"}),
            httpx.Response(201, json={"id": "dl1", "status": "created"}),
        ]
    )
    client, rec = make_client(lambda r: next(answers), retry=px.RetryPolicy(max_attempts=2, backoff_cap=60))
    assert client.downloads.create(catalog_ids=["c1"]).id == "dl1"
    assert len(rec.requests) == 2 and sleeps == [1.0]
    assert json.loads(rec.requests[1].content) == {"catalog_ids": ["c1"], "order_item_ids": []}


def test_lost_store_answer_is_found_not_repeated(make_client, sleeps):
    stores: list[dict] = []

    def handler(request: httpx.Request) -> httpx.Response:
        if request.method == "POST":
            body = json.loads(request.content)
            stores.append({"id": f"s{len(stores) + 1}", "name": body["name"], "type": "S3", "configs": body["configs"]})
            return httpx.Response(504, text="gateway timeout")
        return httpx.Response(200, json={"stores": stores})

    client, rec = make_client(handler)
    store = client.stores.create("lake", "S3", "bucket-1", "us-east-1", {"k": "v"})
    assert store.id == "s1" and len(stores) == 1
    assert [r.method for r in rec.requests] == ["POST", "GET"]


def test_lost_store_answer_is_found_with_a_padded_bucket(make_client, sleeps):
    stores: list[dict] = []

    def handler(request: httpx.Request) -> httpx.Response:
        if request.method == "POST":
            body = json.loads(request.content)
            stores.append({"id": "s1", "name": body["name"], "type": "S3", "configs": body["configs"]})
            return httpx.Response(504, text="gateway timeout")
        return httpx.Response(200, json={"stores": stores})

    client, rec = make_client(handler)
    store = client.stores.create("lake", "S3", " bucket-1 ", "us-east-1", {"k": "v"})
    assert store.id == "s1" and [r.method for r in rec.requests] == ["POST", "GET"]


def test_store_create_retried_only_when_nothing_was_made(make_client, sleeps):
    posts: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        if request.method == "POST":
            posts.append(1)
            if len(posts) == 1:
                raise httpx.ReadTimeout("no answer", request=request)
            return httpx.Response(200, json={"id": "s9", "name": "lake", "type": "S3", "configs": {"bucket": "b"}})
        return httpx.Response(200, json={"stores": []})

    client, rec = make_client(handler)
    assert client.stores.create("lake", "S3", "b", "us-east-1", {"k": "v"}).id == "s9"
    assert [r.method for r in rec.requests] == ["POST", "GET", "POST"]


@pytest.mark.parametrize("first", ["timeout", "502"])
def test_delete_whose_answer_was_lost_succeeds_on_404(make_client, sleeps, first):
    answers = iter(["lost", "404"])

    def handler(request: httpx.Request) -> httpx.Response:
        if next(answers) == "lost":
            if first == "timeout":
                raise httpx.ReadTimeout("no answer", request=request)
            return envelope(502, "bad_gateway", "upstream")
        return envelope(404, "not_found", "no such store")

    client, rec = make_client(handler)
    assert client.stores.delete("s1") is None
    assert len(rec.requests) == 2


def test_delete_of_a_missing_store_still_raises(make_client):
    client, _ = make_client(lambda r: envelope(404, "not_found", "no such store"))
    with pytest.raises(px.NotFoundError):
        client.stores.delete("s1")
