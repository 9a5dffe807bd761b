"""Safe extraction: zip-slip, links, bombs and caps are refused before anything is written."""

from __future__ import annotations

import stat
import zipfile
from pathlib import Path

import pytest

from pixxel_geo.api.errors import IntegrityError, TransferError, UnsafeArchiveError
from pixxel_geo.transfer import safe_extract
from pixxel_geo.transfer.extract import holds_archive


def make_zip(path: Path, members: list[tuple[zipfile.ZipInfo | str, bytes]]) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for info, data in members:
            archive.writestr(info, data)
    return path


def assert_nothing_extracted(tmp_path: Path, archive: Path) -> None:
    assert sorted(p.name for p in tmp_path.iterdir()) == [archive.name]


def test_good_archive_is_extracted_into_place(tmp_path: Path) -> None:
    archive = make_zip(tmp_path / "p.zip", [("a.tif", b"tif"), ("sub/b.json", b"{}")])
    files = safe_extract(archive, tmp_path / "p")
    assert files == [tmp_path / "p" / "a.tif", tmp_path / "p" / "sub" / "b.json"]
    assert (tmp_path / "p" / "sub" / "b.json").read_bytes() == b"{}"
    with pytest.raises(TransferError, match="overwrite"):
        safe_extract(archive, tmp_path / "p")
    (tmp_path / "p" / "stale.txt").write_text("old")
    safe_extract(archive, tmp_path / "p", overwrite=True)
    assert not (tmp_path / "p" / "stale.txt").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p", "p.zip"]  # no staging left


@pytest.mark.parametrize("name", ["../evil.txt", "ok/../../evil.txt", "/etc/evil", "C:\\evil"])
def test_paths_escaping_the_target_are_refused(tmp_path: Path, name: str) -> None:
    archive = make_zip(tmp_path / "p.zip", [("fine.txt", b"x"), (name, b"evil")])
    with pytest.raises(UnsafeArchiveError) as caught:
        safe_extract(archive, tmp_path / "p")
    assert repr(name) in str(caught.value)
    assert_nothing_extracted(tmp_path, archive)


def test_symlink_members_are_refused(tmp_path: Path) -> None:
    link = zipfile.ZipInfo("link.tif")
    link.external_attr = (stat.S_IFLNK | 0o777) << 16
    archive = make_zip(tmp_path / "p.zip", [(link, b"/etc/passwd")])
    with pytest.raises(UnsafeArchiveError, match="symbolic link") as caught:
        safe_extract(archive, tmp_path / "p")
    assert "'link.tif'" in str(caught.value)
    assert_nothing_extracted(tmp_path, archive)


def test_zip_bomb_is_refused(tmp_path: Path) -> None:
    bomb = zipfile.ZipInfo("bomb.bin")
    bomb.compress_type = zipfile.ZIP_DEFLATED
    archive = make_zip(tmp_path / "p.zip", [(bomb, bytes(50 << 20))])
    assert archive.stat().st_size < 1 << 20
    with pytest.raises(UnsafeArchiveError, match="zip bomb") as caught:
        safe_extract(archive, tmp_path / "p")
    assert "'bomb.bin'" in str(caught.value)
    assert_nothing_extracted(tmp_path, archive)


def test_total_size_cap_is_enforced(tmp_path: Path) -> None:
    archive = make_zip(tmp_path / "p.zip", [("a", bytes(1000)), ("b", bytes(1000))])
    with pytest.raises(UnsafeArchiveError, match="cap") as caught:
        safe_extract(archive, tmp_path / "p", max_total=1500)
    assert "'b'" in str(caught.value)
    assert_nothing_extracted(tmp_path, archive)


def test_corrupt_archive_is_an_integrity_error(tmp_path: Path) -> None:
    archive = tmp_path / "p.zip"
    archive.write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(IntegrityError, match="not a valid zip"):
        safe_extract(archive, tmp_path / "p")
    assert_nothing_extracted(tmp_path, archive)


def test_an_extracted_folder_is_recognised_only_while_it_holds_the_archive(tmp_path: Path) -> None:
    archive = make_zip(tmp_path / "p.zip", [("a.tif", b"tif"), ("sub/b.json", b"{}"), ("sub/", b"")])
    safe_extract(archive, tmp_path / "p")
    assert holds_archive(tmp_path / "p", archive)

    (tmp_path / "p" / "a.tif").write_bytes(b"changed size")
    assert not holds_archive(tmp_path / "p", archive)
    (tmp_path / "p" / "a.tif").unlink()
    assert not holds_archive(tmp_path / "p", archive)
    newer = make_zip(tmp_path / "q.zip", [("a.tif", b"tif"), ("sub/b.json", b"{}"), ("c.tif", b"new")])
    assert not holds_archive(tmp_path / "p", newer)
    assert not holds_archive(tmp_path / "p", tmp_path / "missing.zip")
