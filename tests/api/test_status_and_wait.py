"""Status vocabularies, unknown values, and bounded, observable waits."""

from __future__ import annotations

import httpx
import pytest

import pixxel_geo as px

from .conftest import envelope


@pytest.mark.parametrize(
    ("cls", "raw", "value", "final", "success"),
    [
        (px.DeliveryStatus, "SUCCESS", "SUCCESS", True, True),
        (px.DeliveryStatus, "SUCCESSFUL", "SUCCESS", True, True),
        (px.DeliveryStatus, "in_progress", "IN_PROGRESS", False, False),
        (px.DeliveryStatus, "FAILED", "FAILED", True, False),
        (px.DeliveryStatus, "UNSPECIFIED", "UNSPECIFIED", False, False),
        (px.DeliveryStatus, "QUARANTINED", "UNKNOWN", False, False),
        (px.DeliveryStatus, None, "UNKNOWN", False, False),
        (px.DownloadStatus, "success", "SUCCESS", True, True),
        (px.DownloadStatus, "created", "CREATED", False, False),
        (px.DownloadStatus, "SUCCESS", "SUCCESS", True, True),
        (px.DownloadStatus, "expired", "UNKNOWN", False, False),
    ],
)
def test_normalisation(cls, raw, value, final, success):
    status = cls(raw)
    assert status.value == value and status.is_final is final and status.is_success is success
    assert status.raw == ("" if raw is None else raw)


def test_unknown_never_equals_a_known_status():
    unknown = px.DeliveryStatus("ARCHIVED")
    assert unknown != "SUCCESS" and unknown != "FAILED" and not unknown.is_failure
    assert "ARCHIVED" in str(unknown)


def test_unknown_delivery_status_keeps_waiting_until_deadline(make_client):
    odd = {"delivery_id": "d1", "catalog_id": "c1", "status": "ARCHIVING"}
    client, rec = make_client(lambda r: httpx.Response(200, json={"deliveries": [odd]}))
    events: list[px.Event] = []
    with pytest.raises(px.WaitTimeoutError) as info:
        client.deliveries.wait(["d1"], timeout=0.05, on_event=events.append)
    assert info.value.resources == {"d1": "UNKNOWN('ARCHIVING')"}
    assert len(rec.requests) >= 1
    assert any(isinstance(e, px.StateChanged) and "ARCHIVING" in e.status for e in events)


def test_download_with_unknown_status_is_not_ready(make_client):
    client, _ = make_client(lambda r: httpx.Response(200, json={"id": "dl", "status": "mystery"}))
    with pytest.raises(px.WaitTimeoutError):
        client.downloads.wait("dl", timeout=0.05)


def test_wait_deadline_is_taken_before_the_first_poll(make_client, clock):
    def slow_poll(request: httpx.Request) -> httpx.Response:
        clock.now_value += 10  # the first poll alone takes longer than the timeout
        return httpx.Response(200, json={"id": "dl", "status": "in_progress"})

    client, rec = make_client(slow_poll)
    with pytest.raises(px.WaitTimeoutError):
        client.downloads.wait("dl", timeout=5)
    assert len(rec.requests) == 1 and clock.sleeps == []


@pytest.mark.parametrize("retry_after", ["120", "20"])
def test_retries_inside_a_poll_respect_the_deadline(make_client, clock, retry_after):
    client, rec = make_client(
        lambda r: envelope(503, "unavailable", "busy", **{"Retry-After": retry_after}),
        retry=px.RetryPolicy(max_attempts=4, backoff_cap=60),
    )
    with pytest.raises(px.WaitTimeoutError) as info:
        client.deliveries.wait(["d1"], timeout=5)
    assert isinstance(info.value.__cause__, px.ServerError)
    assert len(rec.requests) == 1 and clock.sleeps == []


def test_wait_without_timeout_waits_until_done(make_client, clock):
    answers = iter(["in_progress"] * 3 + ["success"])

    def handler(request: httpx.Request) -> httpx.Response:
        status = next(answers)
        body = {
            "id": "dl",
            "status": status,
            **({"signed_url": "https://f.test/x?sig=1"} if status == "success" else {}),
        }
        return httpx.Response(200, json=body)

    client, rec = make_client(handler)
    assert client.downloads.wait("dl", timeout=None).signed_url
    assert len(rec.requests) == 4


