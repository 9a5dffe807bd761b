"""Regression tests for the review of pixxel_geo.api: partial creates, ids in paths,
deadlines, lost DELETE answers, Retry-After, settings, search bodies and config."""

from __future__ import annotations

import datetime as dt
import json
import time

import httpx
import pytest

import pixxel_geo as px
from pixxel_geo.api._config import resolve_config
from pixxel_geo.api.catalogs import search_body

from .conftest import BASE, TOKEN, envelope


class FakeClock:
    """``time.monotonic`` and ``time.sleep`` that only move when told to."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture
def clock(monkeypatch) -> FakeClock:
    fake = FakeClock()
    monkeypatch.setattr(time, "monotonic", fake.monotonic)
    monkeypatch.setattr(time, "sleep", fake.sleep)
    return fake


@pytest.fixture
def sleeps(monkeypatch):
    recorded: list[float] = []
    monkeypatch.setattr("pixxel_geo.api.client.time.sleep", recorded.append)
    return recorded


def _delivery(delivery_id: str, catalog_id: str, path: str | None = None) -> dict:
    cloud = {"config": "s1", **({"path": path} if path is not None else {})}
    return {"delivery_id": delivery_id, "catalog_id": catalog_id, "status": "CREATED", "cloud_delivery": cloud}


# -- 1. partly successful delivery creates -------------------------------------------


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


# -- 2. ids in URL paths --------------------------------------------------------------


@pytest.mark.parametrize(
    "call",
    [
        lambda c: c.catalogs.get("deliveries"),
        lambda c: c.catalogs.get("x/../search"),
        lambda c: c.downloads.get("../../stores/S1"),
        lambda c: c.downloads.wait(".."),
        lambda c: c.order_items.get("a?b=1"),
        lambda c: c.order_items.get("a#b"),
        lambda c: c.stores.delete("x/../../catalogs/c1"),
        lambda c: c.stores.delete("a\\b"),
        lambda c: c.stores.delete("a b"),
        lambda c: c.stores.delete("."),
    ],
)
def test_ids_that_would_change_the_url_are_refused(make_client, call):
    client, _ = make_client(lambda r: pytest.fail("a request was sent"))
    with pytest.raises(px.InvalidInputError, match="id"):
        call(client)


def test_ids_are_percent_quoted_in_paths(make_client):
    client, rec = make_client(lambda r: httpx.Response(200, json={"id": "x"}))
    client.catalogs.get("%2e%2e")
    assert rec.requests[0].url.raw_path == b"/v0/catalogs/%252e%252e"


# -- 3. waits keep their deadline -------------------------------------------------------


def test_wait_deadline_is_taken_before_the_first_poll(make_client, clock):
    def slow_poll(request: httpx.Request) -> httpx.Response:
        clock.now += 10  # the first poll alone takes longer than the timeout
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


# -- 4. DELETE after a lost answer ------------------------------------------------------


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


# -- 5. Retry-After beyond the cap ------------------------------------------------------


def test_retry_after_longer_than_the_cap_raises_at_once(make_client, sleeps):
    client, rec = make_client(
        lambda r: envelope(429, "rate_limited", "slow down", **{"Retry-After": "120"}),
        retry=px.RetryPolicy(max_attempts=3, backoff_cap=30),
    )
    with pytest.raises(px.RateLimitError, match="120 s") as info:
        client.stores.list()
    assert info.value.retry_after == 120.0
    assert len(rec.requests) == 1 and sleeps == []


# -- 6. settings are validated -----------------------------------------------------------


@pytest.mark.parametrize(
    "make",
    [
        lambda: px.RetryPolicy(max_attempts=0),
        lambda: px.RetryPolicy(backoff_cap=-1),
        lambda: px.PollSchedule(first=0),
        lambda: px.PollSchedule(factor=0.5),
        lambda: px.Client(api_key="k", base_url=BASE, timeout=0),
        lambda: px.Client(api_key="k", base_url=BASE, timeout=-1),
        lambda: px.ClientConfig(timeout=float("nan")),
    ],
)
def test_bad_settings_are_refused(make):
    with pytest.raises(px.ConfigurationError):
        make()


@pytest.mark.parametrize("timeout", [-1, "soon", float("nan")])
def test_bad_wait_timeout_is_refused_before_any_request(make_client, timeout):
    client, _ = make_client(lambda r: pytest.fail("a request was sent"))
    with pytest.raises(px.InvalidInputError, match="timeout"):
        client.deliveries.wait(["d1"], timeout=timeout)


# -- 7. search bodies ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({"sort_by": {"datetime": "desc"}}, {"sort_by": [{"datetime": "DESC"}]}),
        ({"sort_by": ["-datetime", {"cloudcover": "ASC"}]}, {"sort_by": [{"datetime": "DESC"}, {"cloudcover": "ASC"}]}),
        ({"datetime": dt.datetime(2024, 1, 1, 12)}, {"datetime": "2024-01-01T12:00:00Z"}),
        ({"datetime": dt.date(2024, 1, 1)}, {"datetime": "2024-01-01T00:00:00Z"}),
        ({"datetime": (dt.date(2024, 1, 1), None)}, {"datetime": "2024-01-01T00:00:00Z/.."}),
        (
            {"datetime": dt.datetime(2024, 1, 1, 5, 30, tzinfo=dt.timezone(dt.timedelta(hours=5, minutes=30)))},
            {"datetime": "2024-01-01T00:00:00Z"},
        ),
    ],
)
def test_search_body_sends_schema_values(kwargs, expected):
    assert search_body(**kwargs) == expected


@pytest.mark.parametrize(
    "kwargs",
    [
        {"datetime": (None, None)},
        {"datetime": 20240101},
        {"bbox": "1234"},
        {"bbox": {"w": 1, "s": 2, "e": 3, "n": 4}},
        {"sort_by": {"datetime": "newest"}},
        {"sort_by": [42]},
    ],
)
def test_search_body_refuses_malformed_values(kwargs):
    with pytest.raises(px.InvalidInputError):
        search_body(**kwargs)


# -- 8. config precedence -----------------------------------------------------------------


@pytest.fixture
def config_file(tmp_path, monkeypatch):
    path = tmp_path / "config.toml"
    path.write_text('api_key = "from-file"\n')
    monkeypatch.setenv("PIXXEL_CONFIG", str(path))
    monkeypatch.delenv("PIXXEL_API_URL", raising=False)
    return path


def test_blank_env_key_does_not_hide_the_config_file(config_file, monkeypatch):
    monkeypatch.setenv("PIXXEL_API_KEY", "   ")
    config = resolve_config()
    assert config.api_key == "from-file" and str(config_file) in config.api_key_source


def test_blank_argument_falls_through_to_the_environment(config_file, monkeypatch):
    monkeypatch.setenv("PIXXEL_API_KEY", "from-env")
    assert resolve_config(api_key="  ").api_key_source == "the PIXXEL_API_KEY environment variable"


def test_base_url_with_spaces_is_accepted(config_file):
    assert resolve_config(base_url="  http://127.0.0.1:8000/ ").base_url == "http://127.0.0.1:8000"


@pytest.mark.parametrize("cls", [px.Client, px.AsyncClient])
def test_config_and_individual_settings_together_are_refused(cls):
    config = resolve_config(api_key=TOKEN, base_url=BASE)
    with pytest.raises(px.ConfigurationError, match="api_key") as info:
        cls(api_key="argkey", config=config)
    assert TOKEN not in str(info.value) and "argkey" not in str(info.value)


# -- 9. store create recovery compares what was sent ----------------------------------------


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


# -- optional: no API key over plain http to another host -----------------------------------


def test_key_is_not_sent_over_plain_http_to_a_remote_host():
    sent: list[httpx.Request] = []
    transport = httpx.MockTransport(lambda r: sent.append(r) or httpx.Response(200, json={"stores": []}))
    with px.Client(api_key=TOKEN, base_url="http://api.example.com", transport=transport) as client:
        with pytest.raises(px.ConfigurationError, match="https://") as info:
            client.stores.list()
        assert TOKEN not in str(info.value) and sent == []
        assert client.ping() is not None  # no key needed, so no refusal


@pytest.mark.parametrize("host", ["127.0.0.1:8000", "localhost:8000", "[::1]:8000"])
def test_plain_http_to_loopback_still_works(host):
    transport = httpx.MockTransport(lambda r: httpx.Response(200, json={"stores": []}))
    with px.Client(api_key=TOKEN, base_url=f"http://{host}", transport=transport) as client:
        assert client.stores.list() == []
