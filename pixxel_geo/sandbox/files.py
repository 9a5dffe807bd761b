"""Serving archives at signed URLs, as raw ASGI (streamed in chunks, never whole in memory).

``GET /files/<download_id>/catalogs.zip?X-Pixxel-Expires=…&X-Pixxel-Signature=…``

- 200 with ``Content-Length``, ``ETag``, ``Accept-Ranges: bytes`` and
  ``Repr-Digest: sha-256=:<base64>:`` (RFC 9530: the SHA-256 of the whole file, on 200 and 206
  alike, so a client can verify a file assembled from ranges).
- ``Range: bytes=a-b`` → 206 with ``Content-Range``; several ranges → 206
  ``multipart/byteranges``; nothing satisfiable → 416 with ``Content-Range: bytes */<size>``;
  a Range header that does not parse is ignored (200), as RFC 9110 says.
- ``HEAD`` → the settings' ``head_status`` (403 by default, like a GET-only presigned URL).
- Missing, tampered or expired signature → 403 with an S3-style XML body; an unknown or
  unfinished download → 404 ``NoSuchKey``.
- Faults: ``bandwidth`` (bytes/s per response), ``cut_after`` (close mid-body), ``no_range``,
  ``file_rate_limit`` (429 ``SlowDown`` with ``Retry-After``), ``flip_byte`` (a byte inverted in
  transit), ``hash_headers`` (the checksums of Google Cloud Storage — ``x-goog-hash: crc32c=…,
  md5=…`` — or of S3 — an MD5 ``ETag`` — instead of ``Repr-Digest``, or none) and
  ``part_digests`` (``Content-Digest`` of each 206 body).
- A client that closes the connection mid-body (GDAL's size probe reads the headers of a whole-file
  GET and drops it) stops the streaming at the next chunk, so the request log counts what went out
  before the close (plus at most what the socket's buffers held), not the whole file.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import math
import secrets
import time
from pathlib import Path
from urllib.parse import parse_qsl

import anyio.to_thread
import google_crc32c
from starlette.types import Receive, Scope, Send

from pixxel_geo.sandbox import lifecycle
from pixxel_geo.sandbox.errors import s3_error_body
from pixxel_geo.sandbox.runtime import Runtime
from pixxel_geo.sandbox.signing import Verdict, verify
from pixxel_geo.sandbox.timefmt import rfc3339

CHUNK = 256 * 1024
SEND_STEP = 64 * 1024  # bytes per send: how far past a client's close the server can get
MAX_RANGES = 200
Ranges = list[tuple[int, int]]


def parse_range(header: str | None, size: int) -> Ranges | None:
    """Parse a ``Range`` header against a file size.

    Args:
        header: the header value, e.g. ``bytes=0-99,200-``.
        size: the file size.

    Returns:
        None to serve the whole file (no header, or one that does not parse), an empty list
        when nothing is satisfiable, else inclusive ``(first, last)`` pairs.

    Example:
        >>> parse_range("bytes=0-9,-5", 100)
        [(0, 9), (95, 99)]
        >>> parse_range("bytes=100-", 100)
        []
    """
    if not header:
        return None
    unit, _, spec = header.partition("=")
    if unit.strip().lower() != "bytes" or not spec.strip():
        return None
    parts = [p.strip() for p in spec.split(",")]
    if len(parts) > MAX_RANGES:
        return None
    ranges: Ranges = []
    for part in parts:
        first_text, dash, last_text = part.partition("-")
        if not dash:
            return None
        try:
            if first_text == "":
                suffix = int(last_text)
                if suffix < 0:
                    return None
                if suffix == 0 or size == 0:
                    continue
                ranges.append((max(size - suffix, 0), size - 1))
                continue
            first = int(first_text)
            last = int(last_text) if last_text else None
        except ValueError:
            return None
        if first < 0 or (last is not None and last < first):
            return None
        if first >= size:
            continue
        if last is None:
            last = size - 1
        ranges.append((first, min(last, size - 1)))
    return ranges


_checksums: dict[tuple[str, int, int], tuple[bytes, bytes]] = {}


def _file_checksums(path: Path) -> tuple[bytes, bytes]:
    """The MD5 and CRC32C (big-endian) of a file, computed once per version of it."""
    stat = path.stat()
    key = (str(path), stat.st_size, stat.st_mtime_ns)
    if key not in _checksums:
        md5 = hashlib.md5(usedforsecurity=False)
        crc = google_crc32c.Checksum()
        with path.open("rb") as handle:
            while chunk := handle.read(CHUNK * 4):
                md5.update(chunk)
                crc.update(chunk)
        _checksums[key] = (md5.digest(), bytes(crc.digest()))
    return _checksums[key]


def _range_sha256(path: Path, first: int, last: int) -> bytes:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        handle.seek(first)
        remaining = last - first + 1
        while remaining > 0 and (chunk := handle.read(min(CHUNK * 4, remaining))):
            remaining -= len(chunk)
            digest.update(chunk)
    return digest.digest()


async def _checksum_headers(mode: str, path: Path, sha256_hex: str, size: int) -> list[tuple[bytes, bytes]]:
    """The ETag and checksum headers a file response carries in the ``hash_headers`` mode."""
    if mode == "repr-digest":
        digest = base64.b64encode(bytes.fromhex(sha256_hex)).decode()
        return [(b"etag", f'"{sha256_hex[:32]}"'.encode()), (b"repr-digest", f"sha-256=:{digest}:".encode())]
    if mode == "none":
        return [(b"etag", f'"{sha256_hex[:32]}"'.encode())]
    md5, crc = await anyio.to_thread.run_sync(_file_checksums, path)
    etag = f'"{md5.hex()}"'.encode()
    if mode == "gcs":
        return [
            (b"etag", etag),
            (b"x-goog-hash", b"crc32c=" + base64.b64encode(crc)),
            (b"x-goog-hash", b"md5=" + base64.b64encode(md5)),
            (b"x-goog-generation", b"1700000000000000"),
            (b"x-goog-metageneration", b"1"),
            (b"x-goog-stored-content-length", str(size).encode()),
            (b"x-goog-storage-class", b"STANDARD"),
        ]
    return [  # s3: a single-part object, whose ETag is its MD5
        (b"etag", etag),
        (b"x-amz-request-id", secrets.token_hex(8).upper().encode()),
        (b"x-amz-id-2", base64.b64encode(secrets.token_bytes(48))),
        (b"server", b"AmazonS3"),
    ]


class _Body:
    """Sends body chunks, applying the bandwidth cap and the cut and flip faults."""

    def __init__(self, send: Send, bandwidth: float | None, cut_after: int | None, flip: int | None = None) -> None:
        self.send = send
        self.bandwidth = bandwidth
        self.cut_after = cut_after
        self.flip = flip
        self.sent = 0
        self.started = time.monotonic()
        self.cut = False
        self.disconnected = asyncio.Event()

    async def write(self, data: bytes) -> bool:
        """Send data; False when the connection was cut and nothing more must be sent."""
        if self.disconnected.is_set():
            return False
        if self.cut_after is not None and self.sent + len(data) >= self.cut_after:
            data = data[: max(self.cut_after - self.sent, 0)]
            self.cut = True
        step = SEND_STEP if self.bandwidth is None else max(1024, min(SEND_STEP, int(self.bandwidth / 20)))
        for start in range(0, len(data), step):
            if self.disconnected.is_set():
                return False
            piece = data[start : start + step]
            await self.send({"type": "http.response.body", "body": piece, "more_body": True})
            self.sent += len(piece)
            if self.bandwidth:
                ahead = self.sent / self.bandwidth - (time.monotonic() - self.started)
                if ahead > 0:
                    await asyncio.sleep(ahead)
                    continue
            # A send that fits in the socket's buffers never yields to the event loop, so
            # without this the loop would not see the client close and the whole file would
            # be handed to a dead connection (and counted in the request log as sent).
            await asyncio.sleep(0)
        return not self.cut

    async def file_range(self, path: Path, first: int, last: int) -> bool:
        with path.open("rb") as handle:
            handle.seek(first)
            remaining = last - first + 1
            while remaining > 0:
                position = handle.tell()
                chunk = handle.read(min(CHUNK, remaining))
                if not chunk:
                    break
                remaining -= len(chunk)
                if self.flip is not None and position <= self.flip < position + len(chunk):
                    corrupted = bytearray(chunk)
                    corrupted[self.flip - position] ^= 0xFF
                    chunk = bytes(corrupted)
                if not await self.write(chunk):
                    return False
        return True


async def _simple(send: Send, status: int, body: bytes, content_type: str, extra=()) -> None:
    headers = [
        (b"content-type", content_type.encode()),
        (b"content-length", str(len(body)).encode()),
        *extra,
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def serve_file(rt: Runtime, scope: Scope, receive: Receive, send: Send) -> None:
    """Answer one request under ``/files/`` (see the module docstring)."""
    path: str = scope["path"]
    method: str = scope["method"]
    params = dict(parse_qsl(scope.get("query_string", b"").decode("latin-1")))
    xml = "application/xml"
    parts = path.strip("/").split("/")
    if method not in ("GET", "HEAD"):
        body = s3_error_body("MethodNotAllowed", "The specified method is not allowed")
        await _simple(send, 405, body, xml, [(b"allow", b"GET")])
        return
    if rt.faults.take("file_rate_limit"):
        body = s3_error_body("SlowDown", "Please reduce your request rate.")
        seconds = str(math.ceil(rt.faults.faults.retry_after)).encode()
        await _simple(send, 429, b"" if method == "HEAD" else body, xml, [(b"retry-after", seconds)])
        return
    verdict, expires = verify(rt.secret, path, params)
    if verdict is not Verdict.VALID:
        if method == "HEAD":
            await _simple(send, 403, b"", xml)
            return
        if verdict is Verdict.EXPIRED and expires is not None:
            body = s3_error_body(
                "AccessDenied",
                "Request has expired",
                {"Expires": rfc3339(expires), "ServerTime": rfc3339(rt.now())},
            )
        elif verdict is Verdict.MISSING:
            body = s3_error_body(
                "AccessDenied",
                "Query-string authentication requires the X-Pixxel-Expires and X-Pixxel-Signature parameters",
            )
        else:
            body = s3_error_body(
                "SignatureDoesNotMatch",
                "The request signature we calculated does not match the signature you provided",
            )
        await _simple(send, 403, body, xml)
        return
    record = rt.state.downloads.get(parts[1]) if len(parts) == 3 else None
    ready = record is not None and lifecycle.download_status(record, rt.now()) == "success"
    if record is None or not ready or parts[2] != "catalogs.zip":
        body = s3_error_body("NoSuchKey", "The specified key does not exist.")
        await _simple(send, 404, b"" if method == "HEAD" else body, xml)
        return
    if method == "HEAD" and rt.settings.head_status != 200:
        await _simple(send, rt.settings.head_status, b"", xml)
        return

    archive = await rt.archive_for(record)
    size = archive.size
    faults = rt.faults.faults
    common: list[tuple[bytes, bytes]] = [
        (b"accept-ranges", b"bytes"),
        *await _checksum_headers(faults.hash_headers, archive.path, archive.sha256, size),
        (b"last-modified", _http_date(archive.path.stat().st_mtime).encode()),
    ]
    headers = dict(scope.get("headers") or [])
    range_header = headers.get(b"range", b"").decode("latin-1") or None
    ranges = None if faults.no_range else parse_range(range_header, size)
    if ranges == []:
        body = s3_error_body("InvalidRange", "The requested range is not satisfiable")
        extra = [(b"content-range", f"bytes */{size}".encode()), *common]
        await _simple(send, 416, body, xml, extra)
        return

    if ranges is None:
        status, pieces = 200, [(0, size - 1)] if size else []
        response_headers = [
            (b"content-type", b"application/zip"),
            (b"content-length", str(size).encode()),
        ]
        multipart: list[tuple[bytes, int, int]] = []
    elif len(ranges) == 1:
        first, last = ranges[0]
        status, pieces = 206, ranges
        response_headers = [
            (b"content-type", b"application/zip"),
            (b"content-length", str(last - first + 1).encode()),
            (b"content-range", f"bytes {first}-{last}/{size}".encode()),
        ]
        if faults.part_digests:
            part = await anyio.to_thread.run_sync(_range_sha256, archive.path, first, last)
            response_headers.append((b"content-digest", f"sha-256=:{base64.b64encode(part).decode()}:".encode()))
        multipart = []
    else:
        boundary = secrets.token_hex(12)
        multipart = [
            (
                (
                    f"\r\n--{boundary}\r\nContent-Type: application/zip\r\n"
                    f"Content-Range: bytes {first}-{last}/{size}\r\n\r\n"
                ).encode(),
                first,
                last,
            )
            for first, last in ranges
        ]
        closing = f"\r\n--{boundary}--\r\n".encode()
        length = sum(len(h) + last - first + 1 for h, first, last in multipart) + len(closing)
        status, pieces = 206, ranges
        response_headers = [
            (b"content-type", f"multipart/byteranges; boundary={boundary}".encode()),
            (b"content-length", str(length).encode()),
        ]
    await send({"type": "http.response.start", "status": status, "headers": response_headers + common})
    if method == "HEAD":
        await send({"type": "http.response.body", "body": b""})
        return
    await _stream(rt, send, receive, archive.path, pieces, multipart, closing if multipart else b"")


async def _stream(
    rt: Runtime,
    send: Send,
    receive: Receive,
    path: Path,
    pieces: Ranges,
    multipart: list[tuple[bytes, int, int]],
    closing: bytes,
) -> None:
    flip = rt.faults.take_flip(min(p[0] for p in pieces), max(p[1] for p in pieces)) if pieces else None
    body = _Body(send, rt.faults.faults.bandwidth, rt.faults.take_cut(), flip)
    disconnected = body.disconnected

    async def watch() -> None:
        while (await receive())["type"] != "http.disconnect":
            pass
        disconnected.set()

    watcher = asyncio.ensure_future(watch())
    try:
        if multipart:
            for header, first, last in multipart:
                if not await body.write(header):
                    return
                if not await body.file_range(path, first, last):
                    return
            if not await body.write(closing):
                return
        else:
            for first, last in pieces:
                if not await body.file_range(path, first, last):
                    return
        await send({"type": "http.response.body", "body": b""})
    finally:
        watcher.cancel()


def _http_date(epoch: float) -> str:
    return time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(epoch))
