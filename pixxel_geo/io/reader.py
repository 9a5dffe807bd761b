"""Read byte ranges of a file behind a signed URL, re-signing when it expires.

:class:`RangeReader` sends ranged GETs over its session's ``httpx.Client``
(:class:`~pixxel_geo.io.session.IOSession`), fetches the ranges of one read in parallel,
and retries once after a 403 with a fresh URL from its :class:`URLSource` (check, lock,
check again, so that many threads hitting the same expiry re-sign once). It never sends HEAD: the size
comes from a suffix range's ``Content-Range``.

A reader pickles as its URL source (ids and configuration), never as a live
connection or an expiring URL, so dask workers rebuild it and re-sign on
their own.

Example:
    >>> reader = RangeReader(StaticURLSource("http://127.0.0.1:8000/files/a.zip"))  # doctest: +SKIP
    >>> reader.read_ranges([(0, 4), (100, 200)])  # doctest: +SKIP
    [b'PK\\x03\\x04', b'...']
"""

from __future__ import annotations

import bisect
import hashlib
import logging
import re
import threading
import time
from collections.abc import Iterator, Sequence
from typing import Any, Protocol, runtime_checkable
from urllib.parse import urlsplit

import httpx

from pixxel_geo.api.errors import (
    NetworkError,
    NotFoundError,
    RequestTimeoutError,
    ServerError,
    SignedURLError,
    TransferError,
)
from pixxel_geo.api.redact import redact_url
from pixxel_geo.api.retry import RetryPolicy, parse_retry_after
from pixxel_geo.io.session import IOSession, default_session

__all__ = [
    "RangeReader",
    "StaticURLSource",
    "URLSource",
    "coalesce_ranges",
    "redact_url",
]

logger = logging.getLogger(__name__)

MERGE_GAP = 32 * 1024
"""Ranges closer than this are fetched in one request (a request costs more than the gap)."""
MAX_PART = 1024 * 1024
"""Merged ranges larger than this are split so the parts download in parallel (a pixel-interleaved
tile of many bands is several MB; the figures behind 1 MiB are in benchmarks/README.md, Streaming)."""
DEFAULT_WORKERS = 16
_CONTENT_RANGE = re.compile(r"bytes\s+(\d+)-(\d+)/(\d+|\*)")


@runtime_checkable
class URLSource(Protocol):
    """Something that can give a (fresh) signed URL for one file.

    ``key`` identifies the file (no secrets); ``signed_url(fresh=True)`` must
    ask the API again instead of returning a cached URL.
    """

    @property
    def key(self) -> str: ...

    def signed_url(self, fresh: bool = False) -> str: ...


class StaticURLSource:
    """A URL given as is: it cannot be re-signed.

    Its ``key`` is the URL without its query string, so the same file signed again
    (a new signature, the same path) is the same file.

    Args:
        url: a signed (or public) URL.
    """

    def __init__(self, url: str) -> None:
        self.url = url

    @property
    def key(self) -> str:
        parts = urlsplit(self.url)
        where = f"{parts.scheme.lower()}://{parts.netloc.lower()}{parts.path}"
        return "url:" + hashlib.sha256(where.encode()).hexdigest()[:32]

    def signed_url(self, fresh: bool = False) -> str:
        return self.url

    def __repr__(self) -> str:
        return f"StaticURLSource({redact_url(self.url)!r})"


def _close_shared_pools() -> None:
    """Close the default session's pools and clients (the QGIS plugin calls this as it unloads).

    Kept for the plugin; new code calls ``default_session().close()``.
    """
    default_session().close()


def coalesce_ranges(
    ranges: Sequence[tuple[int, int]], gap: int = MERGE_GAP, max_part: int = MAX_PART
) -> list[tuple[int, int]]:
    """Merge nearby ``[start, end)`` ranges and split very large ones.

    Args:
        ranges: byte ranges, end exclusive, in any order.
        gap: ranges separated by at most this many bytes are merged.
        max_part: merged ranges longer than this are cut into parts of about this size.

    Returns:
        Sorted, non-overlapping ranges covering all of ``ranges``.

    >>> coalesce_ranges([(0, 10), (12, 20), (100, 110)], gap=5)
    [(0, 20), (100, 110)]
    """
    merged: list[list[int]] = []
    for start, end in sorted(r for r in ranges if r[1] > r[0]):
        if merged and start <= merged[-1][1] + gap:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    out: list[tuple[int, int]] = []
    for start, end in merged:
        while end - start > max_part * 1.5:
            out.append((start, start + max_part))
            start += max_part
        out.append((start, end))
    return out


