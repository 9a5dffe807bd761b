"""The token and signed URLs' query strings never appear in logs, reprs or errors."""

from __future__ import annotations

import logging
from urllib.parse import quote

import httpx
import pytest

import pixxel_geo as px

from .conftest import TOKEN, envelope

SIGNATURE = "c2lnbmF0dXJlLXNlY3JldA"
SIGNED = f"https://files.test.invalid/dl/catalogs.zip?X-Pixxel-Expires=1900000000&X-Pixxel-Signature={SIGNATURE}"


def test_debug_logs_hold_no_secret(make_client, caplog):
    answers = iter(
        [
            envelope(500, "x", "y"),
            httpx.Response(201, json={"id": "dl", "status": "created"}),
            httpx.Response(200, json={"id": "dl", "status": "success", "signed_url": SIGNED}),
        ]
    )
    client, _ = make_client(lambda r: next(answers))
    with caplog.at_level(logging.DEBUG, logger="pixxel_geo"):
        with pytest.raises(px.ServerError):
            client.downloads.create(catalog_ids=["c"])
        client.downloads.create(catalog_ids=["c"])
        client.downloads.wait("dl", timeout=5)
    text = caplog.text
    assert "POST /v0/catalogs/download -> 500" in text  # method, path, status are logged
    assert TOKEN not in text and SIGNATURE not in text


def test_reprs_hide_secrets(make_client):
    client, _ = make_client(lambda r: httpx.Response(200, json={"id": "dl", "status": "success", "signed_url": SIGNED}))
    download = client.downloads.get("dl")
    assert download.signed_url == SIGNED
    for text in (repr(download), str(download), repr(client), repr(client.config), str(client.config)):
        assert TOKEN not in text and SIGNATURE not in text
    assert "files.test.invalid/dl/catalogs.zip" in repr(download)


@pytest.mark.parametrize("status", [400, 401, 403, 404, 500])
def test_errors_hold_no_token(make_client, status):
    client, _ = make_client(lambda r: envelope(status, "c", "m"), retry=px.RetryPolicy(max_attempts=1))
    with pytest.raises(px.APIError) as info:
        client.catalogs.get("c")
    assert TOKEN not in str(info.value) and TOKEN not in repr(info.value.args)


def test_transport_errors_hold_no_query(make_client):
    def fail(request):
        raise httpx.ConnectError(f"cannot reach {SIGNED}", request=request)

    client, _ = make_client(fail, retry=px.RetryPolicy(max_attempts=1))
    with pytest.raises(px.NetworkError) as info:
        client.downloads.get("dl")
    assert SIGNATURE not in str(info.value)


def test_redact_urls_in_free_text():
    from pixxel_geo.api.redact import redact_urls

    encoded = SIGNED.replace(":", "%3A").replace("/", "%2F").replace("?", "%3F").replace("=", "%3D").replace("&", "%26")
    message = f"HTTP response code on {SIGNED}: 404 (/vsizip/{{/vsicurl?use_head=no&url={encoded}}}/a.tif)"
    cleaned = redact_urls(message)
    assert SIGNATURE not in cleaned and "1900000000" not in cleaned
    assert "https://files.test.invalid/dl/catalogs.zip?…" in cleaned
    assert "https%3A%2F%2Ffiles.test.invalid%2Fdl%2Fcatalogs.zip?…" in cleaned


def test_redaction_is_public_for_users_own_logs():
    assert px.redact_url(SIGNED) == "https://files.test.invalid/dl/catalogs.zip?…"
    quoted = f"GDAL: HTTP error 403 on /vsicurl?use_head=no&url={quote(SIGNED, safe='')}"
    assert SIGNATURE not in px.redact_urls(f"failed: {SIGNED} and {quoted}")
