"""Edge cases of ranged member reads against the range server: empty and past-the-end ranges,
seek semantics, malformed zip64 fields."""

from __future__ import annotations

import contextlib
import io
import struct
import tracemalloc
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest

from pixxel_geo.api.errors import TransferError
from pixxel_geo.io.archive import ZipArchive, archive_for
from pixxel_geo.io.reader import RangeReader, StaticURLSource
from pixxel_geo.io.session import IOSession
from pixxel_geo.io.zipindex import DeflatedMemberWarning, ZipFormatError

from .io_helpers import MountedFileSystem, mount

DATA = bytes(range(256)) * 400


@pytest.fixture(scope="module")
def edge_zip(range_server: str, served_dir: Path) -> str:
    """URL of a STORED zip with one member ``data.bin`` (:data:`DATA`), served by range."""
    with zipfile.ZipFile(served_dir / "edges.zip", "w", zipfile.ZIP_STORED) as zf:
        zf.writestr("data.bin", DATA)
    return f"{range_server}/edges.zip"


def test_read_ranges_answers_empty_ranges_without_a_request(edge_zip: str) -> None:
    reader = RangeReader(StaticURLSource(edge_zip))
    assert reader.read_ranges([(5, 5)]) == [b""]
    assert reader.read_ranges([(10, 5)]) == [b""]
    assert reader.requests == 0
    assert reader.read_ranges([(0, 4), (7, 7), (20, 10)]) == [b"PK\x03\x04", b"", b""]
    size = reader.get_size()
    assert reader.read_ranges([(size - 2, size + 50), (size + 5, size + 9)]) == [reader.read(size - 2, size), b""]


def test_member_ranges_past_the_end_are_empty(edge_zip: str) -> None:
    archive = ZipArchive(StaticURLSource(edge_zip))
    size = len(DATA)
    with archive.open("data.bin") as f:
        assert f.get_byte_ranges([size + 10], [5]) == [b""]
        assert f.get_byte_ranges([size - 3, 0, 100], [10, 0, 5]) == [DATA[-3:], b"", DATA[100:105]]


def test_cat_ranges_gives_empty_bytes_for_empty_and_past_end_ranges(edge_zip: str) -> None:
    mount("edge-zips", lambda rid: archive_for(StaticURLSource(edge_zip)))
    fs = MountedFileSystem(api_key="unused", base_url="http://127.0.0.1:9", skip_instance_cache=True)
    path = "edge-zips/one/data.bin"
    size = len(DATA)
    assert fs.cat_ranges([path], [10], [10]) == [b""]
    assert fs.cat_ranges([path, path], [size + 5, 2], [size + 9, 6]) == [b"", DATA[2:6]]
    assert fs.cat_file(path, size + 5, size + 9) == b""


def test_cat_ranges_returns_a_read_failure_when_asked_to(range_server: str) -> None:
    archive = ZipArchive(StaticURLSource(f"{range_server}/edges.zip"))
    archive.data_range("data.bin")
    archive.reader.use_source(StaticURLSource(f"{range_server}/gone.zip"))  # gone after the directory was read
    mount("edge-gone", lambda rid: archive)
    fs = MountedFileSystem(api_key="unused", base_url="http://127.0.0.1:9", skip_instance_cache=True)
    [got] = fs.cat_ranges(["edge-gone/one/data.bin"], [0], [10_000])
    assert isinstance(got, FileNotFoundError)
    with pytest.raises(FileNotFoundError):
        fs.cat_ranges(["edge-gone/one/data.bin"], [0], [10_000], on_error="raise")


@pytest.mark.parametrize("stream", [False, True], ids=["stored", "deflated"])
def test_seek_rejects_negative_positions_and_unknown_whence(stream: bool, range_server: str, served_dir: Path) -> None:
    name = "seek-deflated.zip" if stream else "seek-stored.zip"
    with zipfile.ZipFile(served_dir / name, "w", zipfile.ZIP_DEFLATED if stream else zipfile.ZIP_STORED) as zf:
        zf.writestr("data.bin", DATA)
    archive = ZipArchive(StaticURLSource(f"{range_server}/{name}"))
    with pytest.warns(DeflatedMemberWarning) if stream else contextlib.nullcontext(), archive.open("data.bin") as f:
        f.seek(100)
        with pytest.raises(ValueError):
            f.seek(-5)
        with pytest.raises(ValueError):
            f.seek(-200, io.SEEK_CUR)
        with pytest.raises(ValueError):
            f.seek(0, 7)
        assert f.tell() == 100
        assert f.seek(-4, io.SEEK_END) == len(DATA) - 4
        assert f.read() == DATA[-4:]


