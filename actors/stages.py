"""The pipeline's stages, bound to the parts they use (detector, image store, publisher)."""

from __future__ import annotations

import logging
from uuid import UUID

from dramatiq.middleware import CurrentMessage

from actors.messages import Pipeline
from detectors.base import Detector
from storage import pipeline as states
from storage.files import ImageStore
from storage.tasks import purge_cancelled

logger = logging.getLogger(__name__)


class Stages:
    def __init__(self, detector: Detector, store: ImageStore, pipeline: Pipeline) -> None:
        self.detector = detector
        self.store = store
        self.pipeline = pipeline

    def detect_image(self, image_id: str) -> None:
        """Find the faces on one image and record them; the last image ends the run.

        Detector errors propagate: transient ones are retried by Dramatiq with backoff,
        permanent ones are declared on the actor and fail the image at once.
        """
        message = CurrentMessage.get_current_message()
        claim = states.claim_image(UUID(image_id), message.message_id)
        if claim is None:
            self._purge_if_cancelled(UUID(image_id))
            return
        try:
            data = self.store.read(claim.task_id, claim.image_id)
        except FileNotFoundError:
            data = None
        if data is None:
            remaining = states.end_image(claim, None, "the stored image file is missing")
        else:
            faces = self.detector.detect(data)
            remaining = states.end_image(claim, faces)
        if remaining is None:
            self._let_go(claim)
        elif remaining == 0:
            self.pipeline.aggregate(claim.task_id)
        logger.info("image %s of task %s: %s", image_id, claim.task_id, "discarded" if remaining is None else "ended")

    def aggregate_task(self, task_id: str) -> None:
        """End a run whose images have all ended; safe to run twice."""
        status = states.finish_task(UUID(task_id))
        if status is not None:
            logger.info("task %s %s", task_id, status)
        else:
            self._purge(UUID(task_id))

    def fail_image(self, image_id: UUID, message_id: str, reason: str) -> None:
        """Fail an image its message has given up on; the last image ends the run."""
        claim = states.claim_of(image_id, message_id)
        if claim is None:
            return
        remaining = states.end_image(claim, None, reason)
        logger.warning("image %s of task %s failed: %s", image_id, claim.task_id, reason)
        if remaining is None:
            self._let_go(claim)
        elif remaining == 0:
            self.pipeline.aggregate(claim.task_id)

    def _let_go(self, claim: states.Claim) -> None:
        if states.abandon_image(claim):
            self.store.remove_task(claim.task_id)

    def _purge_if_cancelled(self, image_id: UUID) -> None:
        task_id = states.cancelled_task_of(image_id)
        if task_id is not None:
            self._purge(task_id)

    def _purge(self, task_id: UUID) -> None:
        if purge_cancelled(task_id):
            self.store.remove_task(task_id)
            logger.info("task %s purged after cancellation", task_id)
