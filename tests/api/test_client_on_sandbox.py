"""The core client (sync and async) against the running sandbox, over real HTTP."""

from __future__ import annotations

import time

import httpx
import pytest

import pixxel_geo as px

FAST = px.PollSchedule(first=0.05, factor=1.5, cap=0.3)
QUICK_RETRY = px.RetryPolicy(max_attempts=4, backoff_base=0.05, backoff_cap=2.0)


@pytest.fixture
def fast_client(sandbox):
    with px.Client(api_key=sandbox.token, base_url=sandbox.url, retry=QUICK_RETRY, poll_schedule=FAST) as c:
        yield c


@pytest.fixture
def catalog_ids(fast_client) -> list[str]:
    return [c.id for c in fast_client.catalogs.search()]


def test_ping_and_auth_failures(sandbox):
    with px.Client(api_key="", base_url=sandbox.url) as anonymous:
        assert anonymous.ping()
    with (
        px.Client(api_key="not-a-known-token", base_url=sandbox.url) as stranger,
        pytest.raises((px.AuthenticationError, px.PermissionDeniedError)) as info,
    ):
        stranger.stores.list()
    assert isinstance(info.value, PermissionError)
    assert "not-a-known-token" not in str(info.value)
    assert info.value.code  # the sandbox answers in the API's envelope


def test_expired_token_is_403(sandbox, fast_client):
    sandbox.set_faults(expired_tokens=[sandbox.token])
    with pytest.raises(px.PermissionDeniedError, match=r"expired|revoked"):
        fast_client.stores.list()


