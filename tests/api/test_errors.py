"""Error statuses map onto the exception tree, with advice and without secrets."""

from __future__ import annotations

import httpx
import pytest

import pixxel_geo as px

from .conftest import TOKEN, envelope


@pytest.mark.parametrize(
    ("status", "cls", "builtin"),
    [
        (400, px.BadRequestError, None),
        (401, px.AuthenticationError, PermissionError),
        (403, px.PermissionDeniedError, PermissionError),
        (404, px.NotFoundError, FileNotFoundError),
        (409, px.ConflictError, None),
        (429, px.RateLimitError, None),
        (500, px.ServerError, None),
        (503, px.ServerError, None),
        (418, px.APIError, None),
    ],
)
def test_status_maps_to_class(make_client, status, cls, builtin):
    client, _ = make_client(
        lambda r: envelope(status, "some_code", "the API's words", **{"x-request-id": "req-42"}),
        retry=px.RetryPolicy(max_attempts=1),
    )
    with pytest.raises(cls) as info:
        client.catalogs.get("c1")
    error = info.value
    assert isinstance(error, px.PixxelError)
    if builtin:
        assert isinstance(error, builtin)
    assert error.status_code == status
    assert error.code == "some_code" and error.api_message == "the API's words"
    assert error.request_id == "req-42" and error.path == "/v0/catalogs/c1" and error.method == "GET"
    assert "the API's words" in str(error)
    assert TOKEN not in str(error)


def test_auth_errors_say_where_the_key_came_from(make_client, monkeypatch):
    client, _ = make_client(lambda r: envelope(401, "unauthorized", "bad token"))
    with pytest.raises(px.AuthenticationError) as info:
        client.stores.list()
    assert "api_key argument" in str(info.value) and TOKEN not in str(info.value)
    monkeypatch.setenv("PIXXEL_API_KEY", TOKEN)
    env_client = px.Client(
        base_url="https://api.test.invalid",
        transport=httpx.MockTransport(lambda r: envelope(403, "forbidden", "expired")),
    )
    with pytest.raises(px.PermissionDeniedError) as info:
        env_client.stores.list()
    assert "PIXXEL_API_KEY" in str(info.value) and TOKEN not in str(info.value)
    env_client.close()


def test_non_json_error_body(make_client):
    client, _ = make_client(
        lambda r: httpx.Response(502, text="<html>Bad gateway</html>", headers={"content-type": "text/html"}),
        retry=px.RetryPolicy(max_attempts=1),
    )
    with pytest.raises(px.ServerError) as info:
        client.stores.list()
    assert info.value.status_code == 502 and "text/html" in str(info.value)


def test_success_with_non_json_body_is_a_clear_error(make_client):
    client, _ = make_client(lambda r: httpx.Response(200, text="<html>login page</html>"))
    with pytest.raises(px.ServerError, match="not JSON"):
        client.stores.list()


def test_transport_errors(make_client):
    def refuse(request):
        raise httpx.ConnectError("refused", request=request)

    client, rec = make_client(refuse)
    with pytest.raises(px.NetworkError) as info:
        client.stores.list()
    assert isinstance(info.value, ConnectionError)
    assert "GET https://api.test.invalid/v0/stores" in str(info.value)
    assert len(rec.requests) == 4  # retried up to max_attempts

    def slow(request):
        raise httpx.ReadTimeout("slow", request=request)

    client, _ = make_client(slow)
    with pytest.raises(px.RequestTimeoutError) as timeout:
        client.catalogs.get("c")
    assert isinstance(timeout.value, TimeoutError)


def test_missing_key_is_a_configuration_error(monkeypatch, tmp_path):
    monkeypatch.delenv("PIXXEL_API_KEY", raising=False)
    monkeypatch.setenv("PIXXEL_CONFIG", str(tmp_path / "none.toml"))
    with (
        px.Client(
            base_url="https://api.test.invalid", transport=httpx.MockTransport(lambda r: httpx.Response(200))
        ) as client,
        pytest.raises(px.ConfigurationError, match="PIXXEL_API_KEY"),
    ):
        client.stores.list()


def test_failed_resources_name_themselves(make_client):
    client, _ = make_client(lambda r: httpx.Response(200, json={"id": "dl9", "status": "failed"}))
    with pytest.raises(px.DownloadFailedError) as info:
        client.downloads.wait("dl9", timeout=5)
    assert info.value.resource_id == "dl9" and "dl9" in str(info.value)

    failed = {"delivery_id": "d9", "catalog_id": "c9", "status": "FAILED"}
    client, _ = make_client(lambda r: httpx.Response(200, json={"deliveries": [failed]}))
    with pytest.raises(px.DeliveryFailedError) as dinfo:
        client.deliveries.wait(["d9"], timeout=5)
    assert dinfo.value.resource_id == "d9" and "c9" in str(dinfo.value)
