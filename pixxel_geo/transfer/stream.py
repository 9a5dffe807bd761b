"""The single-stream fallback: one plain GET for servers without Range support (or empty files)."""

from __future__ import annotations

import os

import httpx

from pixxel_geo.api.events import StateChanged, emit
from pixxel_geo.ranged import announced_digest
from pixxel_geo.transfer.files import pwrite_all
from pixxel_geo.transfer.probe import Probe
from pixxel_geo.transfer.progress import ProgressMeter
from pixxel_geo.transfer.retrying import Attempts, Failure
from pixxel_geo.transfer.session import BASE_HEADERS, TransferSession
from pixxel_geo.transfer.state import RemoteIdentity

__all__ = ["CHUNK_SIZE", "fetch_stream"]

CHUNK_SIZE = 1 << 20


def fetch_stream(session: TransferSession, http: httpx.Client, remote: Probe) -> tuple[int, str, RemoteIdentity]:
    """Fetch the whole file in one GET into ``.part`` and verify it.

    Without Range nothing can be resumed: any partial file is discarded first
    and a broken stream starts over from byte 0.

    Returns:
        The bytes fetched, how they were verified, and the file's identity
        (its size and digest are known for sure only now).
    """
    session.discard_partial()
    attempts = Attempts(session)
    emit(session.on_event, StateChanged(subject=session.name, status="downloading"))
    meter = ProgressMeter(session.name, total=remote.size, on_event=session.on_event)
    fd = os.open(session.part_path, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        while True:
            session.check_stop()
            try:
                with http.stream("GET", session.url.get().url, headers=BASE_HEADERS, auth=session.auth) as response:
                    if response.status_code == 200:
                        digest = remote.digest or announced_digest(response.headers, whole_body=True)
                        hash_object = digest.new_hash() if digest else None
                        os.ftruncate(fd, 0)
                        meter.reset(0)
                        offset = 0
                        for chunk in response.iter_bytes(CHUNK_SIZE):
                            session.check_stop()
                            pwrite_all(fd, chunk, offset)
                            offset += len(chunk)
                            if hash_object is not None:
                                hash_object.update(chunk)
                            meter.add(len(chunk))
                        break
                    failure = attempts.unexpected(response)
            except httpx.TransportError as exc:
                failure = Failure.of(exc)
            attempts.back_off(failure, "the whole file (no Range support)")
        session.verifying(meter)
        if remote.size is not None and offset != remote.size:
            session.fail_integrity(f"received {offset} bytes, expected {remote.size}")
        verified = "size" if remote.size is not None else "none"
        if digest is not None and hash_object is not None:
            verified = session.check_digest(digest, hash_object.digest())
        os.fsync(fd)
    finally:
        os.close(fd)
    return offset, verified, RemoteIdentity(offset, remote.etag, digest.header_value if digest else None)
