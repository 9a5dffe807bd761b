"""The pixxel-geo command line against the sandbox: output, --json, exit codes, errors."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from pixxel_geo.cli import build_parser, main
from tests.cli.cli_helpers import run


def test_catalogs_search_and_show(env, capsys):
    code, out, _ = run(capsys, "catalogs", "search", "--json")
    assert code == 0
    catalogs = json.loads(out)
    assert len(catalogs) >= 5 and all("details" in c for c in catalogs)
    code, out, _ = run(capsys, "catalogs", "search", "--max-cloud-cover", "5")
    assert code == 0 and "CLOUD %" in out
    clear = [c for c in catalogs if c["details"]["properties"]["eo:cloud_cover"] <= 5]
    assert len(out.strip().splitlines()) == 1 + len(clear)
    code, out, _ = run(capsys, "catalogs", "show", catalogs[0]["id"])
    assert code == 0 and "wavelengths" in out and catalogs[0]["id"] in out


def test_store_secrets_never_come_from_the_command_line(env, capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("CLI_TEST_KEY_ID", "AKIA-from-env")
    secrets_file = tmp_path / "secrets.json"
    secrets_file.write_text('{"secret_access_key": "from-file"}')
    args = build_parser().parse_args(
        ["stores", "create", "--name", "n", "--type", "S3", "--bucket", "b", "--region", "r",
         "--secret", "access_key_id=CLI_TEST_KEY_ID", "--secrets-file", str(secrets_file)]
    )  # fmt: skip
    from pixxel_geo.cli.commands import _store_secrets

    assert _store_secrets(args) == {"access_key_id": "AKIA-from-env", "secret_access_key": "from-file"}
    code, _, err = run(
        capsys, "stores", "create", "--name", "n", "--type", "S3", "--bucket", "b", "--region", "r",
        "--secret", "access_key_id=NOT_SET_ANYWHERE_42",
    )  # fmt: skip
    assert code == 1 and "NOT_SET_ANYWHERE_42" in err and "not set" in err


def test_global_timeout_and_wait_timeout_are_separate():
    args = build_parser().parse_args(
        ["--timeout", "5", "deliver", "--store", "s", "--catalog", "c", "--timeout", "100"]
    )
    assert args.http_timeout == 5 and args.wait_timeout == 100


def test_store_deliver_and_wait(env, capsys, monkeypatch):
    monkeypatch.setenv("CLI_TEST_SECRET", "B")
    code, out, _ = run(
        capsys, "stores", "create", "--name", "cli-store", "--type", "s3", "--bucket", "cli-bucket",
        "--region", "us-east-1", "--secret", "secret_access_key=CLI_TEST_SECRET",
    )  # fmt: skip
    assert code == 0
    store_id = out.strip()
    code, out, _ = run(capsys, "stores", "list", "--json")
    stored = next(s for s in json.loads(out) if s["id"] == store_id)
    assert "secrets" not in stored  # write-only
    catalog_id = json.loads(run(capsys, "catalogs", "search", "--json")[1])[0]["id"]
    code, out, err = run(capsys, "deliver", "--store", store_id, "--catalog", catalog_id, "--wait", "--json")
    assert code == 0
    [delivery] = json.loads(out)
    assert delivery["status"] == "SUCCESS" and "SUCCESS" in err
    code, out, _ = run(capsys, "deliveries", "list", "--catalog-id", catalog_id)
    assert code == 0 and delivery["delivery_id"] in out
    code, out, _ = run(capsys, "deliveries", "wait", delivery["delivery_id"], "--json")
    assert json.loads(out)[0]["delivery_id"] == delivery["delivery_id"]
    assert run(capsys, "stores", "delete", store_id)[0] == 0


def test_link_hides_the_signature(env, capsys):
    catalog_id = json.loads(run(capsys, "catalogs", "search", "--json")[1])[0]["id"]
    code, out, _ = run(capsys, "link", "--catalog", catalog_id)
    assert code == 0 and "/files/" in out and "expires" in out
    assert "Signature" not in out and "X-Pixxel" not in out


def test_errors_are_one_line_with_exit_1(env, capsys, monkeypatch):
    monkeypatch.setenv("PIXXEL_API_KEY", "wrong-token")
    code, out, err = run(capsys, "stores", "list")
    assert code == 1 and out == ""
    assert err.startswith("error: ") and err.count("\n") == 1
    assert "wrong-token" not in err


def test_bad_input_is_exit_1_before_any_request(env, capsys):
    code, _, err = run(capsys, "catalogs", "search", "--bbox", "0", "10", "1", "5")
    assert code == 1 and "south <= north" in err


def test_usage_errors_exit_2(capsys):
    with pytest.raises(SystemExit) as info:
        main(["deliver", "--store", "s"])  # neither --catalog nor --order-item
    assert info.value.code == 2


def test_every_reading_command_has_json():
    parser = build_parser()
    for argv in (["stores", "list"], ["catalogs", "search"], ["catalogs", "show", "x"], ["deliveries", "list"],
                 ["deliveries", "wait", "d"], ["link", "--catalog", "c"]):  # fmt: skip
        assert parser.parse_args([*argv, "--json"]).json is True


def test_console_script_runs(env):
    result = subprocess.run(
        [sys.executable, "-m", "pixxel_geo.cli", "catalogs", "search", "--max-items", "2", "--json"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert len(json.loads(result.stdout)) == 2
