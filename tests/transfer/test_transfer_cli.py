"""``pixxel-geo download`` end to end against the sandbox, and the progress renderer."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest

from pixxel_geo.api.events import Failed, Progress, Started, StateChanged
from pixxel_geo.cli import main
from pixxel_geo.cli.progress import ProgressRenderer
from pixxel_geo.transfer import FileFinished


@pytest.fixture
def cli_env(sandbox: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("PIXXEL_API_KEY", sandbox.token)
    monkeypatch.setenv("PIXXEL_API_URL", sandbox.url)
    return sandbox


def test_cli_download_json_summary_then_skip(
    cli_env: Any, client: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    catalog_id = next(iter(client.catalogs.search(limit=1))).id
    argv = ["download", "--catalog", catalog_id, "--dest", str(tmp_path), "--connections", "3", "--json"]
    assert main(argv) == 0
    summary = json.loads(capsys.readouterr().out)
    [item] = summary["files"]
    assert item["path"] == str(tmp_path / f"pixxel-{catalog_id}.zip")
    assert item["verified"] == "sha-256" and not item["skipped"]
    assert item["size"] == Path(item["path"]).stat().st_size > 0

    assert main(argv) == 0
    again = json.loads(capsys.readouterr().out)
    assert again["files"][0]["skipped"] is True


def test_cli_download_extract_human_summary(
    cli_env: Any, client: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    catalog_id = next(iter(client.catalogs.search(limit=1))).id
    assert main(["download", "--catalog", catalog_id, "--dest", str(tmp_path), "--extract"]) == 0
    out = capsys.readouterr().out
    assert "sha-256 verified" in out and "MB/s" in out
    assert ".tif" in out  # the extracted files are listed
    assert (tmp_path / f"pixxel-{catalog_id}").is_dir()


def test_cli_rejects_bad_arguments(cli_env: Any, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["download", "--catalog", "x", "--order-item", "y"])
    assert caught.value.code == 2
    with pytest.raises(SystemExit):
        main(["download", "--catalog", "x", "--connections", "0"])
    assert "from 1 to 64" in capsys.readouterr().err


def test_renderer_draws_bars_and_keeps_finished_files() -> None:
    stream = io.StringIO()
    renderer = ProgressRenderer(stream=stream, disable=False)
    renderer(StateChanged(subject="d-1", status="in_progress"))
    renderer(Started(subject="a.zip", total=1000))
    renderer(Progress(subject="a.zip", done=400, total=1000))
    renderer(StateChanged(subject="a.zip", status="verifying"))
    renderer(FileFinished(subject="a.zip", path="/x/a.zip", size=1000, fetched=1000, seconds=1.0))
    renderer(Started(subject="b.zip", total=10))
    renderer(Failed(subject="b.zip", error="boom"))
    renderer.close()
    text = stream.getvalue()
    assert "d-1: in_progress" in text
    assert "a.zip" in text and "verifying" in text
    assert [e.path for e in renderer.finished] == ["/x/a.zip"]
