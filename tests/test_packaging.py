"""The wheel and the sdist carry the LICENSE and the package metadata (built with hatchling, no network)."""

from __future__ import annotations

import email
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("dist")
    subprocess.run([sys.executable, "-m", "hatchling", "build", "-d", str(out)], cwd=REPO, check=True,
                   capture_output=True)  # fmt: skip
    return {"wheel": next(out.glob("*.whl")), "sdist": next(out.glob("*.tar.gz"))}


def test_license_is_the_apache_2_text() -> None:
    text = (REPO / "LICENSE").read_text(encoding="utf-8")
    assert "Apache License" in text and "Version 2.0, January 2004" in text
    assert "END OF TERMS AND CONDITIONS" in text and len(text) > 10_000


def test_wheel_has_license_and_metadata(built: dict[str, Path]) -> None:
    with zipfile.ZipFile(built["wheel"]) as zf:
        names = zf.namelist()
        info = next(n for n in names if n.endswith(".dist-info/METADATA"))
        meta = email.message_from_bytes(zf.read(info))
        license_files = [n for n in names if n.endswith(".dist-info/licenses/LICENSE")]
        assert license_files and zf.read(license_files[0]) == (REPO / "LICENSE").read_bytes()
    assert meta["License-Expression"] == "Apache-2.0"
    assert meta["License-File"] == "LICENSE"
    assert "contributors" in (meta["Author"] or meta["Author-email"] or "")
    urls = dict(u.split(", ", 1) for u in meta.get_all("Project-URL"))
    assert {"Homepage", "Repository", "Issues"} <= set(urls)
    assert all(url.startswith("https://") for url in urls.values())
    classifiers = meta.get_all("Classifier")
    assert "Topic :: Scientific/Engineering :: GIS" in classifiers
    assert not [n for n in names if n.startswith(("tests/", "benchmarks/", "notebooks/"))]


def test_sdist_has_license_and_no_lock_files(built: dict[str, Path]) -> None:
    with tarfile.open(built["sdist"]) as tf:
        names = [n.split("/", 1)[1] for n in tf.getnames() if "/" in n]
    assert "LICENSE" in names and "pyproject.toml" in names
    assert not [n for n in names if n in ("package-lock.json", "package.json") or n.startswith(("notebooks/", ".ci/"))]
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc") or "/_vendor/" in n]
