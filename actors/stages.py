"""The pipeline's stages, bound to the parts they use (detector, image store, publisher)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from uuid import UUID

from dramatiq.middleware import CurrentMessage

from actors import timeline
from actors.dispatcher import Dispatcher
from actors.messages import Publisher
from actors.webhooks import announce_end
from detectors.base import Detector, DetectorError, Face
from storage import image_states as states
from storage.jpeg import CorruptJpegError, NotJpegError, TooManyPixelsError, check_pixels
from storage.store import ImageStore
from storage.tasks import purge

logger = logging.getLogger(__name__)


class Stages:
    def __init__(
        self, detector: Detector, store: ImageStore, publisher: Publisher, dispatcher: Dispatcher, max_attempts: int,
        max_pixels: int, count_repeat: Callable[[], None], send: Callable[[Sequence[UUID]], None],
    ) -> None:
        self.send = send
        self.detector = detector
        self.count_repeat = count_repeat
        self.store = store
        self.publisher = publisher
        self.dispatcher = dispatcher
        self.max_attempts = max_attempts
        self.max_pixels = max_pixels

    def detect_image(self, image_id: str) -> None:
        """Find the faces on one image and record them; the last image ends the run.

        Detector errors propagate: transient ones are retried by Dramatiq with backoff,
        permanent ones are declared on the actor and fail the image at once. An image store
        that cannot be read (``StoreUnavailable``) is transient too, retried as a FaceCloud 5xx is.
        """
        message = CurrentMessage.get_current_message()
        message_id = message.message_id
        again = bool(getattr(message, "redelivered", False) or message.options.get("retries"))
        # Whatever may be slow (a login) happens before the task is held: a delete waits only for the
        # image's read and the call's start. A failure is raised once the image is claimed, so that
        # the attempt counts and a permanent failure fails the image.
        unready: DetectorError | None = None
        try:
            self.detector.ready()
        except DetectorError as error:
            unready = error
        claim = states.claim_image(UUID(image_id), message_id, reclaim=again, hold=unready is None)
        timeline.mark("claimed")
        if claim is None or claim.alive is False:
            self._let_go_if_cancelled(UUID(image_id), message_id)
            return
        with claim.gate:
            data, refusal = self._image(claim)
            timeline.mark("read")
            if refusal is None:
                if unready is not None:
                    raise unready
                faces = self.detector.detect(data, lambda: self._began(claim))
                timeline.mark("detected")
        if refusal is None:
            self._end(claim, faces, model=self.detector.model)
        else:
            self._end(claim, None, refusal)

    def _image(self, claim: states.Claim) -> tuple[bytes, str | None]:
        """The claimed image's bytes, or why it fails without a detector call."""
        if claim.attempts > self.max_attempts:
            return b"", f"gave up after {self.max_attempts} attempts: processing never finished"
        try:
            data = self.store.read(claim.task_id, claim.image_id)
        except FileNotFoundError:
            return b"", "the stored image file is missing"
        try:
            # A file on disk is not trusted: checked again before anything decodes it.
            check_pixels(data, self.max_pixels)
        except (TooManyPixelsError, NotJpegError, CorruptJpegError) as error:
            return b"", str(error)
        return data, None

    def _began(self, claim: states.Claim) -> None:
        """The detector call can no longer be taken back: a waiting delete may go on."""
        began_at = time.monotonic()  # noted before the release: no delete can have answered yet
        timeline.mark("sent")
        claim.gate.release()
        if claim.attempts > 1:
            # Claimed before in this run: a redelivery after its worker died, or a retry. Mostly the
            # earlier claim's call had begun too (a worker dies in the call, not in the milliseconds before).
            self.count_repeat()
        logger.debug("image %s of task %s: detector call began at monotonic %.6f", claim.image_id, claim.task_id,
                     began_at)

    def dispatch_task(self, task_id: str) -> None:
        """Queue the first window of a run that was just started or retried; safe to run twice.

        The images are committed as queued and unsent, then sent by the process's outbox, whose
        broker connection is open already (a worker thread's own first publish opened one, a third of
        a run's start).
        """
        queued = self.dispatcher.queue_up(UUID(task_id))
        self.send(queued)
        logger.info("task %s: %d images queued", task_id, len(queued))

    def aggregate_task(self, task_id: str) -> None:
        """End a run whose images have all ended; safe to run twice."""
        finished = states.finish_task(UUID(task_id))
        if finished is None:
            self._purge(UUID(task_id))
            return
        logger.info("task %s %s", task_id, finished.status)
        if finished.announce:
            # Lost if this worker dies right now: housekeeping announces ends left unannounced.
            announce_end(self.publisher, UUID(task_id), finished.run)

    def fail_image(self, image_id: UUID, message_id: str, reason: str) -> None:
        """Fail an image its message has given up on; the last image ends the run."""
        claim = states.claim_of(image_id, message_id)
        if claim is not None:
            self._end(claim, None, reason)

    def _purge(self, task_id: UUID) -> None:
        """Delete a cancelled task's rows and files once no stage works on it."""
        if purge(task_id, self.store):
            logger.info("task %s purged after cancellation", task_id)

    def _end(
        self, claim: states.Claim, faces: Sequence[Face] | None, error: str | None = None, model: str | None = None
    ) -> None:
        ended = states.end_image(claim, faces, error, model)
        timeline.mark("ended")
        if ended is None:
            logger.info("image %s of task %s: result discarded", claim.image_id, claim.task_id)
            self._let_go_if_cancelled(claim.image_id, claim.message_id)
            return
        if error:
            logger.warning("image %s of task %s failed: %s", claim.image_id, claim.task_id, error)
        else:
            # Debug: a task of 20,000 images is not 20,000 lines at the default level (and a line costs
            # as much of the worker as a database round trip).
            logger.debug("image %s of task %s: %d faces (%s)", claim.image_id, claim.task_id, len(faces or ()), model)
        if ended.queued is not None:
            self.send((ended.queued,))
        if ended.remaining == 0:
            self.publisher.aggregate(claim.task_id)

    def _let_go_if_cancelled(self, image_id: UUID, message_id: str) -> None:
        task_id = states.cancelled_task_of(image_id)
        if task_id is not None:
            states.abandon_image(image_id, message_id)
            self._purge(task_id)
