"""The pipeline's messages, published by the API (start, retry) and by the stages.

Messages are addressed by actor name, so a publisher needs the broker only, not the
actors' code (the API never imports a detector).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from uuid import UUID

import pika
import pika.exceptions
from dramatiq import Broker, Message
from dramatiq.errors import BrokerError

DETECT_QUEUE = "detect"
AGGREGATE_QUEUE = "aggregate"
DETECT_ACTOR = "detect_image"
AGGREGATE_ACTOR = "aggregate_task"
DISPATCH_ACTOR = "dispatch_task"
# Webhooks wait on receivers that may be slow: a queue of their own, never in the pipeline's way.
WEBHOOK_QUEUE = "webhooks"
WEBHOOK_ACTOR = "deliver_webhook"

_BROKER_ERRORS = (BrokerError, pika.exceptions.AMQPError, OSError)
# Messages made durable per RabbitMQ transaction; bounds the broker's buffer per commit.
PUBLISH_BATCH = 500
_PERSISTENT = pika.BasicProperties(delivery_mode=2)


class QueueUnavailable(Exception):
    """RabbitMQ cannot be reached or refused a publish."""


def broker_error_reason(error: BaseException) -> str:
    """What went wrong, in the broker's or the operating system's words (pika nests them in its own)."""
    while True:
        inner = getattr(error, "exception", None) or (error.args[0] if error.args else None)
        if not isinstance(inner, BaseException):
            break
        error = inner
    return str(error) or type(error).__name__


class UnsentImages(QueueUnavailable):
    """Images committed as queued whose detect messages RabbitMQ did not take."""

    def __init__(self, error: QueueUnavailable, image_ids: Sequence[UUID]) -> None:
        super().__init__(str(error))
        self.image_ids = image_ids


def _message(queue: str, actor: str, *args: str | int) -> Message:
    return Message(queue_name=queue, actor_name=actor, args=args, kwargs={}, options={})


class Publisher:
    def __init__(self, broker: Broker) -> None:
        self.broker = broker
        self._batch = threading.local()

    def check(self) -> None:
        """Raise ``QueueUnavailable`` unless this thread's broker connection is usable now.

        Called before a state change that must publish, so a broker outage refuses the
        request (503) before anything changes.
        """
        for _ in range(2):  # a connection the broker closed while idle is replaced once
            try:
                self.broker.connection.process_data_events(time_limit=0)
                return
            except _BROKER_ERRORS as error:
                reason = broker_error_reason(error)
                del self.broker.connection
        raise QueueUnavailable(f"RabbitMQ is unreachable: {reason}")

    def detect_images(self, image_ids: Iterable[UUID]) -> None:
        """Publish one detect message per image, in transactional batches.

        Dramatiq's ``enqueue`` waits for a publisher confirm per message: 64 messages took 47.8 ms
        that way and 5.4 ms in one RabbitMQ transaction on raw pika, 500 took 375 ms and 59 ms (the
        run's first window, the outbox's batches, housekeeping's resends; a local RabbitMQ on a
        2-core machine, best of 5). A single message waits for its confirm through Dramatiq (0.8 ms,
        against 1.0 ms for a transaction).
        """
        messages = [_message(DETECT_QUEUE, DETECT_ACTOR, str(image_id)) for image_id in image_ids]
        if not messages:
            return
        if len(messages) == 1:
            self._send(messages[0])
            return
        # A connection the broker closed (a restart since this thread last published) is replaced once.
        for attempt in range(2):
            try:
                self._publish_batches(messages)
                return
            except _BROKER_ERRORS as error:
                self._batch.channel = None
                del self.broker.connection
                if attempt:
                    raise QueueUnavailable(f"RabbitMQ refused the messages: {error}") from error

    def open_batches(self) -> None:
        """Open this thread's connection and transactional channel, and declare the detect queue, now
        rather than at its first batch; raises ``QueueUnavailable``."""
        try:
            self._batch_channel()
        except _BROKER_ERRORS as error:
            self._batch.channel = None
            raise QueueUnavailable(f"RabbitMQ is unreachable: {broker_error_reason(error)}") from error

    def _publish_batches(self, messages: list[Message]) -> None:
        channel = self._batch_channel()
        for start in range(0, len(messages), PUBLISH_BATCH):
            for message in messages[start : start + PUBLISH_BATCH]:
                channel.basic_publish(
                    exchange="", routing_key=DETECT_QUEUE, body=message.encode(), properties=_PERSISTENT
                )
            channel.tx_commit()

    def _batch_channel(self):
        """This thread's transactional channel, on the broker's connection of this thread."""
        channel = getattr(self._batch, "channel", None)
        if channel is None or not channel.is_open:
            self.broker.declare_queue(DETECT_QUEUE, ensure=True)
            channel = self._batch.channel = self.broker.connection.channel()
            channel.tx_select()
        return channel

    def aggregate(self, task_id: UUID) -> None:
        self._send(_message(AGGREGATE_QUEUE, AGGREGATE_ACTOR, str(task_id)))

    def dispatch(self, task_id: UUID) -> None:
        """Ask the pipeline to queue a run's first images (on the small control queue, so
        that it is not behind every detect message)."""
        self._send(_message(AGGREGATE_QUEUE, DISPATCH_ACTOR, str(task_id)))

    def announce(self, task_id: UUID, run: int) -> None:
        """Have the end of the task's run ``run`` delivered to its callback URL."""
        self._send(_message(WEBHOOK_QUEUE, WEBHOOK_ACTOR, str(task_id), run))

    def _send(self, message: Message) -> None:
        try:
            self.broker.enqueue(message)
        except _BROKER_ERRORS as error:
            raise QueueUnavailable(f"RabbitMQ refused a message: {error}") from error