class RangeReader:
    """Ranged GETs on one file behind a signed URL, with transparent re-signing.

    Thread-safe. Pickles as its URL source and settings.

    Args:
        source: gives the URL and fresh URLs (see :class:`URLSource`).
        max_workers: at most this many ranges of one read are fetched at once.
        transport: an httpx transport (tests only; not pickled).
        retry: when to try a failed request again (default: the source's client
            configuration's policy, else :class:`~pixxel_geo.api.retry.RetryPolicy`'s defaults).
        session: whose connection and thread pools to use (default: the process's
            :func:`~pixxel_geo.io.session.default_session`).
    """

    def __init__(
        self,
        source: URLSource,
        *,
        max_workers: int = DEFAULT_WORKERS,
        transport: httpx.BaseTransport | None = None,
        retry: RetryPolicy | None = None,
        session: IOSession | None = None,
    ) -> None:
        self.source = source
        self.session = session or default_session()
        self.max_workers = max_workers
        if retry is None:
            retry = getattr(getattr(source, "config", None), "retry", None)
        self.retry: RetryPolicy = retry if isinstance(retry, RetryPolicy) else RetryPolicy()
        self._transport = transport
        self._own_client: httpx.Client | None = None
        self._url: str | None = None
        self._url_lock = threading.Lock()
        self.size: int | None = None
        self.requests = 0

    def __getstate__(self) -> dict[str, Any]:
        return {
            "source": self.source, "max_workers": self.max_workers, "retry": self.retry, "size": self.size,
            "session": self.session,
        }  # fmt: skip

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(  # type: ignore[misc]
            state["source"], max_workers=state["max_workers"], retry=state.get("retry"), session=state.get("session")
        )
        self.size = state["size"]

    def __repr__(self) -> str:
        return f"RangeReader({self.source!r})"

    # -- URL handling ---------------------------------------------------------

    def current_url(self) -> str:
        """The signed URL in use (asked from the source on first use). A secret: never log it."""
        url = self._url
        if url is None:
            with self._url_lock:
                if self._url is None:
                    self._url = self.source.signed_url()
                url = self._url
        return url

    def use_source(self, source: URLSource) -> None:
        """Read with ``source`` from now on (the same file, signed again by the caller)."""
        with self._url_lock:
            self.source = source
            self._url = None

    def refresh_url(self, stale: str) -> str:
        """Re-sign once for all threads that saw ``stale`` refused."""
        with self._url_lock:
            if self._url == stale:
                logger.debug("signed URL refused; asking for a fresh one (%s)", self.source.key)
                fresh = self.source.signed_url(fresh=True)
                if fresh == stale:
                    raise SignedURLError(
                        f"the signed URL for {redact_url(stale)} was refused (expired or "
                        "tampered) and its source cannot renew it; open the product by "
                        "catalog id, Download or pixxel:// path so it can be re-signed"
                    )
                self._url = fresh
            assert self._url is not None
            return self._url

    def _client(self) -> httpx.Client:
        if self._transport is not None:
            if self._own_client is None:
                self._own_client = httpx.Client(transport=self._transport)
            return self._own_client
        return self.session.http_client()

    # -- requests ---------------------------------------------------------------

    def _get(self, range_header: str, whole_ok: bool = True) -> httpx.Response:
        """One ranged GET, re-signing once on 403 and retrying transient failures (:attr:`retry`).

        ``whole_ok=False``: a ``200`` (the server ignored ``Range`` and sends the whole file)
        is refused before its body is read.
        """
        url = self.current_url()
        resigned = False
        attempt = 0
        policy = self.retry
        while True:
            attempt += 1
            self.requests += 1
            try:
                client = self._client()
                request = client.build_request("GET", url, headers={"Range": range_header})
                response = client.send(request, stream=True)
                if response.status_code == 200 and not whole_ok:
                    response.close()
                    raise TransferError(
                        f"{redact_url(url)} ignored the Range header ({range_header}) and sent the whole "
                        "file; reading in place needs a server that answers byte ranges (206)",
                        path=urlsplit(url).path,
                    )
                response.read()
            except httpx.TimeoutException as exc:
                if attempt < policy.max_attempts:
                    time.sleep(policy.delay(attempt - 1))
                    continue
                raise RequestTimeoutError(
                    f"reading {redact_url(url)} timed out ({type(exc).__name__}); check the network and retry"
                ) from None
            except httpx.TransportError as exc:
                if attempt < policy.max_attempts:
                    time.sleep(policy.delay(attempt - 1))
                    continue
                raise NetworkError(
                    f"reading {redact_url(url)} failed: {type(exc).__name__}; check the network and retry"
                ) from None
            status = response.status_code
            if status in (200, 206):
                return response
            if status == 403 and not resigned:
                resigned = True
                url = self.refresh_url(url)
                continue
            if status == 403:
                raise SignedURLError(
                    f"{redact_url(url)} was refused (403) even after re-signing; "
                    "check that the download is still available"
                )
            if status in policy.retry_statuses and attempt < policy.max_attempts:
                retry_after = parse_retry_after(response.headers.get("Retry-After"))
                response.close()
                time.sleep(policy.delay(attempt - 1, retry_after))
                continue
            if status == 404:
                raise NotFoundError(
                    f"{redact_url(url)} does not exist (404)",
                    status_code=404,
                    method="GET",
                    path=urlsplit(url).path,
                )
            if status >= 500:
                raise ServerError(
                    f"reading {redact_url(url)} failed with HTTP {status}; retry later",
                    status_code=status,
                    method="GET",
                    path=urlsplit(url).path,
                )
            raise TransferError(
                f"reading {redact_url(url)} ({range_header}) failed with HTTP {status}",
                path=urlsplit(url).path,
            )

    def _note_size(self, response: httpx.Response) -> tuple[int, int]:
        """Return (start, total) from a response, remembering the file size."""
        if response.status_code == 200:
            total = len(response.content)
            self.size = total
            return 0, total
        match = _CONTENT_RANGE.match(response.headers.get("Content-Range", ""))
        if not match:
            raise TransferError("the server answered a range request without a Content-Range")
        start = int(match.group(1))
        if match.group(3) != "*":
            self.size = int(match.group(3))
        return start, self.size if self.size is not None else -1

    def read_tail(self, length: int) -> tuple[bytes, int]:
        """The last ``length`` bytes (fewer if the file is smaller) and their offset.

        Sets :attr:`size` from the answer's ``Content-Range`` (one request, no HEAD).

        Returns:
            ``(data, offset_of_data)``.
        """
        response = self._get(f"bytes=-{length}")
        start, _ = self._note_size(response)
        return response.content, start

    def get_size(self) -> int:
        """The file's size, from ``Range: bytes=0-0`` if not known yet."""
        if self.size is None:
            self._note_size(self._get("bytes=0-0"))
        assert self.size is not None
        return self.size

    def read(self, start: int, end: int) -> bytes:
        """Bytes ``[start, end)`` of the file (cut at its end once the size is known).

        Raises:
            SignedURLError: refused even after re-signing.
            TransferError: the server did not give the bytes asked for, or ignored ``Range``
                for a read that does not start at 0 (it would send the whole file each time).
        """
        if self.size is not None:
            end = min(end, self.size)
        if end <= start:
            return b""
        response = self._get(f"bytes={start}-{end - 1}", whole_ok=start == 0)
        got_start, _ = self._note_size(response)
        data = response.content
        if response.status_code == 200:
            data = data[start:end]
        elif got_start != start:
            raise TransferError(f"asked for bytes from {start}, the server answered from {got_start}")
        if len(data) != end - start and (self.size is None or end <= self.size):
            raise TransferError(f"asked for {end - start} bytes at {start}, got {len(data)}")
        return data

    def read_ranges(self, ranges: Sequence[tuple[int, int]]) -> list[bytes]:
        """Several ``[start, end)`` ranges, fetched in parallel.

        Nearby ranges are merged into one request; large ones are split.

        Args:
            ranges: byte ranges, end exclusive.

        Returns:
            The bytes of each range, in the order asked: ``b""`` for an empty range
            (``end <= start``); a range past the end of the file is cut at the end.
        """
        if self.size is not None:
            ranges = [(start, min(end, self.size)) for start, end in ranges]
        parts = coalesce_ranges(ranges)
        if not parts:
            return [b""] * len(ranges)
        blobs = [self.read(*parts[0])] if len(parts) == 1 else self._read_parallel(parts)
        starts = [p[0] for p in parts]
        out = []
        for start, end in ranges:
            if end <= start:
                out.append(b"")
                continue
            k = bisect.bisect_right(starts, start) - 1
            p_start = starts[k]
            blob = blobs[k]
            if end > parts[k][1]:
                # Spans a split point: stitch consecutive parts.
                chunks = []
                j = k
                while j < len(parts) and parts[j][0] < end:
                    chunks.append(blobs[j])
                    j += 1
                blob = b"".join(chunks)
            out.append(blob[start - p_start : end - p_start])
        return out

    def _read_parallel(self, parts: list[tuple[int, int]]) -> list[bytes]:
        # At most max_workers requests of this read in flight; the pool is the session's.
        gate = threading.Semaphore(self.max_workers)
        pool = self.session.range_executor()
        futures = []
        for part in parts:
            gate.acquire()
            future = pool.submit(self.read, *part)
            future.add_done_callback(lambda _f: gate.release())
            futures.append(future)
        return [f.result() for f in futures]

    def iter_bytes(self, start: int, end: int, chunk: int = 1024 * 1024) -> Iterator[bytes]:
        """Bytes ``[start, end)`` as successive chunks (one ranged GET per chunk)."""
        pos = start
        while pos < end:
            stop = min(end, pos + chunk)
            yield self.read(pos, stop)
            pos = stop
