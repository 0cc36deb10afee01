"""A broker outage as one worker process rides it out: one warning when it begins, one when it ends, and
the detect messages whose publish failed meanwhile sent as soon as RabbitMQ answers again.

Without this, an image queued while the broker was down waited for housekeeping's unsent sweep
(UNSENT_AFTER_S, a minute by default) and every consumer thread logged a CRITICAL line per reconnection
attempt, for an outage the service rides out. Housekeeping's sweep stays the backstop for a process that
dies before the broker is back.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable
from uuid import UUID

import pika.exceptions

from actors.dispatcher import Dispatcher
from actors.messages import QueueUnavailable
from storage.db import db
from storage.errors import DatabaseUnavailable

logger = logging.getLogger(__name__)

# Seconds between two checks of the broker while it is down.
POLL_S = 1.0


class BrokerOutage:
    def __init__(self, dispatcher: Dispatcher, poll_s: float = POLL_S) -> None:
        self._dispatcher = dispatcher
        self._poll_s = poll_s
        self._lock = threading.Lock()
        self._unsent: set[UUID] = set()
        self._since: float | None = None

    def lost(self, reason: str, unsent: Iterable[UUID] = ()) -> None:
        """The broker failed a call; ``unsent`` are queued images whose message it did not take."""
        with self._lock:
            self._unsent.update(unsent)
            if self._since is not None:
                return
            self._since = time.monotonic()
        logger.warning("RabbitMQ unreachable: %s; waiting for it, images queued meanwhile are sent when it is back",
                       reason)
        threading.Thread(target=self._wait_for_broker, name="broker-outage", daemon=True).start()

    def _wait_for_broker(self) -> None:
        sent = 0
        while True:
            time.sleep(self._poll_s)
            with self._lock:
                unsent = sorted(self._unsent)
            try:
                self._dispatcher.publisher.check()
                with db.connection_context():
                    sent += self._dispatcher.send(unsent)
            except (QueueUnavailable, DatabaseUnavailable):
                continue
            with self._lock:
                self._unsent.difference_update(unsent)
                if self._unsent:  # queued by another thread meanwhile: sent on the next round
                    continue
                down_s, self._since = time.monotonic() - (self._since or 0.0), None
            logger.warning("RabbitMQ reachable again after %.1f s; %d queued images sent", down_s, sent)
            return

    def log_filter(self) -> logging.Filter:
        """A handler filter that turns Dramatiq's reports of this outage into ``lost``: its consumer threads
        log a CRITICAL line per reconnection attempt, and a warning per message they cannot acknowledge (it
        is delivered again), or whose channel the reconnection replaced."""
        return _DramatiqOutageLines(self)


# What Dramatiq logs when the broker goes (the first two) and once it is back (the last).
_LOST = ("Consumer encountered a connection error", "Failed to post_process_message(")
# A consumer whose reconnection fails while it declares its queue gets pika's own connection error, which
# Dramatiq does not wrap and so reports as unexpected: the same outage, told by its exception.
_UNEXPECTED = "Consumer encountered an unexpected error"
_PIKA_CONNECTION_ERRORS = (pika.exceptions.AMQPConnectionError, pika.exceptions.AMQPChannelError)
_QUIET = ("Restarting consumer in", "Failed to ack message: not in known tags")


class _DramatiqOutageLines(logging.Filter):
    def __init__(self, outage: BrokerOutage) -> None:
        super().__init__()
        self._outage = outage

    def filter(self, record: logging.LogRecord) -> bool:
        if not record.name.startswith("dramatiq."):
            return True
        text = str(record.msg)
        if text.startswith(_LOST):
            args = record.args if isinstance(record.args, tuple) else ()
            self._outage.lost(str(next((arg for arg in args if isinstance(arg, BaseException)), text)))
            return False
        error = record.exc_info[1] if record.exc_info else None
        if text.startswith(_UNEXPECTED) and isinstance(error, _PIKA_CONNECTION_ERRORS):
            self._outage.lost(str(error) or type(error).__name__)
            return False
        return not text.startswith(_QUIET)