def test_waiting_for_many_deliveries_uses_one_list_call_per_poll(make_client):
    polls = {"n": 0}

    def handler(request: httpx.Request) -> httpx.Response:
        polls["n"] += 1
        status = "SUCCESS" if polls["n"] >= 3 else "IN_PROGRESS"
        return httpx.Response(
            200,
            json={"deliveries": [{"delivery_id": f"d{i}", "catalog_id": f"c{i}", "status": status} for i in range(5)]},
        )

    client, rec = make_client(handler)
    done = client.deliveries.wait([f"d{i}" for i in range(5)], timeout=5)
    assert [d.delivery_id for d in done] == [f"d{i}" for i in range(5)]
    assert len(rec.requests) == 3
    assert all("delivery_id" not in r.url.params for r in rec.requests)


def test_poll_intervals_back_off_to_a_cap():
    intervals = px.PollSchedule(first=1.0, factor=1.5, cap=12.0, steady=0, jitter=0).intervals(timeout=1000)
    values = [next(intervals) for _ in range(10)]
    assert values[0] == 1.0 and values == sorted(values) and max(values) == 12.0


def test_models_never_fail_on_odd_values():
    catalog = px.Catalog.from_api(
        {
            "id": "c",
            "area": "not a number",
            "details": {
                "bbox": ["1", 2, "x", 4],
                "properties": {"eo:cloud_cover": "12.5", "gsd": None, "proj:epsg": "32643"},
                "assets": {
                    "image": {"eo:bands": [{"name": "B1", "center_wavelength": "470.5", "fwhm": "bad"}, "junk"]}
                },
            },
            "delivery_status": "SUCCESSFUL",
            "unknown_field": {"nested": True},
        }
    )
    assert catalog.area is None and catalog.bbox is None
    assert catalog.cloud_cover == 12.5 and catalog.gsd is None and catalog.epsg == 32643
    assert catalog.bands[0].center_wavelength == 470.5 and catalog.bands[0].fwhm is None
    assert catalog.delivery_status.is_success and catalog.raw["unknown_field"] == {"nested": True}


def test_paging_survives_string_numbers(make_client):
    import json

    def handler(request: httpx.Request) -> httpx.Response:
        offset = json.loads(request.content)["offset"]
        items = [{"id": f"c{i}"} for i in range(offset, min(3, offset + 2))]
        return httpx.Response(200, json={"catalogs": items, "pagination": {"total": "3", "limit": "2"}})

    client, _ = make_client(handler)
    assert [c.id for c in client.catalogs.search(limit=2)] == ["c0", "c1", "c2"]


# -- hardening (issue 15) ----------------------------------------------------------------------------------


@pytest.mark.timeout(30)
def test_waiting_for_an_unknown_delivery_fails_fast(make_client):
    client, rec = make_client(lambda r: httpx.Response(200, json={"deliveries": []}))
    with pytest.raises(px.NotFoundError, match="no-such-id") as info:
        client.deliveries.wait(["no-such-id"], timeout=3600)
    assert "deliveries list" in str(info.value)
    assert len(rec.requests) <= 3


@pytest.mark.timeout(30)
def test_one_unknown_delivery_among_known_ones_fails_fast(make_client):
    known = {"delivery_id": "d1", "catalog_id": "c1", "status": "IN_PROGRESS"}
    client, rec = make_client(
        lambda r: httpx.Response(
            200, json={"deliveries": [known] if "d1" in str(r.url) or "delivery_id" not in r.url.params else []}
        )
    )
    with pytest.raises(px.NotFoundError, match="d2"):
        client.deliveries.wait(["d1", "d2"], timeout=3600)
    assert len(rec.requests) <= 8


def test_pages_of_items_without_ids_and_no_total_stop_at_once(make_client):
    client, rec = make_client(lambda r: httpx.Response(200, json={"catalogs": [{"name": "x"}] * 50}))
    with pytest.raises(px.MalformedResponseError, match="id"):
        list(client.catalogs.search())
    assert len(rec.requests) == 1


def test_a_server_repeating_one_page_is_paged_once(make_client):
    page = {"catalogs": [{"id": f"c{i}"} for i in range(50)]}
    client, rec = make_client(lambda r: httpx.Response(200, json=page))
    assert len(list(client.catalogs.search())) == 50
    assert len(rec.requests) == 2


def test_order_item_pages_without_ids_stop_at_once(make_client):
    client, rec = make_client(lambda r: httpx.Response(200, json={"order_items": [{"id": None}] * 50}))
    with pytest.raises(px.MalformedResponseError):
        list(client.order_items.list())
    assert len(rec.requests) == 1
