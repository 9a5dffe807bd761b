"""Bad input is refused with a clear ValueError before any request; search bodies follow the schema."""

from __future__ import annotations

import datetime as dt

import httpx
import pytest

import pixxel_geo as px
from pixxel_geo.api.catalogs import search_body


@pytest.fixture
def client_and_requests(make_client):
    return make_client(lambda r: httpx.Response(500))


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda c: c.downloads.create(catalog_ids=["a"], order_item_ids=["b"]), "not both"),
        (lambda c: c.downloads.create(), "at least one"),
        (lambda c: c.downloads.create(catalog_ids=[]), "at least one"),
        (lambda c: c.downloads.create(catalog_ids=[""]), "non-empty string"),
        (lambda c: c.downloads.create(catalog_ids=[42]), "non-empty string"),
        (lambda c: c.deliveries.create("s1", catalog_ids=["a"], order_item_ids=["b"]), "not both"),
        (lambda c: c.deliveries.create("", catalog_ids=["a"]), "store_id"),
        (lambda c: c.deliveries.create("s1"), "at least one"),
        (lambda c: list(c.catalogs.search(bbox=[0, 0, 1])), "4"),
        (lambda c: list(c.catalogs.search(bbox=[0, 0, 200, 1])), "longitudes"),
        (lambda c: list(c.catalogs.search(bbox=[0, 10, 1, 5])), "south <= north"),
        (lambda c: list(c.catalogs.search(bbox=["a", 0, 1, 1])), "4 numbers"),
        (lambda c: list(c.catalogs.search(limit=0)), "positive"),
        (lambda c: list(c.catalogs.search(intersects={"coordinates": []})), "GeoJSON"),
        (lambda c: c.stores.create("n", "DROPBOX", "b", "r", {}), "S3, GCS, AZBLOB"),
        (lambda c: c.stores.create("n", "S3", "", "r", {}), "bucket"),
        (lambda c: c.stores.create("n", "S3", "b", "r", {"k": 1}), "secrets"),
        (lambda c: c.catalogs.get(""), "catalog_id"),
        (lambda c: c.deliveries.wait([]), "at least one"),
        (lambda c: list(c.order_items.list(colour="red")), "Unknown order item filter"),
    ],
)
def test_refused_before_any_request(client_and_requests, call, match):
    client, rec = client_and_requests
    with pytest.raises(px.InvalidInputError, match=match) as info:
        call(client)
    assert isinstance(info.value, ValueError)
    assert rec.requests == []


def test_store_type_aliases(make_client):
    client, rec = make_client(lambda r: httpx.Response(200, json={"id": "s"}))
    client.stores.create("n", "azure", "container", "westeurope", {"connection_string": "x"})
    assert b'"type":"AZBLOB"' in rec.requests[0].content


@pytest.mark.parametrize("timeout", [-1, "soon", float("nan")])
def test_bad_wait_timeout_is_refused_before_any_request(make_client, timeout):
    client, _ = make_client(lambda r: pytest.fail("a request was sent"))
    with pytest.raises(px.InvalidInputError, match="timeout"):
        client.deliveries.wait(["d1"], timeout=timeout)


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


# -- hardening (issue 15): no TypeError, no request, for arguments that can be checked here --------------


