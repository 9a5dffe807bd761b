"""The sandbox's socket: Nagle off on every connection (no 40 ms delayed-ACK stalls)."""

from __future__ import annotations

import socket

from pixxel_geo.sandbox.server import listening_socket


def test_accepted_connections_are_tcp_with_nagle_off():
    server = listening_socket(0)
    try:
        server.listen(1)
        with socket.create_connection(server.getsockname(), timeout=5):
            conn, _ = server.accept()
            with conn:
                # asyncio only sets TCP_NODELAY itself on sockets whose proto is TCP.
                assert conn.proto == socket.IPPROTO_TCP
                assert conn.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 1
    finally:
        server.close()
