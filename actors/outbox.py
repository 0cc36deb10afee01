"""The next image of a task and a run's first window, sent by a thread of the worker process.

An image that ends queues the next image of its task in the same statement: it is committed as
queued with ``sent_at`` NULL, the outbox row. Publishing its message (a publisher confirm) and marking
it sent (an UPDATE) kept the detector thread two round trips from its next call; here one thread per
worker process does both for whatever has gathered meanwhile, in one publish and one UPDATE. The
detector thread goes straight to its next message, already in the process's prefetch: a task's window
(TASK_WINDOW) is kept larger than the threads.

Nothing is lost to this thread: an image it had not sent when the process died is queued and unsent
in the database, and housekeeping sends it (UNSENT_AFTER_S); one the broker refused goes to
``BrokerOutage``, sent when RabbitMQ answers again. The thread opens its broker connection when the
worker starts, so a run's first window waits for no connection. It stops after the worker's own
threads, once it has sent what they queued.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
from collections.abc import Iterable
from uuid import UUID

import dramatiq
from dramatiq.middleware import Middleware

from actors import timeline
from actors.dispatcher import Dispatcher
from actors.messages import PUBLISH_BATCH, QueueUnavailable, UnsentImages
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
        self._queued: queue.SimpleQueue[list[UUID] | object] = queue.SimpleQueue()
        self._worker: dramatiq.Worker | None = None
        self._thread: threading.Thread | None = None

    def put(self, image_ids: Iterable[UUID]) -> None:
        """Have the detect messages of ``image_ids`` sent (they are committed as queued and unsent)."""
        self._queued.put(list(image_ids))  # one item: a window is sent in one batch
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
        # Opened now, not by the run's first window: a broker that is down is the outage's to log.
        with contextlib.suppress(QueueUnavailable):
            self.dispatcher.publisher.open_batches()
        stopping = False
        while not stopping:
            batch: list[UUID] = []
            item = self._queued.get()
            while True:
                if item is _STOP:
                    stopping = True
                else:
                    batch.extend(item)
                if len(batch) >= self.batch or self._queued.empty():
                    break
                item = self._queued.get()
            try:
                self._send(batch)
            except Exception:
                # The thread must outlive any one batch: what it failed to send is queued and unsent in
                # PostgreSQL, and housekeeping sends it.
                logger.exception("the outbox could not send %d images; housekeeping will", len(batch))

    def _send(self, image_ids: list[UUID]) -> None:
        # The thread keeps its database connection from batch to batch (taking one from the pool costs a
        # round trip), and lets it go after a batch that failed: the pool checks it when next taken.
        try:
            self.dispatcher.send(image_ids)
        except UnsentImages as error:
            self.outage.lost(str(error), error.image_ids)
        except DatabaseUnavailable as error:
            db.close()
            # Not marked sent, whether published or not: housekeeping sends them (again: a duplicate
            # message finds nothing to claim).
            logger.warning("%d queued images not marked sent, left to housekeeping: %s", len(image_ids), error)
        except Exception:
            db.close()
            raise
