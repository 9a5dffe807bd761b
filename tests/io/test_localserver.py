"""The local range server: HTTP semantics, Debian's GDAL 3.6 tools reading through it, re-signing,
no signature ever reaching GDAL, ``px.local_gdal_path`` and ``pixxel-geo serve``."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
import rasterio
from rasterio.windows import Window

import pixxel_geo as px
from pixxel_geo.io.localserver import LocalRangeServer, local_gdal_path, parse_range_header
from pixxel_geo.sandbox import Sandbox, SandboxSettings

REPO = Path(__file__).resolve().parents[2]
SYSTEM_GDALINFO = "/usr/bin/gdalinfo"
SYSTEM_TRANSLATE = "/usr/bin/gdal_translate"
TOKEN = "localserver-test-token-0123456789"
SIGNATURE = "X-Pixxel-Signature"


def _system_gdal(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run one of Debian's GDAL tools (GDAL 3.6 on the supported platform) with a clean environment."""
    tool = shutil.which(args[0], path="/usr/bin")
    assert tool, f"{args[0]} is not installed: apt-get install gdal-bin"
    clean = {"PATH": "/usr/bin:/bin", "HOME": os.environ.get("HOME", "/tmp"), **(env or {})}
    return subprocess.run([tool, *args[1:]], capture_output=True, text=True, env=clean, timeout=120)


@pytest.fixture(scope="module")
def big() -> Iterator[Sandbox]:
    """A sandbox with one product of >= 25 MB (32 bands, 1024 x 1024 px, band-interleaved COG)."""
    settings = SandboxSettings(bands=32, width=1024, height=1024, count=1, download_seconds=0.1)
    import tempfile

    with (
        tempfile.TemporaryDirectory(prefix="pixxel-localserver-") as data_dir,
        Sandbox.launch(data_dir=data_dir, token=TOKEN, settings=settings) as sb,
    ):
        yield sb


@pytest.fixture
def client(big: Sandbox) -> Iterator[Any]:
    with px.Client(api_key=big.token, base_url=big.url) as c:
        yield c
    big.clear_faults()


@pytest.fixture
def server(client: Any) -> Iterator[LocalRangeServer]:
    with LocalRangeServer(client=client) as srv:
        yield srv


@pytest.fixture
def product(client: Any, server: LocalRangeServer) -> dict[str, Any]:
    catalog = next(iter(client.catalogs.search(max_items=1)))
    path = local_gdal_path(catalog.id, client=client)  # the core's pick of the image member
    member = path.rsplit("/", 1)[1]
    size = int(httpx.head(server.url(catalog.id)).headers["Content-Length"])
    return {"id": catalog.id, "member": member, "size": size}


def _moved(sb: Sandbox) -> tuple[int, int]:
    served = sb.requests(path_prefix="/files/")
    return len(served), sum(r["bytes"] for r in served)


def test_parse_range_header() -> None:
    assert parse_range_header("bytes=0-9", 100) == [(0, 10)]
    assert parse_range_header("bytes=90-", 100) == [(90, 100)]
    assert parse_range_header("bytes=-5", 100) == [(95, 100)]
    assert parse_range_header("bytes=95-200", 100) == [(95, 100)]
    assert parse_range_header("items=0-1", 100) is None
    assert parse_range_header("bytes=5-1", 100) is None
    with pytest.raises(ValueError):
        parse_range_header("bytes=100-", 100)


def test_head_range_and_refusals(big: Sandbox, client: Any, server: LocalRangeServer, product: dict[str, Any]) -> None:
    archive = server.url(product["id"])
    assert archive.startswith(f"http://127.0.0.1:{server.port}/{server.token}/catalogs/{product['id']}/")
    assert len(server.token) >= 32
    download = client.downloads.create(catalog_ids=[product["id"]])
    signed = str(client.downloads.wait(download.id, timeout=60).signed_url)
    upstream = httpx.get(signed, headers={"Range": "bytes=1000-1999"}).content

    head = httpx.head(archive)
    assert head.status_code == 200 and int(head.headers["Content-Length"]) == product["size"] >= 25_000_000
    assert head.headers["Accept-Ranges"] == "bytes" and not head.content
    got = httpx.get(archive, headers={"Range": "bytes=1000-1999"})
    assert got.status_code == 206 and got.content == upstream
    assert got.headers["Content-Range"] == f"bytes 1000-1999/{product['size']}"
    tail = httpx.get(archive, headers={"Range": "bytes=-22"})
    assert tail.status_code == 206 and tail.content[:4] == b"PK\x05\x06"

    multi = httpx.get(archive, headers={"Range": "bytes=0-3,1000-1999"})
    assert multi.status_code == 206 and multi.headers["Content-Type"].startswith("multipart/byteranges")
    assert b"PK\x03\x04" in multi.content and upstream in multi.content
    assert f"Content-Range: bytes 1000-1999/{product['size']}".encode() in multi.content

    member = server.url(product["id"], product["member"])
    size = int(httpx.head(member).headers["Content-Length"])
    assert httpx.get(member, headers={"Range": "bytes=0-3"}).content in (b"II*\x00", b"MM\x00*")
    assert httpx.get(member, headers={"Range": f"bytes={size}-"}).status_code == 416

    assert httpx.get(archive + "?X-Pixxel-Signature=abc").status_code == 400
    wrong = archive.replace(server.token, "x" * len(server.token))
    assert httpx.get(wrong).status_code == 404
    assert httpx.head(server.url(product["id"], "nope.tif")).status_code == 404
    assert httpx.head(server.url("unknown-catalog-id", "a.tif")).status_code == 404
    with pytest.raises(px.InvalidInputError):
        LocalRangeServer(host="0.0.0.0")


