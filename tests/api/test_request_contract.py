"""Every request body the client can send validates against Pixxel's openapi.json."""

from __future__ import annotations

import json

import httpx
import pytest
from openapi_schema_validator import OAS30Validator
from referencing import Registry, Resource

from tests.data import OPENAPI_PATH

OPENAPI = OPENAPI_PATH


@pytest.fixture(scope="module")
def spec() -> dict:
    return json.loads(OPENAPI.read_text())


def request_schema_validator(spec: dict, method: str, path: str) -> OAS30Validator:
    operation = spec["paths"][path][method.lower()]
    schema = operation["requestBody"]["content"]["application/json"]["schema"]
    registry = Registry().with_resource("urn:openapi", Resource.opaque(spec))
    ref = {"$ref": "urn:openapi" + schema["$ref"].replace("#", "#", 1)}
    return OAS30Validator(ref, registry=registry)


def sent_bodies(make_client, call) -> list[tuple[str, str, dict]]:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/v0/catalogs/search":
            return httpx.Response(200, json={"catalogs": [], "pagination": {"total": 0}})
        if request.method == "GET":
            return httpx.Response(200, json={"deliveries": []})
        if request.url.path == "/v0/catalogs/deliveries":
            return httpx.Response(201, json={"deliveries": []})
        if request.url.path == "/v0/catalogs/download":
            return httpx.Response(201, json={"id": "d", "status": "created"})
        return httpx.Response(200, json={"id": "s"})

    client, rec = make_client(handler)
    call(client)
    return [(r.method, r.url.path, json.loads(r.content)) for r in rec.requests if r.content]


CALLS = {
    "store": (
        "/v0/stores",
        lambda c: c.stores.create("n", "GCS", "b", "eu", {"service_account_json": "{}"}, "p/", {"team": "x"}),
    ),
    "store-minimal": ("/v0/stores", lambda c: c.stores.create("n", "S3", "b", "us-east-1", {})),
    "delivery-catalogs": (
        "/v0/catalogs/deliveries",
        lambda c: c.deliveries.create("s1", catalog_ids=["c1", "c2"], path="x/y"),
    ),
    "delivery-items": ("/v0/catalogs/deliveries", lambda c: c.deliveries.create("s1", order_item_ids=["o1"])),
    "download-catalogs": ("/v0/catalogs/download", lambda c: c.downloads.create(catalog_ids=["c1"])),
    "download-items": ("/v0/catalogs/download", lambda c: c.downloads.create(order_item_ids=["o1", "o2"])),
    "search-all-filters": (
        "/v0/catalogs/search",
        lambda c: list(
            c.catalogs.search(
                bbox=[77.5, 12.9, 77.7, 13.1],
                intersects={"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 0]]]},
                datetime=("2024-01-01T00:00:00Z", None),
                ids=["c1"],
                order_ids=["o1"],
                order_item_ids=["oi1"],
                query={"cloudcover": {"lt": 10}},
                sort_by="-datetime",
                limit=10,
            )
        ),
    ),
    "search-empty": ("/v0/catalogs/search", lambda c: list(c.catalogs.search())),
}


@pytest.mark.parametrize("name", sorted(CALLS))
def test_request_body_matches_schema(spec, make_client, name):
    path, call = CALLS[name]
    bodies = [b for (m, p, b) in sent_bodies(make_client, call) if p == path]
    assert bodies, f"no request body sent to {path}"
    validator = request_schema_validator(spec, "POST", path)
    for body in bodies:
        errors = sorted(validator.iter_errors(body), key=str)
        assert not errors, f"{name}: {errors[0].message}"


def test_validator_rejects_a_wrong_body(spec):
    """The check above has teeth: a body missing a required field fails it."""
    validator = request_schema_validator(spec, "POST", "/v0/catalogs/deliveries")
    assert list(validator.iter_errors({"deliveries": [{"catalog_ids": ["c"]}]}))
