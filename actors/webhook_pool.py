"""Webhook deliveries on threads of their own, beside the detection threads of each worker process.

A receiver may hold a delivery for its whole timeout; on the worker threads, four such receivers would
take four threads from the images of every task. Dramatiq runs one ``Worker`` (one thread pool) per
process for all its queues, so here each worker process runs a second one, started with the first and
stopped with it, that consumes only the ``webhooks`` queue with ``WEBHOOK_THREADS`` threads; the first
is told to leave that queue alone (``service.workers`` passes ``--queues``). Retries, acknowledgements
and middleware are Dramatiq's, as before.
"""

from __future__ import annotations

import threading

import dramatiq
from dramatiq.middleware import Middleware

from actors.messages import WEBHOOK_QUEUE


class WebhookPool(Middleware):
    def __init__(self, threads: int, stop_timeout_ms: int) -> None:
        self.threads = threads
        self.stop_timeout_ms = stop_timeout_ms
        self.worker: dramatiq.Worker | None = None
        self.stopping: threading.Thread | None = None

    def after_worker_boot(self, broker: dramatiq.Broker, worker: dramatiq.Worker) -> None:
        if self.worker is None:  # the process's own worker booted (ours is set before it boots)
            self.worker = dramatiq.Worker(broker, queues={WEBHOOK_QUEUE}, worker_threads=self.threads)
            self.worker.start()

    def before_worker_shutdown(self, broker: dramatiq.Broker, worker: dramatiq.Worker) -> None:
        # Both stop at once: waiting here would keep the process's own threads taking new images meanwhile.
        if self.worker is not None and worker is not self.worker:
            self.stopping = threading.Thread(target=self.worker.stop, args=(self.stop_timeout_ms,), daemon=True)
            self.stopping.start()

    def after_worker_shutdown(self, broker: dramatiq.Broker, worker: dramatiq.Worker) -> None:
        if self.stopping is not None and worker is not self.worker:
            self.stopping.join()
