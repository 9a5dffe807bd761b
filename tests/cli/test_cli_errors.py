"""No traceback without --debug: every failure is one clear line, bad values are refused before any request."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from pixxel_geo.cli import main
from tests.cli.cli_helpers import run


def one_line_error(code: int, err: str) -> None:
    assert code == 1, err
    assert err.startswith("error: ") and err.count("\n") == 1, err
    assert "Traceback" not in err


@pytest.mark.parametrize(
    ("url", "says"),
    [("http://127.0.0.1:abc", "port"), ("http://127.0.0.1:99999", "port"), ("https://api.pixxel .space", "space")],
)
def test_bad_api_url_is_one_line(env, capsys, url, says):
    code, out, err = run(capsys, "--api-url", url, "stores", "list")
    one_line_error(code, err)
    assert "API URL" in err and says in err and out == ""


def test_a_key_with_a_newline_is_named_not_blamed_on_the_network(env, capsys, monkeypatch):
    monkeypatch.setenv("PIXXEL_API_KEY", env.token + "\n" + "second-line")
    code, _, err = run(capsys, "stores", "list")
    one_line_error(code, err)
    assert "API key" in err and "network" not in err and "second-line" not in err


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["catalogs", "search", "--sort", ""], "sort_by"),
        (["catalogs", "search", "--datetime", "garbage"], "RFC 3339"),
        (["catalogs", "search", "--datetime", "2024-01-01T00:00:00Z/yesterday"], "RFC 3339"),
        (["deliveries", "list", "--delivery-id", "a/b"], "not a valid id"),
        (["deliveries", "list", "--catalog-id", "../stores"], "not a valid id"),
        (["catalogs", "show", "a/b"], "not a valid id"),
        (["download", "--catalog", "c1", "--dest", ""], "dest"),
        (["download", "--catalog", "c1", "--dest", "/sys/pixxel-test"], "cannot write"),
    ],
)
def test_bad_values_are_refused_before_any_request(env, capsys, argv, says):
    code, out, err = run(capsys, *argv)
    one_line_error(code, err)
    assert says in err and out == ""


def test_download_into_a_file_is_refused_before_anything_is_created(env, capsys, tmp_path):
    a_file = tmp_path / "f"
    a_file.write_text("x")
    code, _, err = run(capsys, "download", "--catalog", "c1", "--dest", str(a_file))
    one_line_error(code, err)
    assert "not a folder" in err and a_file.read_text() == "x"


@pytest.mark.parametrize(
    "argv",
    [
        ["catalogs", "search", "--max-cloud-cover", "-5"],
        ["catalogs", "search", "--max-cloud-cover", "101"],
        ["catalogs", "search", "--max-cloud-cover", "nan"],
        ["catalogs", "search", "--max-items", "0"],
        ["deliver", "--store", "s", "--catalog", "c", "--wait", "--timeout", "-1"],
        ["deliver", "--store", "s", "--catalog", "c", "--wait", "--timeout", "nan"],
        ["link", "--catalog", "c", "--timeout", "-1"],
        ["deliveries", "wait", "d", "--timeout", "inf-ish"],
        ["--timeout", "0", "stores", "list"],
        ["--timeout", "-3", "stores", "list"],
    ],
)
def test_bad_numbers_are_usage_errors_before_any_request(env, capsys, argv):
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and "error:" in err


def test_deliver_with_a_bad_wait_timeout_creates_nothing(env, capsys):
    catalog_id = json.loads(run(capsys, "catalogs", "search", "--json")[1])[0]["id"]
    before = json.loads(run(capsys, "deliveries", "list", "--catalog-id", catalog_id, "--json")[1])
    with pytest.raises(SystemExit):
        main(["deliver", "--store", "s-none", "--catalog", catalog_id, "--wait", "--timeout", "-1"])
    after = json.loads(run(capsys, "deliveries", "list", "--catalog-id", catalog_id, "--json")[1])
    assert after == before


@pytest.mark.timeout(60)
def test_waiting_for_an_unknown_delivery_fails_fast(env, capsys):
    started = time.monotonic()
    code, _, err = run(capsys, "deliveries", "wait", "no-such-delivery")
    one_line_error(code, err)
    assert "no-such-delivery" in err and "deliveries list" in err
    assert time.monotonic() - started < 30  # not the 3,600 s default


def test_sandbox_with_a_port_out_of_range_is_a_usage_error():
    result = subprocess.run(
        [sys.executable, "-W", "error", "-m", "pixxel_geo.cli", "sandbox", "--port", "-1"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2 and "Traceback" not in result.stderr  # refused before any socket is made
    assert "-1 is not a port number: use 0-65535" in result.stderr


def test_deliveries_open_without_cloud_credentials_is_one_line(env, capsys, monkeypatch, tmp_path):
    for name in list(os.environ):
        if name.startswith("AWS_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("CLI_OPEN_SECRET", "s")
    code, out, _ = run(
        capsys, "stores", "create", "--name", "open-no-creds", "--type", "S3", "--bucket", "no-creds-bucket",
        "--region", "us-east-1", "--secret", "secret_access_key=CLI_OPEN_SECRET",
    )  # fmt: skip
    store_id = out.strip()
    catalog_id = json.loads(run(capsys, "catalogs", "search", "--json")[1])[0]["id"]
    code, out, err = run(capsys, "deliver", "--store", store_id, "--catalog", catalog_id, "--wait", "--json")
    assert code == 0, err
    delivery_id = json.loads(out)[0]["delivery_id"]
    code, _, err = run(capsys, "deliveries", "open", delivery_id)
    one_line_error(code, err)
    assert "credentials" in err.lower() and "--storage-option" in err


BLOCKER = textwrap.dedent(
    """
    import importlib.abc, sys
    BLOCKED = {"numpy", "rasterio", "fsspec", "xarray", "starlette", "uvicorn", "s3fs", "gcsfs", "adlfs", "PIL"}

    class Block(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in BLOCKED:
                raise ModuleNotFoundError(f"No module named {name!r}", name=name)
            return None

    sys.meta_path.insert(0, Block())
    """
)


@pytest.mark.parametrize(
    ("argv", "extra"),
    [(["sandbox"], "sandbox"), (["demo", "--out", "OUT"], "sandbox"), (["deliveries", "open", "d1"], "stores")],
)
def test_a_core_only_install_says_which_extra_to_install(tmp_path, argv, extra):
    (tmp_path / "sitecustomize.py").write_text(BLOCKER)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), str(Path.cwd()), os.environ.get("PYTHONPATH", "")]),
           "PIXXEL_API_KEY": "k", "PIXXEL_API_URL": "http://127.0.0.1:9"}  # fmt: skip
    argv = [str(tmp_path / "out") if a == "OUT" else a for a in argv]
    result = subprocess.run(
        [sys.executable, "-m", "pixxel_geo.cli", *argv],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        cwd=tmp_path,
    )
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr and "ModuleNotFoundError" not in result.stderr
    assert f"pixxel-geo[{extra}]" in result.stderr


def test_open_raster_without_the_io_extra_names_it(tmp_path):
    (tmp_path / "sitecustomize.py").write_text(BLOCKER)
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(tmp_path), str(Path.cwd()), os.environ.get("PYTHONPATH", "")]),
    }
    code = "import pixxel_geo as px\ntry:\n    px.open_raster\nexcept px.PixxelError as e:\n    print('PX', e)\n"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, env=env)
    assert "PX" in result.stdout and "pixxel-geo[io]" in result.stdout, result.stderr


def test_a_closed_pipe_is_not_a_traceback(env):
    process = subprocess.Popen(
        [sys.executable, "-m", "pixxel_geo.cli", "catalogs", "search", "--json"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    assert process.stdout is not None and process.stderr is not None
    process.stdout.close()  # `| head -c 0`: the reader is gone before the first byte is written
    with process.stderr:
        err = process.stderr.read().decode()
    process.wait(timeout=60)
    assert "Traceback" not in err and "BrokenPipe" not in err
    assert process.returncode in (0, 141)


def test_an_unexpected_error_is_one_line_and_raises_with_debug(monkeypatch, capsys):
    from pixxel_geo.cli import commands

    def broken(client, args):
        raise RuntimeError("boom at https://h/x?X-Pixxel-Signature=abc\nsecond line")

    monkeypatch.setattr(commands, "stores_list", broken)
    monkeypatch.setenv("PIXXEL_API_KEY", "k")
    code, _, err = run(capsys, "stores", "list")
    one_line_error(code, err)
    assert "RuntimeError" in err and "--debug" in err and "X-Pixxel-Signature" not in err
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    try:
        with pytest.raises(RuntimeError):
            main(["--debug", "stores", "list"])
    finally:  # --debug configured logging for the process: undo it for the tests that follow
        root.handlers[:], root.level = handlers, level
