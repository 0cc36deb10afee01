"""The pipeline's messages, published by the API (start, retry) and by the stages.

Messages are addressed by actor name, so a publisher needs the broker only, not the
actors' code (the API never imports a detector).
"""

from __future__ import annotations

from collections.abc import Iterable
from uuid import UUID

import pika.exceptions
from dramatiq import Broker, Message
from dramatiq.errors import BrokerError

DETECT_QUEUE = "detect"
AGGREGATE_QUEUE = "aggregate"
DETECT_ACTOR = "detect_image"
AGGREGATE_ACTOR = "aggregate_task"

_BROKER_ERRORS = (BrokerError, pika.exceptions.AMQPError, OSError)


class QueueUnavailable(Exception):
    """RabbitMQ cannot be reached or refused a publish."""


class Pipeline:
    def __init__(self, broker: Broker) -> None:
        self.broker = broker

    def check(self) -> None:
        """Raise ``QueueUnavailable`` unless this thread's broker connection is usable now.

        Called before a state change that must publish, so a broker outage refuses the
        request (503) before anything changes.
        """
        for _ in range(2):  # a connection the broker closed while idle is replaced once
            try:
                self.broker.connection.process_data_events(time_limit=0)
                return
            except _BROKER_ERRORS:
                del self.broker.connection
        raise QueueUnavailable("RabbitMQ is unreachable")

    def waiting_detections(self) -> int:
        """Detect messages ready in the queue (not those a worker holds or a retry delays)."""
        try:
            return self.broker.get_queue_message_counts(DETECT_QUEUE)[0]
        except _BROKER_ERRORS as error:
            del self.broker.connection  # the next call connects afresh
            raise QueueUnavailable(f"RabbitMQ did not answer: {error}") from error

    def detect_images(self, image_ids: Iterable[UUID]) -> None:
        for image_id in image_ids:
            self._send(DETECT_QUEUE, DETECT_ACTOR, str(image_id))

    def aggregate(self, task_id: UUID) -> None:
        self._send(AGGREGATE_QUEUE, AGGREGATE_ACTOR, str(task_id))

    def _send(self, queue: str, actor: str, arg: str) -> None:
        message = Message(queue_name=queue, actor_name=actor, args=(arg,), kwargs={}, options={})
        try:
            self.broker.enqueue(message)
        except _BROKER_ERRORS as error:
            raise QueueUnavailable(f"RabbitMQ refused a message: {error}") from error
