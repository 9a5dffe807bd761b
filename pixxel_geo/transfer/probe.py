"""Sizing the remote file: size, ETag, digest and Range support from a one-byte GET."""

from __future__ import annotations

import time
from dataclasses import dataclass

import httpx

from pixxel_geo.api.errors import TransferError
from pixxel_geo.ranged import ExpectedDigest, announced_digest, parse_content_range
from pixxel_geo.transfer.retrying import Attempts, Failure
from pixxel_geo.transfer.session import BASE_HEADERS, TransferSession
from pixxel_geo.transfer.state import RemoteIdentity

__all__ = ["Probe", "probe"]


@dataclass(frozen=True)
class Probe:
    """What the server said about the file: ``size`` (``None``: unknown) and whether it honours Range."""

    size: int | None
    etag: str | None
    digest: ExpectedDigest | None
    ranged: bool
    round_trip: float | None = None
    """Seconds from sending the probe to its answer's headers (connection setup included)."""

    @property
    def identity(self) -> RemoteIdentity:
        """The file's identity, for the resume sidecar and the verified records."""
        return RemoteIdentity(self.size, self.etag, self.digest.header_value if self.digest else None)


def probe(session: TransferSession, http: httpx.Client) -> Probe:
    """Size the file with ``GET`` and ``Range: bytes=0-0`` (signed URLs may refuse ``HEAD``).

    A 206 (or a 416: an empty file) gives the size in ``Content-Range`` and the
    file's digest (``Repr-Digest``, ``x-goog-hash`` or an S3 MD5 ``ETag``: see
    :func:`~pixxel_geo.transfer.digest.announced_digest`); a 200 means the
    server ignores Range, and its digest may also come as ``Content-Digest``
    (the whole body is the file).
    """
    attempts = Attempts(session)
    while True:
        session.check_stop()
        sent = time.monotonic()
        try:
            with http.stream(
                "GET", session.url.get().url, headers={**BASE_HEADERS, "Range": "bytes=0-0"}, auth=session.auth
            ) as response:
                round_trip = time.monotonic() - sent
                status = response.status_code
                headers = response.headers
                if status in (206, 416):
                    content_range = parse_content_range(headers.get("Content-Range"))
                    total = content_range.total if content_range is not None else None
                    if total is None:
                        raise TransferError(
                            f"{session.url.safe} answered {status} without a usable "
                            "Content-Range header: the server is not behaving like a "
                            "file server."
                        )
                    return Probe(
                        size=total,
                        etag=headers.get("ETag"),
                        digest=announced_digest(headers, whole_body=False),
                        ranged=status == 206,
                        round_trip=round_trip,
                    )
                if status == 200:
                    length = headers.get("Content-Length")
                    return Probe(
                        size=int(length) if length and length.isdigit() else None,
                        etag=headers.get("ETag"),
                        digest=announced_digest(headers, whole_body=True),
                        ranged=False,
                    )
                failure = attempts.unexpected(response)
        except httpx.TransportError as exc:
            failure = Failure.of(exc)
        attempts.back_off(failure, "sizing")