@pytest.mark.parametrize("form", ["member", "vsizip"])
def test_gdal_36_tools_move_a_small_part_of_the_archive(
    big: Sandbox, server: LocalRangeServer, product: dict[str, Any], form: str, tmp_path: Path
) -> None:
    path = server.gdal_path(product["id"], product["member"], stored=form == "member")
    if form == "vsizip":
        assert path.startswith("/vsizip//vsicurl/http://127.0.0.1:") and "/catalogs.zip/" in path
    version = _system_gdal("gdalinfo", "--version").stdout
    assert version.startswith("GDAL 3."), version

    big.reset_requests()
    info = _system_gdal("gdalinfo", path)
    assert info.returncode == 0, info.stderr
    assert "Band 32 " in info.stdout and "Size is 1024, 1024" in info.stdout
    count, moved = _moved(big)
    assert moved <= 0.05 * product["size"], (count, moved, product["size"])

    big.reset_requests()
    out = tmp_path / "quicklook.tif"
    made = _system_gdal("gdal_translate", "-q", "-b", "1", "-b", "2", "-b", "3", "-outsize", "256", "0", path, str(out))
    assert made.returncode == 0, made.stderr
    count, moved = _moved(big)
    assert moved <= 0.05 * product["size"], (count, moved, product["size"])
    with rasterio.open(out) as quick:
        assert quick.count == 3 and quick.width == 256


def test_pixels_equal_open_raster(
    client: Any, server: LocalRangeServer, product: dict[str, Any], tmp_path: Path
) -> None:
    # GDAL 3.6 cuts a window through the server (a separate process: rasterio in this process would
    # hold the GIL while its GDAL waits on this process's server), rasterio reads it directly.
    path = server.gdal_path(product["id"], product["member"])
    out = tmp_path / "window.tif"
    made = _system_gdal("gdal_translate", "-q", "-srcwin", "300", "200", "128", "96", path, str(out))
    assert made.returncode == 0, made.stderr
    with rasterio.open(out) as through_server, px.open_raster(product["id"], client=client) as direct:
        assert through_server.count == direct.count
        np.testing.assert_array_equal(through_server.read(), direct.read(window=Window(300, 200, 128, 96)))


def test_reads_continue_after_the_url_expires(big: Sandbox, client: Any, product: dict[str, Any]) -> None:
    big.set_faults(url_lifetime=1.0)
    download = client.downloads.wait(client.downloads.create(catalog_ids=[product["id"]]).id, timeout=60)
    with LocalRangeServer(client=client) as srv:  # reads a download whose URLs live 1 s
        url = srv.url(download.id, product["member"], kind="downloads")
        first = httpx.get(url, headers={"Range": "bytes=0-65535"})
        assert first.status_code == 206
        time.sleep(1.5)
        big.reset_requests()
        again = httpx.get(url, headers={"Range": "bytes=65536-131071"})
        assert again.status_code == 206 and len(again.content) == 65536
    statuses = [r["status"] for r in big.requests(path_prefix="/files/")]
    assert 403 in statuses and statuses[-1] == 206, statuses  # refused, re-signed, served


def test_no_signature_reaches_gdal_even_when_the_file_server_fails(
    big: Sandbox, client: Any, product: dict[str, Any]
) -> None:
    with LocalRangeServer(client=client) as srv:
        path = srv.gdal_path(product["id"], product["member"])
        big.set_faults(server_errors=1000, server_error_status=503, server_error_prefix="/files/")
        run = _system_gdal("gdalinfo", path, env={"CPL_DEBUG": "ON", "CPL_CURL_VERBOSE": "YES"})
    assert run.returncode != 0
    assert "127.0.0.1" in run.stderr  # GDAL reports the local URL ...
    assert SIGNATURE not in run.stderr + run.stdout and "/files/" not in run.stderr  # ... never the signed one


def test_local_gdal_path_and_serve(client: Any, product: dict[str, Any]) -> None:
    path = local_gdal_path(product["id"], client=client)
    assert path.startswith("/vsicurl/http://127.0.0.1:") and path.endswith("/" + product["member"])
    assert px.serve(client) is px.serve(client)
    info = _system_gdal("gdalinfo", path)
    assert info.returncode == 0, info.stderr
    with pytest.raises(px.InvalidInputError):
        local_gdal_path("http://example.invalid/catalogs.zip?sig=1")


def test_cli_serve_prints_paths_that_gdal_36_opens(big: Sandbox, product: dict[str, Any]) -> None:
    env = {**os.environ, "PIXXEL_API_KEY": big.token, "PIXXEL_API_URL": big.url, "PYTHONPATH": str(REPO)}
    process = subprocess.Popen(
        [sys.executable, "-m", "pixxel_geo.cli", "serve", "--catalog", product["id"]],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=REPO,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        lines = [process.stdout.readline() for _ in range(2)]
        base = lines[0].split()[-1]
        assert base.startswith("http://127.0.0.1:"), lines
        path = lines[1].split()[-1]
        assert path.startswith("/vsicurl/" + base) and path.endswith(product["member"]), lines
        info = _system_gdal("gdalinfo", path)
        assert info.returncode == 0, info.stderr
    finally:
        process.terminate()
        _, err = process.communicate(timeout=30)
    assert process.returncode == 0, err
    assert SIGNATURE not in err and big.token not in err
