"""Read byte ranges of a file behind a signed URL, re-signing when it expires.

:class:`RangeReader` sends ranged GETs over its session's ``httpx.Client``
(:class:`~pixxel_geo.io.session.IOSession`), fetches the ranges of one read in parallel,
and retries once after a 403 with a fresh URL from its :class:`URLSource` (the toolkit's
:class:`~pixxel_geo.ranged.ResignOn403` flow: many threads hitting the same expiry re-sign once)
and after transient failures (:class:`~pixxel_geo.ranged.Attempts`). It never sends HEAD: the
size comes from a suffix range's ``Content-Range``.

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
import threading
import time
from collections.abc import Iterator, Sequence
from typing import Any, Protocol, runtime_checkable
from urllib.parse import urlsplit

import httpx

from pixxel_geo.api.errors import (
    NetworkError,
    NotFoundError,
    PixxelError,
    RequestTimeoutError,
    ServerError,
    SignedURLError,
    TransferError,
)
from pixxel_geo.api.redact import redact_url
from pixxel_geo.api.retry import RetryPolicy
from pixxel_geo.io.session import IOSession, default_session
from pixxel_geo.ranged import Attempts, Failure, RenewableURL, ResignOn403, parse_content_range

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
        self._url = self._renewable(source)
        self._auth = ResignOn403(self._url)
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

    @staticmethod
    def _renewable(source: URLSource) -> RenewableURL:
        return RenewableURL(
            source.signed_url,
            refresh=lambda: source.signed_url(fresh=True),
            advice="open the product by catalog id, Download or pixxel:// path so it can be re-signed",
        )

    @property
    def _url_lock(self) -> threading.Lock:
        """The lock of the URL's renewal (a forked child replaces it)."""
        return self._url.lock

    @_url_lock.setter
    def _url_lock(self, lock: threading.Lock) -> None:
        self._url.lock = lock

    def current_url(self) -> str:
        """The signed URL in use (asked from the source on first use). A secret: never log it."""
        return self._url.get().url

    def use_source(self, source: URLSource) -> None:
        """Read with ``source`` from now on (the same file, signed again by the caller)."""
        self.source = source
        self._url = self._renewable(source)
        self._auth = ResignOn403(self._url)

    def refresh_url(self, stale: str) -> str:
        """Re-sign once for all threads that saw ``stale`` refused.

        Raises:
            SignedURLError: the source cannot renew the URL.
        """
        current = self._url.get()
        if current.url != stale:
            return current.url
        logger.debug("signed URL refused; asking for a fresh one (%s)", self.source.key)
        return self._url.renew(current.generation).url

    def _client(self) -> httpx.Client:
        if self._transport is not None:
            if self._own_client is None:
                self._own_client = httpx.Client(transport=self._transport)
            return self._own_client
        return self.session.http_client()

    # -- requests ---------------------------------------------------------------

    def _get(self, range_header: str, whole_ok: bool = True) -> httpx.Response:
        """One ranged GET, re-signed on 403 (:class:`~pixxel_geo.ranged.ResignOn403`) and retried
        after transient failures (:class:`~pixxel_geo.ranged.Attempts`, :attr:`retry`).

        ``whole_ok=False``: a ``200`` (the server ignored ``Range`` and sends the whole file)
        is refused before its body is read.
        """
        attempts = Attempts(self.retry, sleep=_sleep)
        while True:
            self.requests += 1
            url = self._url.get().url
            error: PixxelError
            try:
                client = self._client()
                request = client.build_request("GET", url, headers={"Range": range_header})
                response = client.send(request, stream=True, auth=self._auth)
                url = str(response.request.url)
                if response.status_code == 200 and not whole_ok:
                    response.close()
                    raise TransferError(
                        f"{redact_url(url)} ignored the Range header ({range_header}) and sent the whole "
                        "file; reading in place needs a server that answers byte ranges (206)",
                        path=urlsplit(url).path,
                    )
                response.read()
            except httpx.TimeoutException as exc:
                failure = Failure.of(exc)
                error = RequestTimeoutError(
                    f"reading {redact_url(url)} timed out ({type(exc).__name__}); check the network and retry"
                )
            except httpx.TransportError as exc:
                failure = Failure.of(exc)
                error = NetworkError(
                    f"reading {redact_url(url)} failed: {type(exc).__name__}; check the network and retry"
                )
            else:
                status = response.status_code
                if status in (200, 206):
                    return response
                if status == 403:
                    raise SignedURLError(
                        f"{redact_url(url)} was refused (403) even after re-signing; "
                        "check that the download is still available"
                    )
                error = _status_error(url, status, range_header)
                if not attempts.retryable(response):
                    raise error
                failure = Failure.of_response(response)
                response.close()
            give_up = attempts.back_off(failure)
            if give_up is not None:
                if give_up.waits_too_long:
                    raise TransferError(
                        f"reading {redact_url(url)}: {give_up.describe(range_header)}; retry later",
                        path=urlsplit(url).path,
                    ) from None
                raise error from None

    def _note_size(self, response: httpx.Response) -> tuple[int, int]:
        """Return (start, total) from a response, remembering the file size."""
        if response.status_code == 200:
            total = len(response.content)
            self.size = total
            return 0, total
        content_range = parse_content_range(response.headers.get("Content-Range"))
        if content_range is None or content_range.start is None:
            raise TransferError("the server answered a range request without a usable Content-Range")
        if content_range.total is not None:
            self.size = content_range.total
        return content_range.start, self.size if self.size is not None else -1

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


def _sleep(seconds: float) -> None:
    time.sleep(seconds)  # looked up at call time (tests replace time.sleep)


def _status_error(url: str, status: int, range_header: str) -> PixxelError:
    """The error for a ranged GET answered with ``status`` (no query string in it)."""
    path = urlsplit(url).path
    if status == 404:
        return NotFoundError(f"{redact_url(url)} does not exist (404)", status_code=404, method="GET", path=path)
    if status >= 500:
        return ServerError(
            f"reading {redact_url(url)} failed with HTTP {status}; retry later",
            status_code=status,
            method="GET",
            path=path,
        )
    return TransferError(f"reading {redact_url(url)} ({range_header}) failed with HTTP {status}", path=path)
