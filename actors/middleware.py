"""Worker middleware: database connections per message, and images failed when given up."""

from __future__ import annotations

import logging
from collections.abc import Callable
from uuid import UUID

from dramatiq import Broker
from dramatiq.broker import MessageProxy
from dramatiq.middleware import Middleware

from config.logs import log_context
from storage.db import db

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

    def after_process_message(
        self, broker: Broker, message: MessageProxy, *, result: object = None, exception: BaseException | None = None
    ) -> None:
        if exception is not None and not db.is_closed():
            db.close()


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
