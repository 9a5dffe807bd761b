"""Range reader and zip index edge cases (httpx.MockTransport, in addition to the sandbox tests)."""

from __future__ import annotations

import io
import pickle
import re
import threading
import zipfile

import httpx
import pytest

from pixxel_geo.api.errors import SignedURLError
from pixxel_geo.io.archive import ZipArchive
from pixxel_geo.io.reader import RangeReader, StaticURLSource, coalesce_ranges

DATA = bytes(range(256)) * 4000


class CountingSource:
    """A URL source whose fresh URLs carry a new generation number."""

    key = "test:counting"

    def __init__(self) -> None:
        self.generation = 0
        self.lock = threading.Lock()

    def __reduce__(self) -> tuple[type, tuple[()]]:
        return CountingSource, ()

    def signed_url(self, fresh: bool = False) -> str:
        with self.lock:
            if fresh:
                self.generation += 1
            return f"http://files.test/p.zip?gen={self.generation}&sig=secret"


def _serve(body: bytes, valid_generation: int | None = None) -> httpx.MockTransport:
    def handler(request: httpx.Request) -> httpx.Response:
        assert request.method == "GET"
        gen = request.url.params.get("gen")
        if valid_generation is not None and gen != str(valid_generation):
            return httpx.Response(403, text="<Error><Code>AccessDenied</Code></Error>")
        match = re.fullmatch(r"bytes=(\d*)-(\d*)", request.headers["Range"])
        assert match
        first, last = match.groups()
        size = len(body)
        start = size - int(last) if first == "" else int(first)
        end = size - 1 if first == "" else min(size - 1, int(last))
        start = max(0, start)
        return httpx.Response(
            206, content=body[start : end + 1], headers={"Content-Range": f"bytes {start}-{end}/{size}"}
        )

    return httpx.MockTransport(handler)


def test_concurrent_403s_re_sign_once() -> None:
    source = CountingSource()
    reader = RangeReader(source, transport=_serve(DATA, valid_generation=1))
    results: list[bytes] = []
    threads = [threading.Thread(target=lambda i=i: results.append(reader.read(i * 10, i * 10 + 5))) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert source.generation == 1  # one refresh for eight threads
    assert sorted(results) == sorted(DATA[i * 10 : i * 10 + 5] for i in range(8))


def test_a_url_that_cannot_be_renewed_raises_without_the_signature() -> None:
    reader = RangeReader(StaticURLSource("http://files.test/p.zip?gen=0&sig=secret"), transport=_serve(DATA, 1))
    with pytest.raises(SignedURLError) as info:
        reader.read(0, 10)
    assert isinstance(info.value, PermissionError)
    assert "secret" not in str(info.value) and "files.test/p.zip" in str(info.value)


def test_read_ranges_returns_each_range_in_order() -> None:
    reader = RangeReader(CountingSource(), transport=_serve(DATA))
    ranges = [(500_000, 500_100), (0, 10), (20, 30), (100_000, 300_000)]
    assert reader.read_ranges(ranges) == [DATA[a:b] for a, b in ranges]
    assert coalesce_ranges([(0, 10), (20, 30)], gap=5) == [(0, 10), (20, 30)]
    assert coalesce_ranges([(0, 10), (20, 30)], gap=10) == [(0, 30)]


def test_reader_pickles_without_url_or_connection() -> None:
    source = CountingSource()
    reader = RangeReader(source, transport=_serve(DATA))
    reader.read(0, 10)
    blob = pickle.dumps(reader)
    assert b"secret" not in blob and b"gen=" not in blob
    assert pickle.loads(blob).source.key == source.key


def test_zip64_directory_and_local_headers_are_parsed() -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as zf:
        with zf.open("big.bin", "w", force_zip64=True) as w:
            w.write(DATA[:5000])
        zf.writestr("b.json", b'{"x": 1}')
    body = buf.getvalue()
    archive = ZipArchive(CountingSource(), reader=RangeReader(CountingSource(), transport=_serve(body)))
    assert archive.names() == ["big.bin", "b.json"]
    assert archive.read("big.bin") == DATA[:5000]
    with archive.open("big.bin") as f:
        f.seek(1234)
        assert f.read(10) == DATA[1234:1244]
        assert f.get_byte_ranges([0, 4000], [3, 5]) == [DATA[:3], DATA[4000:4005]]
    assert archive.read("b.json") == b'{"x": 1}'


def _flaky(failures: int, retry_after: str | None) -> tuple[httpx.MockTransport, list[int]]:
    """Answer 503 (with ``Retry-After``) ``failures`` times, then serve :data:`DATA`."""
    calls: list[int] = []
    serve = _serve(DATA)

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        if len(calls) <= failures:
            headers = {"Retry-After": retry_after} if retry_after is not None else {}
            return httpx.Response(503, headers=headers)
        return serve.handle_request(request)

    return httpx.MockTransport(handler), calls


def test_range_reads_retry_as_the_policy_says(monkeypatch: pytest.MonkeyPatch) -> None:
    from pixxel_geo.api.retry import RetryPolicy
    from pixxel_geo.io import reader as reader_module

    waits: list[float] = []
    monkeypatch.setattr(reader_module.time, "sleep", waits.append)
    transport, calls = _flaky(4, None)
    policy = RetryPolicy(max_attempts=5, backoff_base=0.0)
    reader = RangeReader(StaticURLSource("http://files.test/p.zip?sig=s"), transport=transport, retry=policy)
    assert reader.read(0, 10) == DATA[:10]
    assert len(calls) == 5
    assert waits == [0.0] * 4


def test_retry_after_in_any_form_is_honoured(monkeypatch: pytest.MonkeyPatch) -> None:
    from pixxel_geo.api.retry import RetryPolicy
    from pixxel_geo.io import reader as reader_module

    waits: list[float] = []
    monkeypatch.setattr(reader_module.time, "sleep", waits.append)
    transport, _ = _flaky(1, "1.5")
    reader = RangeReader(StaticURLSource("http://files.test/p.zip?sig=s"), transport=transport, retry=RetryPolicy())
    assert reader.read(0, 10) == DATA[:10]
    assert waits == [1.5]


def test_a_source_with_a_client_config_brings_its_policy() -> None:
    from pixxel_geo.api.config import resolve_config
    from pixxel_geo.api.retry import RetryPolicy
    from pixxel_geo.io.api_sources import CatalogURLSource

    policy = RetryPolicy(max_attempts=2)
    config = resolve_config(api_key="k", base_url="http://127.0.0.1:9", retry=policy)
    reader = RangeReader(CatalogURLSource("cat_1", config))
    assert reader.retry == policy
    assert pickle.loads(pickle.dumps(reader)).retry == policy


def test_a_retry_after_past_the_cap_is_given_up_on_without_waiting(monkeypatch: pytest.MonkeyPatch) -> None:
    from pixxel_geo.api.errors import TransferError
    from pixxel_geo.io import reader as reader_module

    waits: list[float] = []
    monkeypatch.setattr(reader_module.time, "sleep", waits.append)
    transport, calls = _flaky(1, "3600")
    reader = RangeReader(StaticURLSource("http://files.test/p.zip?sig=s"), transport=transport)
    with pytest.raises(TransferError, match="asked to wait 3600 s") as caught:
        reader.read(0, 10)
    assert waits == [] and len(calls) == 1
    assert "sig=" not in str(caught.value)
