"""service.api_server's idea of a connection still in use, on a real waitress server and socket."""

from __future__ import annotations

import socket

from waitress import create_server, wasyncore
from waitress.channel import HTTPChannel

from service.api_server import busy
from tests.harness import free_port, wait_until


def hello(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "2")])
    return [b"ok"]


def test_a_connection_with_a_next_request_waitress_has_not_read_yet_is_busy():
    sockets: dict = {}
    port = free_port()
    server = create_server(hello, map=sockets, host="127.0.0.1", port=port, threads=1)
    client = socket.create_connection(("127.0.0.1", port), timeout=5)
    try:
        wait_until(lambda: wasyncore.loop(timeout=0.05, map=sockets, count=1) or channels(sockets), 5,
                   "the connection accepted")
        assert not busy(sockets)  # open, nothing sent: an idle keep-alive connection

        # A request thread still holds the previous request: waitress does not read the connection.
        channel = channels(sockets)[0]
        channel.requests.append(object())
        client.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n")
        wasyncore.loop(timeout=0.05, map=sockets, count=3)
        channel.requests.clear()
        assert channel.request is None and not channel.total_outbufs_len

        assert busy(sockets)  # only the unread bytes say so
    finally:
        client.close()
        server.task_dispatcher.shutdown(timeout=1)
        wasyncore.close_all(sockets)


def channels(sockets: dict) -> list[HTTPChannel]:
    return [d for d in sockets.values() if isinstance(d, HTTPChannel)]