def _file(tmp_path):
    path = tmp_path / "a-file"
    path.write_text("x")
    return path


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda c, t: c.download(catalog_ids=[None], dest=t), "non-empty string"),
        (lambda c, t: c.download(catalog_ids=["c"], dest=None), "dest"),
        (lambda c, t: c.download(catalog_ids=["c"], dest=""), "dest"),
        (lambda c, t: c.download(catalog_ids=["c"], dest=5), "dest"),
        (lambda c, t: c.download(catalog_ids=["c"], dest=t, connections="8"), "connections"),
        (lambda c, t: c.download(catalog_ids=["c"], dest=t, connections=0), "connections"),
        (lambda c, t: c.download(catalog_ids=["c"], dest=t, connections=True), "connections"),
        (lambda c, t: c.download(catalog_ids=["c"], dest=t, connections=65), "connections"),
        (lambda c, t: c.download(catalog_ids=["c"], dest=t, extract="no"), "extract"),
        (lambda c, t: c.download(catalog_ids=["c"], dest=t, overwrite=1), "overwrite"),
        (lambda c, t: c.download(catalog_ids=["c"], dest=t, on_event="print"), "on_event"),
        (lambda c, t: c.download(catalog_ids=["c"], dest=_file(t)), "not a folder"),
        (lambda c, t: c.download(catalog_ids=["c"], dest=_file(t) / "sub"), "not a folder"),
        (lambda c, t: c.download(catalog_ids=["c"], dest="/sys/pixxel-test"), "cannot write"),
        (lambda c, t: c.download(catalog_ids=5, dest=t), "list of ids"),
        (lambda c, t: c.downloads.create(catalog_ids=5), "list of ids"),
        (lambda c, t: c.deliveries.wait(5), "list of ids"),
        (lambda c, t: c.deliveries.wait(["d1"], on_event=5), "on_event"),
        (lambda c, t: c.downloads.wait("d1", on_event=5), "on_event"),
        (lambda c, t: c.deliveries.list(delivery_id="a/b"), "not a valid id"),
        (lambda c, t: c.deliveries.list(catalog_id="x?y=1"), "not a valid id"),
        (lambda c, t: c.deliveries.list(task_id=5), "non-empty string"),
        (lambda c, t: c.stores.create("n", "S3", "b", "r", {}, labels=5), "labels"),
        (lambda c, t: c.stores.create("n", "S3", "b", "r", {}, path_prefix=5), "path_prefix"),
        (lambda c, t: c.stores.create("n", "S3", "b", "r", None), "secrets"),
        (lambda c, t: list(c.catalogs.search(sort_by="")), "sort_by"),
        (lambda c, t: list(c.catalogs.search(sort_by=[])), "sort_by"),
        (lambda c, t: list(c.catalogs.search(sort_by="-")), "sort_by"),
        (lambda c, t: list(c.catalogs.search(datetime="garbage")), "RFC 3339"),
        (lambda c, t: list(c.catalogs.search(datetime="2024-13-01T00:00:00Z")), "RFC 3339"),
        (lambda c, t: list(c.catalogs.search(datetime="2024-01-01T00:00:00Z/garbage")), "RFC 3339"),
        (lambda c, t: list(c.catalogs.search(datetime="2024-01-01T00:00:00Z/a/b")), "RFC 3339"),
        (lambda c, t: list(c.catalogs.search(datetime="../..")), "open at both ends"),
        (lambda c, t: list(c.catalogs.search(datetime="2024-02-01T00:00:00Z/2024-01-01T00:00:00Z")), "before"),
        (lambda c, t: list(c.catalogs.search(datetime="")), "RFC 3339"),
        (lambda c, t: list(c.catalogs.search(query={"cloudcover": 5})), "query"),
        (lambda c, t: list(c.catalogs.search(intersects={"type": "Feature", "geometry": {}})), "Feature"),
        (lambda c, t: list(c.catalogs.search(intersects={"type": "Polygon"})), "coordinates"),
        (lambda c, t: list(c.catalogs.search(intersects={"type": "GeometryCollection", "geometries": [5]})), "GeoJSON"),
        (lambda c, t: list(c.catalogs.search(max_items=True)), "max_items"),
        (lambda c, t: list(c.order_items.list(status=["a", None])), "status"),
    ],
)
def test_hardened_refusals_before_any_request(client_and_requests, tmp_path, call, match):
    client, rec = client_and_requests
    with pytest.raises(px.InvalidInputError, match=match):
        call(client, tmp_path)
    assert rec.requests == []


@pytest.mark.parametrize(
    "value",
    [
        "2024-01-01T00:00:00Z",
        "2024-01-01t10:20:30.123456+05:30",
        "2024-01-01T00:00:00Z/..",
        "../2024-01-01T00:00:00-02:00",
        "2024-01-01T00:00:00Z/",
        "2024-01-01/2024-02-01",
    ],
)
def test_rfc3339_datetimes_and_intervals_are_accepted(value):
    assert search_body(datetime=value)["datetime"] == value


async def test_async_download_checks_its_arguments_first(make_async_client, tmp_path):
    client, rec = make_async_client(lambda r: httpx.Response(500))
    async with client:
        with pytest.raises(px.InvalidInputError, match="connections"):
            await client.download(catalog_ids=["c"], dest=tmp_path, connections=0)
    assert rec.requests == []
