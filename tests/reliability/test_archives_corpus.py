"""A corpus of malicious and malformed archives: each is refused with a PixxelError, before anything is written.

Also: several processes extracting one archive into one folder at once all end with the complete folder.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import warnings
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest

import pixxel_geo as px
from pixxel_geo.transfer import safe_extract
from pixxel_geo.transfer.extract import extract_once

REPO_ROOT = Path(__file__).resolve().parents[2]
Member = tuple[zipfile.ZipInfo | str, bytes]


def make_zip(path: Path, members: list[Member], compression: int = zipfile.ZIP_STORED) -> Path:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns about the duplicate names we write on purpose
        with zipfile.ZipFile(path, "w", compression=compression) as archive:
            for info, data in members:
                archive.writestr(info, data)
    return path


def _info(name: str, mode: int | None = None) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name)
    if mode is not None:
        info.external_attr = mode << 16
    return info


def _dir_entry(name: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name)
    info.external_attr = (stat.S_IFDIR | 0o755) << 16
    return info


def _empty_name() -> list[Member]:
    info = zipfile.ZipInfo("placeholder")
    info.filename = ""  # ZipInfo refuses nothing once built
    return [("ok.txt", b"x"), (info, b"nameless")]


def _many_small_members() -> list[Member]:
    # The reproduction, scaled down: members just under the 1 MiB per-member ratio check.
    return [(f"m{i:03}.bin", bytes((1 << 20) - 1)) for i in range(100)]


CORPUS: dict[str, tuple[Callable[[], list[Member]], int, str]] = {
    "many small deflated members": (_many_small_members, zipfile.ZIP_DEFLATED, "overall: a zip bomb"),
    "duplicate name": (lambda: [("a.tif", b"1"), ("a.tif", b"2")], zipfile.ZIP_STORED, "appears twice"),
    "names differing in case": (lambda: [("A.tif", b"1"), ("a.tif", b"2")], zipfile.ZIP_STORED, "appears twice"),
    "file then folder of that name": (
        lambda: [("a", b"file"), ("a/b.txt", b"x")],
        zipfile.ZIP_STORED,
        "needs 'a' as a folder",
    ),
    "folder then file of that name": (
        lambda: [("a/b.txt", b"x"), ("a", b"file")],
        zipfile.ZIP_STORED,
        "is a file and also a folder",
    ),
    "folder entry and file": (lambda: [(_dir_entry("a/"), b""), ("a", b"file")], zipfile.ZIP_STORED, "also a folder"),
    "empty name": (_empty_name, zipfile.ZIP_STORED, "empty name"),
    "dot": (lambda: [(".", b"x")], zipfile.ZIP_STORED, "empty name"),
    "dot folder": (lambda: [(_dir_entry("./"), b"")], zipfile.ZIP_STORED, "empty name"),
    "300-character name": (lambda: [("n" * 300 + ".tif", b"x")], zipfile.ZIP_STORED, "longer than 255 bytes"),
    "path too long": (
        lambda: [("/".join(["d" * 200] * 25) + "/f.tif", b"x")],
        zipfile.ZIP_STORED,
        "too long for the file system",
    ),
    "zip-slip": (lambda: [("ok/../../evil.txt", b"evil")], zipfile.ZIP_STORED, "zip-slip"),
    "absolute path": (lambda: [("/etc/evil", b"evil")], zipfile.ZIP_STORED, "absolute path"),
    "drive letter": (lambda: [("C:\\evil", b"evil")], zipfile.ZIP_STORED, "absolute path"),
    "symlink": (lambda: [(_info("l.tif", stat.S_IFLNK | 0o777), b"/etc/passwd")], zipfile.ZIP_STORED, "symbolic"),
    "fifo": (lambda: [(_info("f", stat.S_IFIFO | 0o644), b"")], zipfile.ZIP_STORED, "special file"),
    "single bomb member": (lambda: [("bomb.bin", bytes(20 << 20))], zipfile.ZIP_DEFLATED, "zip bomb"),
}


@pytest.mark.parametrize("case", sorted(CORPUS))
def test_malicious_archive_is_refused_before_writing(tmp_path: Path, case: str) -> None:
    build, compression, message = CORPUS[case]
    archive = make_zip(tmp_path / "p.zip", build(), compression)
    before = sorted(os.listdir(tmp_path))
    with pytest.raises(px.UnsafeArchiveError, match=message) as caught:
        safe_extract(archive, tmp_path / "p")
    assert isinstance(caught.value, px.PixxelError)
    assert "Nothing was extracted" in str(caught.value)
    assert sorted(os.listdir(tmp_path)) == before  # no target, no staging, no lock file


def test_member_count_is_capped(tmp_path: Path) -> None:
    archive = make_zip(tmp_path / "p.zip", [(f"f{i}", b"") for i in range(51)])
    with pytest.raises(px.UnsafeArchiveError, match="51 members, more than the 50"):
        safe_extract(archive, tmp_path / "p", max_members=50)
    assert safe_extract(archive, tmp_path / "p", max_members=51)[0].name == "f0"


def test_a_missing_archive_is_a_pixxel_error(tmp_path: Path) -> None:
    with pytest.raises(px.TransferError, match="does not exist"):
        safe_extract(tmp_path / "missing.zip", tmp_path / "p")
    assert os.listdir(tmp_path) == []


_EXTRACT = """
import json, sys
from pathlib import Path
from pixxel_geo.api.errors import PixxelError
from pixxel_geo.transfer.extract import extract_once, safe_extract
function = extract_once if sys.argv[3] == "once" else safe_extract
try:
    files = function(Path(sys.argv[1]), Path(sys.argv[2]))
    print(json.dumps({"files": len(files)}))