def test_search_pages_past_the_default_page_size(fast_client, sandbox):
    everything = list(fast_client.catalogs.search(limit=2))
    assert len(everything) >= 5  # several pages of the API's default size (2)
    assert len({c.id for c in everything}) == len(everything)
    sandbox.reset_requests()
    list(fast_client.catalogs.search(limit=2))
    searches = sandbox.requests(path_prefix="/v0/catalogs/search")
    assert len(searches) == -(-len(everything) // 2)
    first = everything[0]
    assert first.bands and first.bands[0].center_wavelength and first.geometry["type"] == "Polygon"
    assert fast_client.catalogs.get(first.id) == first


def test_search_filters(fast_client):
    everything = list(fast_client.catalogs.search())
    clear = list(fast_client.catalogs.search(query={"cloudcover": {"lt": 10}}))
    assert clear and all(c.cloud_cover < 10 for c in clear) and len(clear) < len(everything)
    newest_first = list(fast_client.catalogs.search(sort_by="-datetime"))
    dates = [c.datetime for c in newest_first]
    assert dates == sorted(dates, reverse=True)
    target = everything[0]
    west, south, east, north = target.bbox
    hits = list(fast_client.catalogs.search(bbox=[west, south, east, north]))
    assert target.id in {c.id for c in hits}


def test_order_items_lead_to_catalogs(fast_client):
    items = list(fast_client.order_items.list())
    assert items
    item = fast_client.order_items.get(items[0].id)
    assert item.id == items[0].id
    found = list(fast_client.catalogs.search(order_item_ids=[item.id]))
    assert found


def test_download_lifecycle_and_signed_url(fast_client, catalog_ids):
    events: list[px.Event] = []
    download = fast_client.downloads.create(catalog_ids=catalog_ids[:1])
    assert not download.ready
    ready = fast_client.downloads.wait(download.id, timeout=30, on_event=events.append)
    assert ready.status.is_success and ready.signed_url
    statuses = [e.status for e in events if isinstance(e, px.StateChanged)]
    assert statuses[-1] == "SUCCESS"
    assert ready.expires_at is not None
    with httpx.Client() as http:
        head = http.get(ready.signed_url, headers={"Range": "bytes=0-3"})
        assert head.status_code == 206 and head.content == b"PK\x03\x04"


def test_signed_url_expires(fast_client, sandbox, catalog_ids):
    sandbox.set_faults(url_lifetime=4)
    download = fast_client.downloads.wait(fast_client.downloads.create(catalog_ids=catalog_ids[:1]).id, timeout=30)
    with httpx.Client() as http:
        assert http.get(download.signed_url, headers={"Range": "bytes=0-0"}).status_code == 206
        time.sleep(max(0.0, download.expires_at.timestamp() - time.time()) + 1.1)
        assert http.get(download.signed_url, headers={"Range": "bytes=0-0"}).status_code == 403
    sandbox.clear_faults()
    fresh = fast_client.downloads.get(download.id)  # the documented way to a current URL
    with httpx.Client() as http:
        assert http.get(fresh.signed_url, headers={"Range": "bytes=0-0"}).status_code == 206


def test_failed_download_raises(fast_client, sandbox, catalog_ids):
    sandbox.set_faults(fail_next_downloads=1)
    download = fast_client.downloads.create(catalog_ids=catalog_ids[:1])
    with pytest.raises(px.DownloadFailedError) as info:
        fast_client.downloads.wait(download.id, timeout=30)
    assert info.value.resource_id == download.id


def test_delivery_lifecycle(fast_client, catalog_ids):
    store = fast_client.stores.create(
        "lifecycle", "S3", "lifecycle-bucket", "us-east-1", {"k": "v"}, path_prefix="pre/"
    )
    assert store.id in {s.id for s in fast_client.stores.list()}
    deliveries = fast_client.deliveries.create(store.id, catalog_ids=catalog_ids[:2], path="in")
    assert len(deliveries) == 2
    done = fast_client.deliveries.wait([d.delivery_id for d in deliveries], timeout=30)
    assert all(d.status.is_success for d in done)
    assert all(d.location(store).startswith("s3://lifecycle-bucket/pre/in/") for d in done)
    listed = fast_client.deliveries.list(catalog_id=catalog_ids[0])
    assert done[0].delivery_id in {d.delivery_id for d in listed}
    fast_client.stores.delete(store.id)
    assert store.id not in {s.id for s in fast_client.stores.list()}


def test_delivery_by_order_item(fast_client):
    store = fast_client.stores.create("items", "GCS", "items-bucket", "eu", {"k": "v"})
    item = next(iter(fast_client.order_items.list()))
    deliveries = fast_client.deliveries.create(store.id, order_item_ids=[item.id])
    assert deliveries
    assert fast_client.deliveries.list(order_item_id=item.id)


def test_failed_delivery_raises(fast_client, sandbox, catalog_ids):
    store = fast_client.stores.create("failing", "S3", "failing-bucket", "us-east-1", {"k": "v"})
    sandbox.set_faults(fail_next_deliveries=1)
    deliveries = fast_client.deliveries.create(store.id, catalog_ids=catalog_ids[:1])
    with pytest.raises(px.DeliveryFailedError):
        fast_client.deliveries.wait([d.delivery_id for d in deliveries], timeout=30)


def test_unknown_ids_and_bad_store(fast_client, catalog_ids):
    with pytest.raises(px.NotFoundError):
        fast_client.downloads.get("00000000-0000-4000-8000-000000000000")
    with pytest.raises(px.BadRequestError):
        fast_client.deliveries.create("no-such-store", catalog_ids=catalog_ids[:1])


def test_dropped_create_answer_makes_no_duplicate(fast_client, sandbox, catalog_ids):
    store = fast_client.stores.create("dropped", "S3", "dropped-bucket", "us-east-1", {"k": "v"})
    catalog_id = catalog_ids[-1]
    before = {d.delivery_id for d in fast_client.deliveries.list(catalog_id=catalog_id)}
    sandbox.set_faults(drop_create_response=1)
    created = fast_client.deliveries.create(store.id, catalog_ids=[catalog_id], path="dropped")
    after = {d.delivery_id for d in fast_client.deliveries.list(catalog_id=catalog_id)}
    assert len(created) == 1
    assert after - before == {created[0].delivery_id}  # exactly one new delivery
    posts = [r for r in sandbox.requests("/v0/catalogs/deliveries") if r["method"] == "POST"]
    assert posts  # the POST reached the server and was carried out


def test_dropped_download_answer_is_not_resent(fast_client, sandbox, catalog_ids):
    sandbox.reset_requests()
    sandbox.set_faults(drop_create_response=1)
    with pytest.raises(px.TransportError, match="may have been created"):
        fast_client.downloads.create(catalog_ids=catalog_ids[:1])
    posts = [r for r in sandbox.requests("/v0/catalogs/download") if r["method"] == "POST"]
    assert len(posts) == 1


def test_faults_are_answered_with_retries(fast_client, sandbox):
    sandbox.set_faults(rate_limit=2, retry_after=1)
    assert fast_client.stores.list() is not None
    sandbox.set_faults(server_errors=2, server_error_status=503)
    assert list(fast_client.catalogs.search(max_items=1))
    sandbox.set_faults(non_json_errors=1)
    assert fast_client.stores.list() is not None


async def test_async_client_on_sandbox(sandbox, catalog_ids):
    async with px.AsyncClient(api_key=sandbox.token, base_url=sandbox.url, poll_schedule=FAST) as client:
        found = [c.id async for c in client.catalogs.search(limit=2)]
        assert sorted(found) == sorted(catalog_ids)
        download = await client.downloads.create(catalog_ids=found[:1])
        ready = await client.downloads.wait(download.id, timeout=30)
        assert ready.signed_url
        store = await client.stores.create("async", "AZBLOB", "container", "westeurope", {"k": "v"})
        deliveries = await client.deliveries.create(store.id, catalog_ids=found[:1])
        done = await client.deliveries.wait([d.delivery_id for d in deliveries], timeout=30)
        assert done[0].status.is_success
        assert done[0].location(store).startswith("az://container/")
