"""BandPrefetcher: no lock held across fetches, and each thread's band run predicted on its own."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

from pixxel_geo.io.prefetch import FIRST_STEP, BandPrefetcher, TileTable

BANDS, TILES, TILE_BYTES = 32, 4, 100


def _table() -> TileTable:
    offsets = [1000 + i * TILE_BYTES for i in range(BANDS * TILES)]
    return TileTable(BANDS, TILES, offsets, [TILE_BYTES] * (BANDS * TILES))


def _tile_range(table: TileTable, band: int, tile: int) -> tuple[int, int]:
    offset, count = table.tile(band, tile)
    return offset, offset + count


class RecordingFetch:
    def __init__(self) -> None:
        self.calls: list[list[tuple[int, int]]] = []
        self.lock = threading.Lock()

    def __call__(self, ranges: list[tuple[int, int]]) -> list[bytes]:
        with self.lock:
            self.calls.append(list(ranges))
        return [bytes(e - s) for s, e in ranges]


def test_fetches_of_two_threads_overlap() -> None:
    table = _table()
    first_fetching = threading.Event()
    second_fetching = threading.Event()
    overlapped: list[bool] = []

    def fetch(ranges: list[tuple[int, int]]) -> list[bytes]:
        if not first_fetching.is_set():
            first_fetching.set()
            # Held under the prefetcher's lock, the second read could never start its fetch.
            overlapped.append(second_fetching.wait(10))
        else:
            second_fetching.set()
        return [bytes(e - s) for s, e in ranges]

    prefetcher = BandPrefetcher(table, fetch)
    with ThreadPoolExecutor(2) as pool:
        one = pool.submit(prefetcher.get, [_tile_range(table, 0, 0)])
        first_fetching.wait(10)
        two = pool.submit(prefetcher.get, [_tile_range(table, 5, 1)])
        assert one.result() == [bytes(TILE_BYTES)] and two.result() == [bytes(TILE_BYTES)]
    assert overlapped == [True]


def test_interleaved_threads_each_keep_their_band_run() -> None:
    table = _table()
    fetch = RecordingFetch()
    prefetcher = BandPrefetcher(table, fetch)
    a, b = ThreadPoolExecutor(1), ThreadPoolExecutor(1)
    try:
        # Thread A reads tile 0 and thread B tile 2, band after band, taking turns.
        a.submit(prefetcher.get, [_tile_range(table, 0, 0)]).result()
        b.submit(prefetcher.get, [_tile_range(table, 0, 2)]).result()
        a.submit(prefetcher.get, [_tile_range(table, 1, 0)]).result()
        b.submit(prefetcher.get, [_tile_range(table, 1, 2)]).result()
    finally:
        a.shutdown()
        b.shutdown()
    ahead_a = {_tile_range(table, band, 0) for band in range(2, 2 + FIRST_STEP)}
    ahead_b = {_tile_range(table, band, 2) for band in range(2, 2 + FIRST_STEP)}
    assert ahead_a <= set(fetch.calls[2])
    assert ahead_b <= set(fetch.calls[3])
    # Band 2 of both runs now comes from the cache: no more fetches.
    calls = len(fetch.calls)
    assert prefetcher.get([_tile_range(table, 2, 0)]) == [bytes(TILE_BYTES)]
    assert len(fetch.calls) == calls