except PixxelError as exc:
    print(json.dumps({"error": type(exc).__name__, "message": str(exc)}))
"""


def _extract_at_once(archive: Path, target: Path, how: str, n: int) -> list[dict[str, object]]:
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    children = [
        subprocess.Popen(
            [sys.executable, "-c", _EXTRACT, str(archive), str(target), how],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
        )
        for _ in range(n)
    ]
    results = []
    for child in children:
        out, err = child.communicate(timeout=120)
        assert child.returncode == 0, err.decode()  # no traceback: nothing but a PixxelError escaped
        results.append(json.loads(out))
    return results


@pytest.mark.parametrize("how", ["once", "safe"])
def test_concurrent_extractions_into_one_folder_are_safe_and_complete(tmp_path: Path, how: str) -> None:
    members: list[Member] = [(f"band{i:03}/data.bin", os.urandom(32 * 1024)) for i in range(300)]
    archive = make_zip(tmp_path / "p.zip", members)
    target = tmp_path / "p"
    results = _extract_at_once(archive, target, how, 4)
    extracted = [r for r in results if "files" in r]
    assert extracted and all(r["files"] == len(members) for r in extracted)
    if how == "once":
        assert len(extracted) == 4  # the others waited and kept the complete folder
    else:
        refused = [r for r in results if "error" in r]
        assert all(r["error"] == "TransferError" and "already exists" in str(r["message"]) for r in refused)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p", "p.zip"]
    for name, data in members:
        assert (target / str(name)).read_bytes() == data


def test_extract_once_keeps_a_folder_holding_the_archive(tmp_path: Path) -> None:
    archive = make_zip(tmp_path / "p.zip", [("a.tif", b"tif")])
    first = extract_once(archive, tmp_path / "p")
    mtime = (tmp_path / "p" / "a.tif").stat().st_mtime_ns
    assert extract_once(archive, tmp_path / "p") == first
    assert (tmp_path / "p" / "a.tif").stat().st_mtime_ns == mtime


def test_leftovers_of_another_target_with_a_longer_name_are_not_touched(tmp_path: Path) -> None:
    archive = make_zip(tmp_path / "p.zip", [("a.tif", b"tif")])
    theirs = tmp_path / ".pixxel-extract-p-2-abcd1234"  # staging of a target named "p-2", maybe in use
    theirs.mkdir()
    mine = tmp_path / ".pixxel-extract-p-abcd1234"  # left by a killed extraction into "p"
    mine.mkdir()
    safe_extract(archive, tmp_path / "p")
    assert theirs.is_dir() and not mine.exists()