def _zip_with_short_zip64_extra() -> bytes:
    """One STORED member whose central entry says "size in the zip64 field" but the field is 4 bytes."""
    name = b"a.bin"
    body = b"hello"
    local = struct.pack("<4s5H3L2H", b"PK\x03\x04", 20, 0, 0, 0, 0, 0, len(body), len(body), len(name), 0)
    extra = struct.pack("<HH", 0x0001, 4) + b"\0\0\0\0"
    central = struct.pack(
        "<4s6H3L5H2L",
        b"PK\x01\x02",
        45,
        45,
        0,
        0,
        0,
        0,
        0,
        0xFFFFFFFF,
        0xFFFFFFFF,
        len(name),
        len(extra),
        0,
        0,
        0,
        0,
        0,
    )
    cd = central + name + extra
    cd_offset = len(local) + len(name) + len(body)
    eocd = struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, 1, 1, len(cd), cd_offset, 0)
    return local + name + body + cd + eocd


def test_a_short_zip64_extra_field_is_a_zip_format_error(range_server: str, served_dir: Path) -> None:
    (served_dir / "short-zip64.zip").write_bytes(_zip_with_short_zip64_extra())
    archive = ZipArchive(StaticURLSource(f"{range_server}/short-zip64.zip?sig=secret"))
    with pytest.raises(ZipFormatError) as info:
        archive.names()
    assert "zip64" in str(info.value) and "secret" not in str(info.value)


# -- DEFLATED members: memory bounded by what is read -------------------------------------

ZEROS = 64 * 1024 * 1024
"""A member of 64 MiB of zeros deflates to ~64 KiB: one compressed chunk holds all of it."""


