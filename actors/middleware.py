"""Worker middleware: database connections, the detector ready at start, images failed when given up."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from uuid import UUID

from dramatiq import Broker
from dramatiq.broker import MessageProxy
from dramatiq.middleware import Middleware

from config.logs import log_context
from detectors.base import Detector, DetectorError
from storage.db import db
from storage.prepared import prepare_all

logger = logging.getLogger(__name__)


class DatabaseConnections(Middleware):
    """Each worker thread keeps the pooled connection its first query took, message after message.

    Taking a connection from Peewee's pool costs a round trip (it checks the connection with
    ``SELECT 1``) made under the pool's lock, so every thread of the process waited for every other's
    check: a few milliseconds per image on a busy host. A connection that has just served a message
    needs no check. After a message that raised, the connection goes back to the pool, which checks it
    when it is next taken: a connection PostgreSQL dropped (a restart) fails one message, which is
    retried, not every message after it.
    """

    def after_worker_thread_boot(self, broker: Broker, thread: object) -> None:
        # Opened and its statements prepared before the first message, which would otherwise wait for
        # them (a run's first images did). Only a head start: whatever fails here (PostgreSQL down, the
        # schema not migrated yet), the first message meets again, and reports or retries.
        try:
            db.connect(reuse_if_open=True)
            prepare_all()
        except Exception as error:
            logger.debug("no database connection opened as the thread started: %s", error)
            if not db.is_closed():
                db.close()

    def after_process_message(
        self, broker: Broker, message: MessageProxy, *, result: object = None, exception: BaseException | None = None
    ) -> None:
        if exception is not None and not db.is_closed():
            db.close()


class DetectorReady(Middleware):
    """The detector made ready (a FaceCloud login) as the worker starts, on a thread of its own, so the
    first images do not wait for it. A failure is only logged: the first image meets it again and is
    failed or retried as usual."""

    def __init__(self, detector: Detector) -> None:
        self.detector = detector
        self._started = False

    def after_worker_boot(self, broker: Broker, worker: object) -> None:
        if not self._started:  # the process's own worker; the webhook pool's boots after it
            self._started = True
            threading.Thread(target=self._ready, name="detector-ready", daemon=True).start()

    def _ready(self) -> None:
        try:
            self.detector.ready()
        except DetectorError as error:
            logger.warning("the detector is not ready yet: %s", error)


class LogContext(Middleware):
    """Every log line written while a message is processed names the message."""

    def before_process_message(self, broker: Broker, message: MessageProxy) -> None:
        log_context.set(f"msg={message.message_id}")

    def after_process_message(
        self, broker: Broker, message: MessageProxy, *, result: object = None, exception: BaseException | None = None
    ) -> None:
        log_context.set("-")

    after_skip_message = after_process_message


class FailImageWhenGivenUp(Middleware):
    """Once Dramatiq gives a detect message up, its image fails with the reason.

    A message is given up when its actor raised an exception it declares permanent
    (``throws=``) or when its retries are exhausted. Must run after ``Retries`` has
    decided, so it is added before it (Dramatiq runs ``after_*`` hooks in reverse).
    """

    def __init__(self, actor_name: str, fail: Callable[[UUID, str, str], None]) -> None:
        self.actor_name = actor_name
        self.fail = fail

    def after_process_message(
        self, broker: Broker, message: MessageProxy, *, result: object = None, exception: BaseException | None = None
    ) -> None:
        if exception is None or not message.failed or message.actor_name != self.actor_name:
            return
        reason = str(exception) or type(exception).__name__
        # Retries counts every failed try of a retried message; a permanent error on
        # the first try leaves it unset.
        attempts = message.options.get("retries", 0)
        if attempts > 1:
            reason = f"{reason} (gave up after {attempts} attempts)"
        self.fail(UUID(message.args[0]), message.message_id, reason)
