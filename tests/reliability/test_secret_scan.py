"""A secret scan of every CLI output stream (and the files a download writes), with and without --debug.

Each command runs as its own process against the session sandbox, as a user would run
it; stdout and stderr are searched for the API token, a store secret, the wrong token
of a failed call, and signed URLs' query strings.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

STORE_SECRET = "store-secret-value-7f3a9c"
WRONG_TOKEN = "pat_wrong-token-5e1d0b"
SIGNATURE_MARKS = ("X-Pixxel-Signature", "X-Pixxel-Expires=", "Signature=")


def cli(sandbox, *argv: str, token: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PIXXEL_API_KEY": token or sandbox.token, "PIXXEL_API_URL": sandbox.url,
           "SCAN_STORE_SECRET": STORE_SECRET}  # fmt: skip
    return subprocess.run(
        [sys.executable, "-m", "pixxel_geo.cli", *argv], capture_output=True, text=True, timeout=120, env=env
    )


def leaks(text: str, sandbox) -> list[str]:
    found = [s for s in (sandbox.token, STORE_SECRET, WRONG_TOKEN) if s in text]
    return found + [mark for mark in SIGNATURE_MARKS if mark in text]


@pytest.fixture(scope="module")
def ids(sandbox) -> dict[str, str]:
    result = cli(sandbox, "catalogs", "search", "--json", "--max-items", "1")
    assert result.returncode == 0, result.stderr
    return {"catalog": json.loads(result.stdout)[0]["id"]}


@pytest.mark.parametrize("debug", [[], ["--debug"]], ids=["plain", "debug"])
def test_no_command_prints_a_secret(sandbox, ids, tmp_path, debug):
    catalog = ids["catalog"]
    streams: dict[str, str] = {}

    def scan(name: str, *argv: str, token: str | None = None, expect: int = 0) -> subprocess.CompletedProcess[str]:
        result = cli(sandbox, *debug, *argv, token=token)
        streams[name] = result.stdout + result.stderr
        assert result.returncode == expect, (name, result.stderr[-2000:])
        return result

    made = scan("stores create", "stores", "create", "--name", f"scan{len(debug)}", "--type", "S3",
                "--bucket", "scan-bucket", "--region", "us-east-1", "--secret", "secret_access_key=SCAN_STORE_SECRET",
                "--json")  # fmt: skip
    store_id = json.loads(made.stdout)["id"]
    scan("stores list", "stores", "list", "--json")
    scan("catalogs search", "catalogs", "search")
    scan("catalogs show", "catalogs", "show", catalog, "--json")
    scan("link", "link", "--catalog", catalog)
    scan("link --json", "link", "--catalog", catalog, "--json")
    scan("download", "download", "--catalog", catalog, "--dest", str(tmp_path / "dl"), "--json")
    delivered = scan("deliver", "deliver", "--store", store_id, "--catalog", catalog, "--wait", "--json")
    delivery_id = json.loads(delivered.stdout)[0]["delivery_id"]
    scan("deliveries list", "deliveries", "list", "--delivery-id", delivery_id)
    scan("deliveries wait", "deliveries", "wait", delivery_id)
    scan("wrong token", "stores", "list", token=WRONG_TOKEN, expect=1)
    scan("not found", "catalogs", "show", "no-such-catalog", expect=1)
    scan("unknown delivery", "deliveries", "wait", "no-such-delivery", expect=1)
    scan("stores delete", "stores", "delete", store_id)

    found = {name: leaks(text, sandbox) for name, text in streams.items()}
    assert not any(found.values()), found
    assert len(streams) == 14 and all(streams.values())  # every stream was captured and said something

    written = [p for p in (tmp_path / "dl").rglob("*") if p.is_file() and p.suffix != ".zip"]
    for path in written:
        assert not leaks(path.read_text(errors="replace"), sandbox), path
    assert any(p.suffix == ".zip" for p in (tmp_path / "dl").rglob("*"))


def test_show_url_is_the_one_way_to_print_a_signed_url(sandbox, ids):
    result = cli(sandbox, "link", "--catalog", ids["catalog"], "--show-url")
    assert result.returncode == 0 and "X-Pixxel-Signature" in result.stdout  # the scan above would notice one
    assert sandbox.token not in result.stdout + result.stderr


def test_scan_finds_what_it_looks_for(sandbox):
    assert leaks(f"Authorization: Bearer {sandbox.token}", sandbox) == [sandbox.token]
    assert leaks("https://h/f.zip?X-Pixxel-Expires=1&X-Pixxel-Signature=abc", sandbox)
    assert not leaks("https://h/f.zip?…", sandbox)
