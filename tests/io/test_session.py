"""One owner of the caches and pools: the LRU helper, IOSession's pickling, forks and defaults."""

from __future__ import annotations

import multiprocessing
import pickle
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest

from pixxel_geo.io.archive import ZipArchive, archive_for
from pixxel_geo.io.lru import LRU
from pixxel_geo.io.reader import RangeReader, StaticURLSource
from pixxel_geo.io.session import IOSession, IOSettings, default_session, set_default_session

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def small_zip(range_server: str, served_dir: Path) -> str:
    with zipfile.ZipFile(served_dir / "session.zip", "w", zipfile.ZIP_STORED) as zf:
        zf.writestr("a.txt", b"hello")
    return f"{range_server}/session.zip"


# -- the LRU helper ------------------------------------------------------------------------


def test_lru_drops_the_least_recently_used() -> None:
    cache: LRU[str, int] = LRU(2)
    cache.put("a", 1)
    cache.put("b", 2)
    assert cache.get("a") == 1  # "a" is now the most recently used
    cache.put("c", 3)
    assert cache.keys() == ["a", "c"]
    assert cache.get("b") is None
    assert cache.get_or_create("a", lambda: 99) == 1
    assert cache.get_or_create("d", lambda: 4) == 4
    assert cache.keys() == ["a", "d"]
    assert cache.setdefault("a", 7) == 1
    assert cache.pop("a") == 1 and len(cache) == 1


def test_lru_refuses_a_size_below_one() -> None:
    with pytest.raises(ValueError, match="maxsize"):
        LRU(0)


def test_an_unbounded_lru_keeps_everything() -> None:
    cache: LRU[int, int] = LRU()
    for i in range(1000):
        cache.put(i, i)
    assert len(cache) == 1000


# -- who owns what --------------------------------------------------------------------------


def test_archives_readers_and_pools_belong_to_their_session(small_zip: str) -> None:
    with IOSession(IOSettings(max_archives=2)) as session:
        archive = archive_for(StaticURLSource(small_zip), session=session)
        assert archive.session is session and archive.reader.session is session
        assert archive.read("a.txt") == b"hello"
        assert StaticURLSource(small_zip).key in session.archives
        assert StaticURLSource(small_zip).key not in default_session().archives
        assert archive_for(StaticURLSource(small_zip), session=session) is archive
        for i in range(3):  # the session's own bound
            archive_for(StaticURLSource(f"{small_zip}/other-{i}.zip"), session=session)
        assert len(session.archives) == 2
        assert archive_for(StaticURLSource(small_zip), session=session) is not archive


def test_the_default_session_can_be_swapped_for_a_fresh_one(small_zip: str, io_session: IOSession) -> None:
    assert default_session() is io_session
    archive = archive_for(StaticURLSource(small_zip))
    assert archive.session is io_session
    assert list(io_session.archives.keys()) == [StaticURLSource(small_zip).key]


def test_set_default_session_returns_the_previous_one() -> None:
    mine = IOSession()
    previous = set_default_session(mine)
    try:
        assert default_session() is mine
    finally:
        assert set_default_session(previous) is mine
        mine.close()


def test_a_session_pickles_as_its_settings_and_identity() -> None:
    session = IOSession(IOSettings(max_archives=3))
    session.urls.put("k", "https://example.invalid/a.zip?sig=secret")
    blob = pickle.dumps(session)
    assert b"secret" not in blob and b"example.invalid" not in blob
    assert pickle.loads(blob) is session  # the same process: the same session


def test_in_another_process_a_pickled_default_is_that_process_default() -> None:
    blobs = {"default": pickle.dumps(default_session()), "own": pickle.dumps(IOSession(IOSettings(max_archives=3)))}
    code = (
        "import pickle, sys\n"
        "from pixxel_geo.io.session import default_session\n"
        "default, own = pickle.loads(bytes.fromhex(sys.argv[1])), pickle.loads(bytes.fromhex(sys.argv[2]))\n"
        "print(default is default_session(), own is not default_session(), own.settings.max_archives, len(own.urls))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, blobs["default"].hex(), blobs["own"].hex()],
        capture_output=True, text=True, check=True, cwd=ROOT, env={"PYTHONPATH": str(ROOT)},
    )  # fmt: skip
    assert out.stdout.split() == ["True", "True", "3", "0"]


def test_a_reader_pickles_with_its_session(small_zip: str) -> None:
    with IOSession() as session:
        reader = RangeReader(StaticURLSource(small_zip), session=session)
        clone = pickle.loads(pickle.dumps(reader))
        assert clone.session is session
        archive = ZipArchive(StaticURLSource(small_zip), session=session)
        archive.data_range("a.txt")
        again = pickle.loads(pickle.dumps(archive))
        assert again.session is session and again.head("a.txt") == b"hello"


# -- fork ---------------------------------------------------------------------------------------


def _child_uses(session: IOSession, url: str, results: Any) -> None:
    archive = archive_for(StaticURLSource(url), session=session)
    ok = archive.read("a.txt") == b"hello" and session.range_executor().submit(lambda: 1).result(30) == 1
    results.put(ok)


@pytest.mark.filterwarnings("ignore:This process .* is multi-threaded:DeprecationWarning")
def test_a_forked_child_gets_new_locks_and_pools(small_zip: str) -> None:
    with IOSession() as session:
        assert archive_for(StaticURLSource(small_zip), session=session).read("a.txt") == b"hello"
        parent_pool = session.http_client()
        context = multiprocessing.get_context("fork")
        results = context.SimpleQueue()
        # Forked while this thread holds every lock of the session: without the fork hook the
        # child would wait on them for ever.
        locks = [session._lock, session.archives._lock, session.urls._lock]
        for lock in locks:
            lock.acquire()
        try:
            child = context.Process(target=_child_uses, args=(session, small_zip, results))
            child.start()
        finally:
            for lock in locks:
                lock.release()
        child.join(120)  # a hang guard, not a timing check
        if child.is_alive():
            child.terminate()
            child.join()
            pytest.fail("the forked child hung on a lock the parent held")
        assert child.exitcode == 0 and results.get() is True
        assert session.http_client() is parent_pool  # the parent's pools are untouched
