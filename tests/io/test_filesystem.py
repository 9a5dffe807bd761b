"""pixxel:// — fsspec's own abstract "get" suite, plus a read-only contract on the sandbox."""

from __future__ import annotations

import pickle
import posixpath
import zipfile
from hashlib import md5
from pathlib import Path
from typing import Any

import fsspec
import pytest
from fsspec.tests.abstract import AbstractFixtures
from fsspec.tests.abstract.get import AbstractGetTests

import pixxel_geo as px
from pixxel_geo.io.archive import archive_for
from pixxel_geo.io.filesystem import PixxelFileSystem, PixxelPath
from pixxel_geo.io.reader import StaticURLSource

from .io_helpers import MountedFileSystem, image_path, mount

# -- fsspec's abstract suite ------------------------------------------------------------
# The suite needs fixed trees (source/file1, source/subdir/…); the sandbox's products have
# their own members, so these trees are product zips of our own, served by a range server
# and mounted under a test folder of a test subclass (the real kinds are a read-only table).

_SCENARIOS: dict[str, list[tuple[str, bytes]]] = {
    "bulk": [
        ("source/file1", b""),
        ("source/file2", b""),
        ("source/subdir/subfile1", b""),
        ("source/subdir/subfile2", b""),
        ("source/subdir/nesteddir/nestedfile", b""),
    ],
    "glob": [("source/file1", b""), ("source/file2", b"")]
    + [
        (f"source/subdir{i}/{name}", b"") for i in range(2) for name in ("subfile1", "subfile2", "nesteddir/nestedfile")
    ],
    "prefix": [("source/subdir.txt", b""), ("source/subdir/subfile.txt", b"")],
    "recursive": [("src/file", b"")],
    "hashed": [(f"source/{md5(str(i).encode()).hexdigest()}.txt", str(i).encode()) for i in range(10)],
}


@pytest.fixture(scope="module")
def _mounted(range_server: str, served_dir: Path) -> str:
    for name, members in _SCENARIOS.items():
        with zipfile.ZipFile(served_dir / f"{name}.zip", "w", zipfile.ZIP_STORED) as zf:
            zf.writestr("source/", b"")
            for member, data in members:
                zf.writestr(member, data)
    mount("test-zips", lambda rid: archive_for(StaticURLSource(f"{range_server}/{rid}.zip")))
    return "test-zips"


class _Fixtures(AbstractFixtures):
    @pytest.fixture
    def fs(self, _mounted: str) -> PixxelFileSystem:
        return MountedFileSystem(api_key="unused", base_url="http://127.0.0.1:9")

    @pytest.fixture
    def fs_join(self) -> Any:
        return posixpath.join

    @pytest.fixture
    def fs_path(self, _mounted: str) -> str:
        return _mounted

    def _scenario(self, name: str) -> str:
        return f"test-zips/{name}/source"

    @pytest.fixture
    def fs_bulk_operations_scenario_0(self, fs: Any) -> str:
        return self._scenario("bulk")

    @pytest.fixture
    def fs_glob_edge_cases_files(self, fs: Any) -> str:
        return self._scenario("glob")

    @pytest.fixture
    def fs_dir_and_file_with_same_name_prefix(self, fs: Any) -> str:
        return self._scenario("prefix")

    @pytest.fixture
    def fs_10_files_with_hashed_names(self, fs: Any) -> str:
        return self._scenario("hashed")


class _PreSeeded:
    """The filesystem, with mkdir/touch checking that the path exists instead of writing."""

    def __init__(self, fs: PixxelFileSystem) -> None:
        self._fs = fs

    def __getattr__(self, name: str) -> Any:
        return getattr(self._fs, name)

    def mkdir(self, path: str, **kwargs: Any) -> None:
        assert self._fs.isdir(path)

    def touch(self, path: str, **kwargs: Any) -> None:
        assert self._fs.isfile(path)


class TestPixxelGet(_Fixtures, AbstractGetTests):
    """fsspec's get tests on pixxel://, unchanged except where a test seeds its own files."""

    def test_get_directory_recursive(  # type: ignore[override]
        self, fs: Any, fs_join: Any, local_fs: Any, local_join: Any, local_target: Any
    ) -> None:
        super().test_get_directory_recursive(
            _PreSeeded(fs), fs_join, "test-zips/recursive", local_fs, local_join, local_target
        )


# -- contract against the sandbox -------------------------------------------------------


@pytest.fixture
def fs(sandbox: Any) -> PixxelFileSystem:
    return fsspec.filesystem("pixxel", api_key=sandbox.token, base_url=sandbox.url)


def test_resolve_path() -> None:
    fs = PixxelFileSystem(api_key="k", base_url="http://127.0.0.1:9")
    assert fs.resolve_path("pixxel://catalogs/c1/a/b.tif") == PixxelPath("catalogs", "c1", "a/b.tif")
    assert fs.resolve_path("order-items/o1/") == PixxelPath("order-items", "o1", None)
    with pytest.raises(FileNotFoundError):
        fs.resolve_path("pixxel://nope/x")


def test_lists_members_with_their_sizes(fs: Any, catalog: Any, local_product: Path) -> None:
    listing = fs.ls(f"pixxel://catalogs/{catalog.id}/", detail=True)
    sizes = {posixpath.basename(e["name"]): e["size"] for e in listing}
    assert sizes == {p.name: p.stat().st_size for p in local_product.iterdir()}
    tif = next(n for n in sizes if n.endswith(".tif"))
    info = fs.info(f"pixxel://catalogs/{catalog.id}/{tif}")
    assert info["type"] == "file" and info["size"] == sizes[tif]
    assert f"catalogs/{catalog.id}" in fs.dircache


