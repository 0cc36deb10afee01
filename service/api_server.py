"""``python -m service.api_server``: the API on waitress, with a graceful stop.

Waitress alone dies on SIGTERM with requests half-answered. Here SIGTERM (or Ctrl-C) closes
the listening sockets first, then keeps serving the connections already open until every
request that had started — even one still uploading its body — has been answered, for at
most ``Settings.api_stop_grace_s`` seconds.

``create_server`` returns one server object when ``HOST`` resolves to one address and a
``MultiSocketServer`` (one listener per address) when it resolves to several, as ``localhost``
does where /etc/hosts lists both 127.0.0.1 and ::1. Both shapes are handled alike: waitress
is handed the socket map it registers its listeners and connections in, and the stop works
on what that map holds.
"""

from __future__ import annotations

import logging
import signal
import socket
import threading
import time

from waitress import create_server, wasyncore
from waitress.channel import HTTPChannel
from waitress.server import BaseWSGIServer

from api.app import get_app
from config.settings import Settings
from service.links import exit_if_misconfigured

# Seconds one turn of the event loop may wait for network activity before checking for a stop.
POLL_S = 0.2
# Seconds the request threads get to end once every connection is answered.
THREADS_EXIT_S = 1.0

logger = logging.getLogger("facetasks.api")

SocketMap = dict[int, wasyncore.dispatcher]


def listeners(sockets: SocketMap) -> list[BaseWSGIServer]:
    return [d for d in sockets.values() if isinstance(d, BaseWSGIServer)]


def busy(sockets: SocketMap) -> bool:
    """True while a connection holds a request being read, queued, run, or an answer not yet sent,
    or has bytes of a next request that waitress has not read yet.

    The last case is a race, not a corner: waitress stops reading a connection until the request
    thread lets go of its previous request, which it does only after the answer was sent; a client
    may by then have sent its next request. Closing that connection with those bytes unread would
    reset it.
    """
    return any(
        channel.requests or channel.request is not None or channel.total_outbufs_len or unread(channel)
        for channel in list(sockets.values()) if isinstance(channel, HTTPChannel)
    )


def unread(channel: HTTPChannel) -> bool:
    """True when the client sent bytes that are still in the kernel's buffer (not at end of stream)."""
    try:
        return bool(channel.socket.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT))
    except OSError:  # nothing yet (EAGAIN), or a connection already closed
        return False


def stop_listening(sockets: SocketMap) -> None:
    """Close every listening socket, so new connections are refused while open ones are served.

    Only the socket: the server's trigger, which request threads pull when an answer is ready,
    stays open until the end.
    """
    for listener in listeners(sockets):
        wasyncore.dispatcher.close(listener)


def serve(settings: Settings) -> None:
    sockets: SocketMap = {}
    server = create_server(
        get_app(settings), map=sockets, host=settings.host, port=settings.port, threads=settings.api_threads
    )
    stopping = threading.Event()

    def stop(signum: int, frame: object) -> None:
        stopping.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    for listener in listeners(sockets):
        host = listener.effective_host
        logger.info("serving on http://%s:%s", f"[{host}]" if ":" in host else host, listener.effective_port)
    while not stopping.is_set():
        wasyncore.loop(timeout=POLL_S, map=sockets, count=1)

    logger.info("stopping: no new connections, finishing requests in flight")
    stop_listening(sockets)
    deadline = time.monotonic() + settings.api_stop_grace_s
    # One turn first: bytes already received (a request's start) make their connection busy.
    wasyncore.loop(timeout=0, map=sockets, count=1)
    while busy(sockets) and time.monotonic() < deadline:
        wasyncore.loop(timeout=POLL_S / 4, map=sockets, count=1)
    server.task_dispatcher.shutdown(timeout=THREADS_EXIT_S)
    wasyncore.close_all(sockets)
    logger.info("stopped")


if __name__ == "__main__":
    settings = Settings.from_env()
    settings.configure_logging()
    exit_if_misconfigured(settings)
    serve(settings)
