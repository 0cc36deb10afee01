"""``python -m service.api_server``: the API on waitress, with a graceful stop.

Waitress alone dies on SIGTERM with requests half-answered. Here SIGTERM (or Ctrl-C) closes
the listening socket first, then keeps serving the connections already open until every
request that had started — even one still uploading its body — has been answered, for at
most ``GRACE_S`` seconds.
"""

from __future__ import annotations

import logging
import signal
import threading
import time

from waitress import create_server, wasyncore

from api.app import get_app
from service.settings import Settings

GRACE_S = 20.0
THREADS = 8
# Seconds one turn of the event loop may wait for network activity before checking for a stop.
POLL_S = 0.2

logger = logging.getLogger("facetasks.api")


def _busy(server) -> bool:
    return server.task_dispatcher.queue or any(
        getattr(channel, "requests", None) or getattr(channel, "request", None)
        or getattr(channel, "total_outbufs_len", 0)
        for channel in list(server._map.values())
    )


def serve(settings: Settings) -> None:
    server = create_server(get_app(settings), host=settings.host, port=settings.port, threads=THREADS)
    stopping = threading.Event()

    def stop(signum: int, frame: object) -> None:
        stopping.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    logger.info("serving on http://%s:%d", settings.host, settings.port)
    while not stopping.is_set():
        wasyncore.loop(timeout=POLL_S, map=server._map, count=1)

    logger.info("stopping: no new connections, finishing requests in flight")
    server.accepting = False
    server.del_channel()
    server.socket.close()
    deadline = time.monotonic() + GRACE_S
    while _busy(server) and time.monotonic() < deadline:
        wasyncore.loop(timeout=POLL_S / 4, map=server._map, count=1)
    server.task_dispatcher.shutdown(timeout=1)
    logger.info("stopped")


if __name__ == "__main__":
    serve(Settings.from_env())
