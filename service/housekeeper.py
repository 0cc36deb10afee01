"""Housekeeping: the backstop that brings every task to an end whatever was lost.

A process loop, not an actor: ``python -m service.housekeeping`` runs it as a process of its own, which
whatever runs the service restarts when it dies (the ``make run`` supervisor, compose's restart policy); when
several run, a PostgreSQL advisory lock lets one sweep at a time. Each sweep records when it
ended, which ``/health`` and ``/metrics`` report.
"""

from __future__ import annotations

import logging
import time
from itertools import islice

from actors.dispatcher import Dispatcher
from actors.messages import Publisher
from actors.webhooks import announce_end
from config.settings import Settings
from storage import housekeeping as sweeps
from storage.errors import StoreUnavailable
from storage.store import ImageStore
from storage.tasks import purge

logger = logging.getLogger(__name__)



class Housekeeper:
    def __init__(self, publisher: Publisher, store: ImageStore, settings: Settings) -> None:
        self.publisher = publisher
        self.dispatcher = Dispatcher(publisher, settings.task_window)
        self.store = store
        self.settings = settings
        self._orphans_swept_at: float | None = None

    def sweep(self) -> None:
        with sweeps.sweeping() as mine:
            if not mine:
                return
            released = sweeps.release_stale_claims(self.settings.stale_claim_s)
            if released:
                logger.warning("housekeeping: %d images held too long were queued again", released)
            unsent = sweeps.unsent_images(self.settings.unsent_after_s, self.settings.stale_claim_s,
                                         self.settings.tuning.resend_batch)
            if unsent:
                # Logged once sent: while the broker is down this fails every sweep, and says so once.
                self.dispatcher.send(unsent)
                logger.warning("housekeeping: sent %d queued images that had no message", len(unsent))
            for task_id in sweeps.stalled_runs(self.settings.unsent_after_s):
                sent = self.dispatcher.fill(task_id, from_start=True)
                if sent:
                    logger.warning("housekeeping: task %s had stalled; %d images queued", task_id, sent)
            for task_id in sweeps.unfinished_runs(self.settings.tuning.unfinished_after_s):
                logger.warning("housekeeping: finishing task %s", task_id)
                self.publisher.aggregate(task_id)
            for task_id, run in sweeps.unannounced_ends(self.settings.unsent_after_s):
                logger.warning("housekeeping: announcing the end of task %s", task_id)
                announce_end(self.publisher, task_id, run)
            for task_id in sweeps.cancelled_tasks():
                if purge(task_id, self.store):
                    logger.info("housekeeping: purged cancelled task %s", task_id)
            try:
                self._remove_stray_files()
            except StoreUnavailable as error:
                logger.warning("housekeeping: image store unavailable, its sweep waits: %s", error)
            sweeps.record_sweep()

    def _remove_stray_files(self) -> None:
        stored = self.store.task_ids()
        for task_id in set(stored) - sweeps.known_tasks(stored):
            self.store.remove_task(task_id)
            logger.info("housekeeping: removed files of deleted task %s", task_id)
        self.store.remove_stray_uploads(self.settings.tuning.stray_upload_s)
        # Listing every image costs one call per thousand: done once per half grace, not every sweep.
        grace = self.settings.store_orphan_grace_s
        if self._orphans_swept_at is None or time.monotonic() - self._orphans_swept_at >= grace / 2:
            self._remove_orphans(grace)
            self._orphans_swept_at = time.monotonic()

    def _remove_orphans(self, grace_s: float) -> None:
        """Remove images no row names, kept more than ``grace_s`` ago: their upload died before its commit."""
        images = self.store.images_older_than(grace_s)
        while batch := list(islice(images, self.settings.tuning.orphan_batch)):
            known = sweeps.known_images([image_id for _, image_id in batch])
            orphans = [key for key in batch if key[1] not in known]
            if orphans:
                self.store.remove_images(orphans)
                logger.warning("housekeeping: removed %d images whose upload never committed", len(orphans))
