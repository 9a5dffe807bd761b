"""A minimal GET-only HTTP file server with Range support, run as a child process.

Serves the files of one folder at ``/<name>`` (single ranges; HEAD answers 403 like a
GET-only presigned URL), and again at ``/norange/<name>`` ignoring ``Range`` (200, whole file). The tests use it only for fsspec's abstract suite, whose fixed
trees (``source/file1``, ``source/subdir/…``) no sandbox product has; everything else,
DEFLATED members included, reads from a sandbox.

Run: ``python -m tests.io.rangeserver <folder>``; prints the port on stdout.
"""

from __future__ import annotations

import re
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

_RANGE = re.compile(r"bytes=(\d*)-(\d*)$")


def make_handler(folder: Path) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:  # quiet
            pass

        def do_HEAD(self) -> None:
            self.send_response(403)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def do_GET(self) -> None:
            name = self.path.split("?", 1)[0].lstrip("/")
            ignore_range = name.startswith("norange/")
            path = folder / name.removeprefix("norange/")
            if not path.is_file():
                self.send_response(404)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            data = path.read_bytes()
            size = len(data)
            match = None if ignore_range else _RANGE.match(self.headers.get("Range", ""))
            if not match:
                self.send_response(200)
                body = data
            else:
                first, last = match.groups()
                if first == "":
                    start, end = max(0, size - int(last)), size - 1
                else:
                    start, end = int(first), min(size - 1, int(last) if last else size - 1)
                body = data[start : end + 1]
                self.send_response(206)
                self.send_header("Content-Range", f"bytes {start}-{end}/{size}")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    return Handler


def main() -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), make_handler(Path(sys.argv[1])))
    print(server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