@pytest.fixture(scope="module")
def zeros_zip(range_server: str, served_dir: Path) -> str:
    with zipfile.ZipFile(served_dir / "zeros.zip", "w", zipfile.ZIP_DEFLATED) as zf:
        with zf.open("zeros.bin", "w") as w:
            for _ in range(ZEROS // (1024 * 1024)):
                w.write(bytes(1024 * 1024))
        zf.writestr("tail.txt", b"tail")
    return f"{range_server}/zeros.zip"


def _peak_bytes(func: Callable[[], object]) -> tuple[object, int]:
    tracemalloc.start()
    try:
        result = func()
        return result, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_a_small_read_of_a_deflated_member_inflates_only_what_it_returns(zeros_zip: str) -> None:
    archive = ZipArchive(StaticURLSource(zeros_zip))
    archive.data_range("zeros.bin")
    with pytest.warns(DeflatedMemberWarning), archive.open("zeros.bin") as f:
        data, peak = _peak_bytes(lambda: f.read(10))
        assert data == bytes(10)
        f.seek(ZEROS - 3)
        assert f.read() == bytes(3)
    assert peak < 8 * 1024 * 1024, f"read(10) peaked at {peak} bytes"


def test_cat_of_deflated_ranges_streams_in_one_pass(zeros_zip: str) -> None:
    archive = ZipArchive(StaticURLSource(zeros_zip))
    mount("edge-deflated", lambda rid: archive)
    fs = MountedFileSystem(api_key="unused", base_url="http://127.0.0.1:9", skip_instance_cache=True)
    path = "edge-deflated/one/zeros.bin"
    with pytest.warns(DeflatedMemberWarning):
        data, peak = _peak_bytes(lambda: fs.cat_file(path, 5, 15))
    assert data == bytes(10)
    assert peak < 8 * 1024 * 1024, f"cat_file of 10 bytes peaked at {peak} bytes"
    archive.data_range("tail.txt")
    before = archive.reader.requests
    paths = [path] * 3 + ["edge-deflated/one/tail.txt"]
    with pytest.warns(DeflatedMemberWarning):
        got = fs.cat_ranges(paths, [2000, 0, ZEROS - 4, 1], [2010, 4, ZEROS + 9, 3])
    assert got == [bytes(10), bytes(4), bytes(4), b"ai"]
    # One pass over zeros.bin's single compressed chunk, one over tail.txt's.
    assert archive.reader.requests - before == 2


# -- the session's caches stay bounded ------------------------------------------------------


def test_a_re_signed_url_reuses_its_archive_and_reads_with_the_new_url(edge_zip: str) -> None:
    old = archive_for(StaticURLSource(f"{edge_zip}?sig=first"))
    assert old.names() == ["data.bin"]
    again = archive_for(StaticURLSource(f"{edge_zip}?sig=second"))
    assert again is old
    assert again.reader.current_url().endswith("sig=second")
    assert again.read("data.bin") == DATA
    assert "sig=" not in repr(again) and "sig=" not in again.source.key


def test_archive_for_keeps_only_the_most_recently_used(edge_zip: str, io_session: IOSession) -> None:
    from pixxel_geo.io import archive as archive_module

    first = archive_for(StaticURLSource(f"{edge_zip}?n=0"))
    for i in range(archive_module.MAX_ARCHIVES + 5):
        archive_for(StaticURLSource(f"{edge_zip}/not-read-{i}.zip"))
        archive_for(StaticURLSource(f"{edge_zip}?n=0"))  # used often: stays
    assert len(io_session.archives) == archive_module.MAX_ARCHIVES
    assert archive_for(StaticURLSource(f"{edge_zip}?n=0")) is first
    assert StaticURLSource(f"{edge_zip}/not-read-0.zip").key not in io_session.archives


def test_a_server_that_ignores_range_is_refused_before_the_whole_file_is_read(edge_zip: str) -> None:
    url = edge_zip.replace("/edges.zip", "/norange/edges.zip") + "?sig=secret"
    reader = RangeReader(StaticURLSource(url))
    assert reader.read(0, 4) == b"PK\x03\x04"  # from the start: the whole answer is usable
    with pytest.raises(TransferError) as info:
        reader.read(100, 200)
    assert "Range" in str(info.value) and "secret" not in str(info.value)


def _cog_bytes(tmp: Path, tile: int, size: int) -> bytes:
    """A one-band uint8 COG (no overviews) with ``tile``-px tiles: its tile tables grow with ``(size/tile)²``."""
    import numpy as np
    import rasterio
    from affine import Affine
    from rasterio.shutil import copy as rio_copy

    plain = tmp / f"plain-{tile}.tif"
    profile = {
        "driver": "GTiff", "width": size, "height": size, "count": 1, "dtype": "uint8",
        "crs": "EPSG:32643", "transform": Affine(5, 0, 500_000, 0, -5, 3_000_000),
    }  # fmt: skip
    with rasterio.open(plain, "w", **profile) as dst:
        dst.write((np.arange(size * size) % 251).astype("uint8").reshape(1, size, size))
    out = tmp / f"cog-{tile}.tif"
    rio_copy(plain, out, driver="COG", blocksize=tile, overviews="NONE", compress="NONE")
    return out.read_bytes()


def test_a_member_head_grows_to_the_end_of_its_tiff_directories(
    range_server: str, served_dir: Path, tmp_path: Path
) -> None:
    from pixxel_geo.io.gdal_options import FIRST_HEAD_BYTES, HEAD_BYTES, opener_env
    from pixxel_geo.io.prefetch import tiff_metadata_end
    from pixxel_geo.io.raster import opener_for

    tiff = _cog_bytes(tmp_path, tile=16, size=1024)  # 4096 tiles: 32 KiB of tile offsets and sizes
    end = tiff_metadata_end(lambda s, e: tiff[s:e])
    assert end is not None and FIRST_HEAD_BYTES < end < HEAD_BYTES
    with zipfile.ZipFile(served_dir / "big-ifd.zip", "w", zipfile.ZIP_STORED) as zf:
        zf.writestr("big.tif", tiff)
    archive = ZipArchive(StaticURLSource(f"{range_server}/big-ifd.zip"))
    head = archive.head("big.tif")
    assert end <= len(head) < HEAD_BYTES  # grown past the first read, to the directories' end
    assert head == tiff[: len(head)]
    assert archive.reader.requests == 3  # the directory, the first head, one more for the rest
    import rasterio

    with opener_env(), rasterio.open("big.tif", opener=opener_for(archive, "big.tif")) as src:
        sizes = [src.block_size(1, 63, j) for j in range(64)]  # the last row of the tile tables
    assert all(s == 16 * 16 for s in sizes)
    assert archive.reader.requests == 3  # GDAL opened it and read its tile tables from the head


def test_a_small_tiff_or_other_member_head_is_one_short_read(
    range_server: str, served_dir: Path, tmp_path: Path
) -> None:
    from pixxel_geo.io.gdal_options import FIRST_HEAD_BYTES

    tiff = _cog_bytes(tmp_path, tile=256, size=1024)  # 16 tiles: its directories take a few hundred bytes
    with zipfile.ZipFile(served_dir / "small-ifd.zip", "w", zipfile.ZIP_STORED) as zf:
        zf.writestr("small.tif", tiff)
        zf.writestr("data.bin", DATA)
    archive = ZipArchive(StaticURLSource(f"{range_server}/small-ifd.zip"))
    # FIRST_HEAD_BYTES and what the local header's slack brought along; not the old 128 KiB.
    assert FIRST_HEAD_BYTES <= len(archive.head("small.tif")) < FIRST_HEAD_BYTES + 2048
    assert FIRST_HEAD_BYTES <= len(archive.head("data.bin")) < FIRST_HEAD_BYTES + 2048
    assert archive.reader.requests == 3  # the directory, then one read per member
