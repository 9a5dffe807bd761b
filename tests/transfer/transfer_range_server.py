"""A tiny threaded HTTP file server with Range support, for transfer edge cases.

It serves one payload at ``/file.bin`` with ETag and ``Repr-Digest``, and can
misbehave on request: be slow, ignore Range, lie about the digest, answer 403 to URLs
whose ``sig`` is not current, fail the first N ranged requests with 503.
"""

from __future__ import annotations

import base64
import hashlib
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit


@dataclass
class ServerState:
    payload: bytes
    advertised: bytes | None = None  # digest computed over this instead (to lie)
    honour_range: bool = True
    valid_sig: str = "1"
    fail_ranged: int = 0  # answer 503 to this many ranged (non-probe) requests
    served_ranged: int = 0
    after_ranged: Callable[[int], None] | None = None  # called with served_ranged
    chunk_delay: float = 0.0  # seconds slept between 64 KiB pieces of a body (a slow link)
    log: list[tuple[str, str | None, int]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def etag(self) -> str:
        return '"' + hashlib.md5(self.payload).hexdigest() + '"'

    @property
    def repr_digest(self) -> str:
        source = self.advertised if self.advertised is not None else self.payload
        return "sha-256=:" + base64.b64encode(hashlib.sha256(source).digest()).decode() + ":"


def _handler(state: ServerState) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            sig = parse_qs(parts.query).get("sig", [None])[0]
            rng = self.headers.get("Range")
            if sig != state.valid_sig:
                self._answer(403, b"<Error><Code>AccessDenied</Code></Error>", rng)
                return
            size = len(state.payload)
            if rng and state.honour_range:
                start_s, end_s = rng.removeprefix("bytes=").split("-")
                start, end = int(start_s), min(int(end_s), size - 1)
                with state.lock:
                    fail = state.fail_ranged > 0 and rng != "bytes=0-0"
                    if fail:
                        state.fail_ranged -= 1
                if fail:
                    self._answer(503, b"busy", rng)
                    return
                body = state.payload[start : end + 1]
                self._answer(206, body, rng, {"Content-Range": f"bytes {start}-{end}/{size}"})
                if rng != "bytes=0-0":
                    with state.lock:
                        state.served_ranged += 1
                        served = state.served_ranged
                    if state.after_ranged is not None:
                        state.after_ranged(served)
                return
            self._answer(200, state.payload, rng)

        def _answer(self, status: int, body: bytes, rng: str | None, extra: dict[str, str] | None = None) -> None:
            with state.lock:
                state.log.append(("GET", rng, status))
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            if status in (200, 206):
                self.send_header("ETag", state.etag)
                self.send_header("Repr-Digest", state.repr_digest)
            for key, value in (extra or {}).items():
                self.send_header(key, value)
            self.end_headers()
            with suppress(BrokenPipeError, ConnectionResetError):
                if not state.chunk_delay:
                    self.wfile.write(body)
                    return
                for start in range(0, len(body), 65536):
                    self.wfile.write(body[start : start + 65536])
                    self.wfile.flush()
                    time.sleep(state.chunk_delay)

    return Handler


@contextmanager
def serve(state: ServerState) -> Iterator[str]:
    """Serve ``state`` on 127.0.0.1; yields the base URL of the file (without query)."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/file.bin"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
