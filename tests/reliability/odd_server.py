"""A small real HTTP/1.1 server on 127.0.0.1 that answers the way a test tells it to.

For what the sandbox cannot do: bodies dripped a byte at a time, headers dripped,
a gzip header on plain bytes, JSON nested 200,000 deep, any status, any body.
"""

from __future__ import annotations

import socket
import socketserver
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class Reply:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=lambda: {"Content-Type": "application/json"})
    drip: float | None = None  # seconds between single bytes of the body
    drip_headers: bool = False  # drip the status line and headers too


@dataclass
class Seen:
    method: str
    path: str
    body: bytes


Handler = Callable[[Seen], Reply]


def _read_request(conn: socket.socket) -> Seen | None:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return None
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    method, target, _ = lines[0].split(" ", 2)
    length = 0
    for line in lines[1:]:
        name, _, value = line.partition(":")
        if name.strip().lower() == "content-length":
            length = int(value.strip())
    while len(rest) < length:
        chunk = conn.recv(65536)
        if not chunk:
            return None
        rest += chunk
    return Seen(method, target.split("?")[0], rest[:length])


class OddServer:
    """Serves ``handler``'s replies until closed. ``url`` is its base URL; ``seen`` the requests.

    Example:
        >>> with OddServer(lambda seen: Reply(body=b"{}")) as server:  # doctest: +SKIP
        ...     httpx.get(server.url + "/x").json()
    """

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.seen: list[Seen] = []
        self.closed = threading.Event()
        outer = self

        class _Handle(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                conn: socket.socket = self.request
                conn.settimeout(5)
                try:
                    while not outer.closed.is_set():
                        seen = _read_request(conn)
                        if seen is None:
                            return
                        outer.seen.append(seen)
                        outer._answer(conn, outer.handler(seen))
                except OSError:
                    return  # the client went away: what the deadline tests want

        self._server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _Handle)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"

    def _answer(self, conn: socket.socket, reply: Reply) -> None:
        headers = {"Content-Length": str(len(reply.body)), **reply.headers}
        head = f"HTTP/1.1 {reply.status} X\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"
        self._send(conn, head.encode("latin-1"), reply.drip if reply.drip_headers else None)
        self._send(conn, reply.body, reply.drip)

    def _send(self, conn: socket.socket, data: bytes, drip: float | None) -> None:
        if drip is None:
            conn.sendall(data)
            return
        for i in range(len(data)):
            if self.closed.wait(drip):
                return
            conn.sendall(data[i : i + 1])

    def close(self) -> None:
        self.closed.set()
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> OddServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def wait_for(predicate: Callable[[], bool], seconds: float = 5.0) -> bool:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.01)
    return predicate()
