from __future__ import annotations

import httpx
import pytest

from pixxel_geo.sandbox import Sandbox


def test_ping_needs_no_token(sandbox: Sandbox) -> None:
    response = httpx.get(sandbox.url + "/ping")
    assert response.status_code == 200
    assert response.json() == "pong"


@pytest.mark.parametrize("header", [None, "", "Bearer", "Basic abcdefghijkl", "Bearer a b c"])
def test_missing_or_malformed_token_is_401(sandbox: Sandbox, header: str | None) -> None:
    headers = {} if header is None else {"Authorization": header}
    response = httpx.get(sandbox.url + "/v0/stores", headers=headers)
    assert response.status_code == 401
    assert set(response.json()["error"]) == {"code", "message", "details"}


def test_unknown_token_is_403(sandbox: Sandbox) -> None:
    response = httpx.get(sandbox.url + "/v0/stores", headers={"Authorization": "Bearer nope12345678"})
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "FORBIDDEN"


def test_bare_token_is_accepted(sandbox: Sandbox) -> None:
    response = httpx.get(sandbox.url + "/v0/stores", headers={"Authorization": sandbox.token})
    assert response.status_code == 200


def test_expired_token_is_403(sandbox: Sandbox) -> None:
    sandbox.set_faults(expired_tokens=[sandbox.token])
    response = httpx.get(sandbox.url + "/v0/stores", headers={"Authorization": sandbox.token})
    assert response.status_code == 403
    assert "expired" in response.json()["error"]["message"]


def test_extra_token_is_accepted(sandbox: Sandbox) -> None:
    sandbox.set_faults(extra_tokens=["second-token-abcdef"])
    response = httpx.get(sandbox.url + "/v0/stores", headers={"Authorization": "second-token-abcdef"})
    assert response.status_code == 200


def test_admin_endpoints_need_the_launch_token(sandbox: Sandbox) -> None:
    assert httpx.get(sandbox.url + "/_sandbox/faults").status_code == 401
    other = httpx.get(sandbox.url + "/_sandbox/faults", headers={"Authorization": "other-token-1234"})
    assert other.status_code == 403


def test_unknown_route_and_method_use_the_envelope(api: httpx.Client) -> None:
    missing = api.get("/v0/nothing-here")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "NOT_FOUND"
    wrong = api.put("/v0/stores")
    assert wrong.status_code == 405
    assert "error" in wrong.json()


@pytest.mark.parametrize("body", [b"{not json", b"", b"[1, 2]", b"\xff\xfe"])
def test_malformed_json_is_400(api: httpx.Client, body: bytes) -> None:
    response = api.post("/v0/catalogs/search", content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "BAD_REQUEST" and error["message"]


def test_error_never_contains_a_traceback(api: httpx.Client) -> None:
    response = api.post("/v0/catalogs/search", json={"bbox": "oops"})
    assert response.status_code == 400
    assert "Traceback" not in response.text
