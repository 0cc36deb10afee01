"""The next image of a task, sent by a thread of the worker process instead of the detector thread.

An image that ends queues the next image of its task in the same statement: it is committed as
queued with ``sent_at`` NULL, the outbox row. Publishing its message (a publisher confirm) and marking
it sent (an UPDATE) kept the detector thread two round trips from its next call; here one thread per
worker process does both for whatever has gathered meanwhile, in one publish and one UPDATE. The
detector thread goes straight to its next message, already in the process's prefetch: a task's window
(TASK_WINDOW) is kept larger than the threads.

Nothing is lost to this thread: an image it had not sent when the process died is queued and unsent
in the database, and housekeeping sends it (UNSENT_AFTER_S); one the broker refused goes to
``BrokerOutage``, sent when RabbitMQ answers again. The thread stops after the worker's own threads,
once it has sent what they queued.
"""

from __future__ import annotations

import logging
import queue
import threading
from uuid import UUID

import dramatiq
from dramatiq.middleware import Middleware

from actors import timeline
from actors.dispatcher import Dispatcher
from actors.messages import PUBLISH_BATCH, UnsentImages
from actors.outage import BrokerOutage
from storage.db import db
from storage.errors import DatabaseUnavailable

logger = logging.getLogger(__name__)
_STOP = object()


class Outbox(Middleware):
    def __init__(self, dispatcher: Dispatcher, outage: BrokerOutage, batch: int = PUBLISH_BATCH) -> None:
        self.dispatcher = dispatcher
        self.outage = outage
        self.batch = batch
        self._queued: queue.SimpleQueue[UUID | object] = queue.SimpleQueue()
        self._worker: dramatiq.Worker | None = None
        self._thread: threading.Thread | None = None

    def put(self, image_id: UUID) -> None:
        """Have ``image_id``'s detect message sent (it is committed as queued and unsent)."""
        self._queued.put(image_id)
        timeline.mark("handed")

    def after_worker_boot(self, broker: dramatiq.Broker, worker: dramatiq.Worker) -> None:
        if self._worker is None:  # the process's own worker; the webhook pool's boots after it
            self._worker = worker
            self._thread = threading.Thread(target=self._run, name="outbox", daemon=True)
            self._thread.start()

    def after_worker_shutdown(self, broker: dramatiq.Broker, worker: dramatiq.Worker) -> None:
        if worker is self._worker and self._thread is not None:
            self._queued.put(_STOP)
            self._thread.join()

    def _run(self) -> None:
        stopping = False
        while not stopping:
            batch = [self._queued.get()]
            while len(batch) < self.batch and not self._queued.empty():
                batch.append(self._queued.get())
            stopping = _STOP in batch
            try:
                self._send([image_id for image_id in batch if isinstance(image_id, UUID)])
            except Exception:
                # The thread must outlive any one batch: what it failed to send is queued and unsent in
                # PostgreSQL, and housekeeping sends it.
                logger.exception("the outbox could not send %d images; housekeeping will", len(batch))

    def _send(self, image_ids: list[UUID]) -> None:
        try:
            with db.connection_context():
                self.dispatcher.send(image_ids)
        except UnsentImages as error:
            self.outage.lost(str(error), error.image_ids)
        except DatabaseUnavailable as error:
            # Not marked sent, whether published or not: housekeeping sends them (again: a duplicate
            # message finds nothing to claim).
            logger.warning("%d queued images not marked sent, left to housekeeping: %s", len(image_ids), error)
