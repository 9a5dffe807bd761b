"""Product layout settings: pixel-interleaved and DEFLATED-member products, on a launched sandbox."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import rasterio

from pixxel_geo.sandbox import Sandbox, SandboxSettings

from .sandbox_helpers import ready_url

LAYOUT_SETTINGS = SandboxSettings(
    bands=4, width=64, height=64, count=3, download_seconds=0.1, interleave="mixed", deflate_members=True
)


@pytest.fixture(scope="module")
def layout_sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    """A sandbox launched (through the CLI flags) with mixed interleave and DEFLATED members."""
    data_dir = tmp_path_factory.mktemp("layout-sandbox")
    with Sandbox.launch(data_dir=data_dir, token="layout-token-0123456789", settings=LAYOUT_SETTINGS) as sb:
        yield sb


def _archive(sb: Sandbox, catalog_id: str) -> zipfile.ZipFile:
    with httpx.Client(base_url=sb.url, headers={"Authorization": f"Bearer {sb.token}"}, timeout=30) as api:
        url = ready_url(api, [catalog_id])[1]
    return zipfile.ZipFile(io.BytesIO(httpx.get(url, timeout=30).content))


def _layout(zf: zipfile.ZipFile, tmp_path: Path) -> tuple[str, str, set[int]]:
    """(GeoTIFF interleave, the ENVI header's interleave, member compression methods)."""
    tif = next(n for n in zf.namelist() if n.endswith(".tif") and not n.endswith(".mask.tif"))
    zf.extract(tif, tmp_path)
    with rasterio.open(tmp_path / tif) as src:
        interleave = src.interleaving.name.lower()
    header = zf.read(next(n for n in zf.namelist() if n.endswith(".hdr"))).decode()
    return interleave, header, {i.compress_type for i in zf.infolist()}


def test_mixed_interleave_alternates_and_members_are_deflated(layout_sandbox: Sandbox, tmp_path: Path) -> None:
    info = layout_sandbox.info()
    assert info["settings"]["interleave"] == "mixed" and info["settings"]["deflate_members"] is True
    layouts = []
    for index, catalog_id in enumerate(info["catalog_ids"]):
        with _archive(layout_sandbox, catalog_id) as zf:
            layouts.append(_layout(zf, tmp_path / str(index)))
    assert [interleave for interleave, _, _ in layouts] == ["band", "pixel", "band"]
    envi = {"band": "bsq", "pixel": "bip"}
    assert all(f"interleave = {envi[interleave]}" in header for interleave, header, _ in layouts)
    assert all(methods == {zipfile.ZIP_DEFLATED} for _, _, methods in layouts)


def test_defaults_stay_band_interleaved_and_stored(sandbox: Sandbox, tmp_path: Path) -> None:
    assert sandbox.settings.interleave == "band" and not sandbox.settings.deflate_members
    with _archive(sandbox, sandbox.info()["catalog_ids"][1]) as zf:
        interleave, _, methods = _layout(zf, tmp_path)
    assert interleave == "band"
    assert methods == {zipfile.ZIP_STORED}


def test_layout_settings_are_checked_and_round_trip() -> None:
    with pytest.raises(ValueError, match="interleave must be one of band, pixel, mixed"):
        SandboxSettings(interleave="line")
    assert SandboxSettings.from_dict(LAYOUT_SETTINGS.to_dict()) == LAYOUT_SETTINGS
    assert [SandboxSettings(interleave="pixel").interleave_of(i) for i in range(2)] == ["pixel", "pixel"]
