"""Where a detect message's time goes on its worker thread: one DEBUG line per message.

Enabled with ``LOG_LEVEL=debug`` (the ``actors.timeline`` logger); off, ``mark`` is one attribute
lookup. The line is ``timeline <actor> thread=<name> begin=<t> <phase>=<t> ... end=<t>``, wall-clock
seconds (``time.time()``, comparable with PostgreSQL's ``now()`` and the other processes on the
host), phases in the order they happened. ``make bench``'s breakdown scenario reads these lines.
"""

from __future__ import annotations

import logging
import threading
import time

from dramatiq import Broker
from dramatiq.broker import MessageProxy
from dramatiq.middleware import Middleware

logger = logging.getLogger(__name__)


class _Marks(threading.local):
    # A class attribute: every thread starts with none, and ``mark`` needs no getattr default (it is
    # called eight times per image, timed or not).
    marks: list[tuple[str, float]] | None = None


_local = _Marks()


def mark(phase: str) -> None:
    """Note that this thread's message has just finished ``phase``."""
    marks = _local.marks
    if marks is not None:
        marks.append((phase, time.time()))


def enabled() -> bool:
    return logger.isEnabledFor(logging.DEBUG)


class Timeline(Middleware):
    """Times the messages of ``actor_names`` and logs each one's phases when it is done."""

    def __init__(self, *actor_names: str) -> None:
        self.actor_names = actor_names

    def before_process_message(self, broker: Broker, message: MessageProxy) -> None:
        if message.actor_name in self.actor_names:
            _local.marks = [("begin", time.time())]

    def after_process_message(
        self, broker: Broker, message: MessageProxy, *, result: object = None, exception: BaseException | None = None
    ) -> None:
        marks, _local.marks = _local.marks, None
        if marks is None:
            return
        marks.append(("end", time.time()))
        logger.debug(
            "timeline %s thread=%s %s", message.actor_name, threading.current_thread().name,
            " ".join(f"{p}={t:.6f}" for p, t in marks),
        )

    after_skip_message = after_process_message