def test_reads_match_the_local_copy(fs: Any, catalog: Any, local_product: Path) -> None:
    meta = next(local_product.glob("*.hdr"))
    tif = image_path(local_product)
    base = f"pixxel://catalogs/{catalog.id}"
    assert fs.cat_file(f"{base}/{meta.name}") == meta.read_bytes()
    data = tif.read_bytes()
    assert fs.cat_file(f"{base}/{tif.name}", start=1000, end=5000) == data[1000:5000]
    got = fs.cat_ranges([f"{base}/{tif.name}"] * 2 + [f"{base}/{meta.name}"], [0, 70_000, 5], [10, 90_000, 50])
    assert got == [data[:10], data[70_000:90_000], meta.read_bytes()[5:50]]
    with fs.open(f"{base}/{tif.name}", "rb") as f:
        f.seek(123_456)
        assert f.read(1000) == data[123_456:124_456]


def test_missing_member_is_member_not_found(fs: Any, catalog: Any) -> None:
    with pytest.raises(px.MemberNotFoundError):
        fs.open(f"pixxel://catalogs/{catalog.id}/missing.tif")
    assert not fs.exists(f"pixxel://catalogs/{catalog.id}/missing.tif")


def test_pickles_as_plain_arguments(fs: Any, catalog: Any) -> None:
    fs.ls(f"catalogs/{catalog.id}")
    blob = pickle.dumps(fs)
    assert b"X-Pixxel-Signature" not in blob
    clone = pickle.loads(blob)
    assert clone.ls(f"catalogs/{catalog.id}", detail=False) == fs.ls(f"catalogs/{catalog.id}", detail=False)


def test_geopandas_reads_the_footprint_through_pixxel_url(
    sandbox: Any, client: Any, catalog: Any, local_product: Path
) -> None:
    import geopandas as gpd

    footprint = next(local_product.glob("*_footprint.geojson"))
    url = f"pixxel://catalogs/{catalog.id}/{footprint.name}"
    with fsspec.open(url, api_key=sandbox.token, base_url=sandbox.url) as f:
        gdf = gpd.read_file(f)
    expected = gpd.read_file(footprint)
    assert gdf.geometry.iloc[0].equals_exact(expected.geometry.iloc[0], 1e-9)
    vector = px.read_vector(catalog.id, footprint.name, client=client)
    assert vector.geometry.iloc[0].equals_exact(expected.geometry.iloc[0], 1e-9)


def test_read_footprints_from_catalog_models(client: Any) -> None:
    catalogs = list(client.catalogs.search(limit=5))
    gdf = px.read_footprints(catalogs)
    assert list(gdf.columns) == ["id", "datetime", "cloud_cover", "gsd", "geometry"]
    assert gdf.crs.to_epsg() == 4326 and list(gdf["id"]) == [c.id for c in catalogs]


# -- read-only, folder and glob semantics -------------------------------------------------


@pytest.mark.parametrize("folder", ["source", "source/subdir", "source/subdir/", "source/subdir/nesteddir"])
def test_reading_a_folder_is_is_a_directory_error(_mounted: str, folder: str) -> None:
    """Like fsspec's local filesystem: not MemberNotFoundError (which is a FileNotFoundError)."""
    fs = MountedFileSystem(api_key="unused", base_url="http://127.0.0.1:9", skip_instance_cache=True)
    path = f"pixxel://test-zips/bulk/{folder}"
    with pytest.raises(IsADirectoryError, match="is a folder of the product"):
        fs.cat_file(path)
    with pytest.raises(IsADirectoryError, match="is a folder of the product"):
        fs.open(path)
    with pytest.raises(px.MemberNotFoundError):
        fs.cat_file("pixxel://test-zips/bulk/source/subdi")  # a prefix of a folder is no folder
    assert fs.cat_file("pixxel://test-zips/bulk/source/subdir/subfile1") == b""


@pytest.mark.parametrize(
    ("call", "args"),
    [("mkdir", ("catalogs/x/new",)), ("makedirs", ("catalogs/x/a/b",)), ("rmdir", ("catalogs/x/source",))],
)
def test_folder_changes_are_refused(call: str, args: tuple[str, ...]) -> None:
    fs = PixxelFileSystem(api_key="unused", base_url="http://127.0.0.1:9", skip_instance_cache=True)
    with pytest.raises(PermissionError, match="pixxel:// is read-only"):
        getattr(fs, call)(*args)
    with pytest.raises(PermissionError, match="read-only"):
        fs.makedirs("catalogs", exist_ok=True)


def test_glob_resolves_the_catalogs_concurrently(sandbox: Any, client: Any) -> None:
    """Counted, not timed: each resolution waits (briefly) for a second one to be in flight."""
    import threading

    from pixxel_geo.io import filesystem

    lock = threading.Lock()
    in_flight = [0]
    most = [0]
    overlapped = threading.Event()

    class Counting(PixxelFileSystem):
        def archive(self, path: str | PixxelPath) -> Any:
            with lock:
                in_flight[0] += 1
                most[0] = max(most[0], in_flight[0])
                if in_flight[0] >= 2:
                    overlapped.set()
            try:
                overlapped.wait(2)  # one after another: nobody else comes, and this times out
                return super().archive(path)
            finally:
                with lock:
                    in_flight[0] -= 1

    fs = Counting(api_key=sandbox.token, base_url=sandbox.url, skip_instance_cache=True)
    found = fs.glob("pixxel://catalogs/*/*")  # each product's top level (flat or folder layout alike)
    ids = sorted(c.id for c in client.catalogs.search())
    assert len(ids) >= 3
    assert sorted({p.split("/")[1] for p in found}) == ids  # every catalog was resolved and listed
    assert 2 <= most[0] <= filesystem.MAX_CONCURRENT_RESOLUTIONS
