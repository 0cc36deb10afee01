"""Queuing a running task's images: a window at a time, each message recorded once sent."""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

from actors import timeline
from actors.messages import Publisher, QueueUnavailable, UnsentImages
from storage import dispatch


class Dispatcher:
    """Publishes the detect messages of images queued in storage and marks them sent.

    ``window`` is the most images of one running task queued or processing at a time
    (``TASK_WINDOW``). If a publish fails, the images stay queued unsent and housekeeping
    sends them (``storage.housekeeping.unsent_images``).
    """

    def __init__(self, publisher: Publisher, window: int) -> None:
        self.publisher = publisher
        self.window = window

    def queue_up(self, task_id: UUID, *, from_start: bool = False) -> list[UUID]:
        """Queue the task's next images up to its window, unsent: the caller sends them."""
        return dispatch.queue_up(task_id, self.window, from_start=from_start)

    def fill(self, task_id: UUID, *, from_start: bool = False) -> int:
        """Queue the task's next images up to its window and send them; returns how many."""
        return self.send(self.queue_up(task_id, from_start=from_start))

    def send(self, image_ids: Sequence[UUID]) -> int:
        """Publish and mark ``image_ids``; ``UnsentImages`` names them when the broker refused."""
        if image_ids:
            try:
                self.publisher.detect_images(image_ids)
            except QueueUnavailable as error:
                raise UnsentImages(error, image_ids) from error
            timeline.mark("published")
            dispatch.mark_sent(image_ids)
            timeline.mark("marked")
        return len(image_ids)
