"""Windowed dispatch: which images of a running task are queued, and which were sent.

A running task has at most ``window`` images queued or processing; each image that ends
queues the next one (``storage.pipeline``), and ``queue_up`` fills the window when a run
begins or was interrupted. An image is queued with ``sent_at`` NULL and marked once its
message is published, so an unsent image is found however busy the queue is (an outbox).
"""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

from storage.db import db

_LOCK_RUN_SQL = """
SELECT run, queued_through FROM tasks WHERE id = %s AND status = 'processing' AND NOT cancelled FOR UPDATE
"""
_IN_FLIGHT_SQL = "SELECT count(*) FROM images WHERE task_id = %s AND status IN ('queued', 'processing')"
# SKIP LOCKED: an image that an ending image is queuing at this moment is that one's to queue.
_QUEUE_UP_SQL = """
WITH next AS (
    SELECT id, position, status FROM images
    WHERE task_id = %(task)s AND status IN ('pending', 'failed') AND position > %(after)s AND run < %(run)s
    ORDER BY position
    LIMIT %(count)s
    FOR UPDATE SKIP LOCKED
), requeued AS (
    UPDATE images
    SET status = 'queued', error = NULL, attempts = 0, claimed_by = NULL, sent_at = NULL, run = %(run)s,
        updated_at = clock_timestamp()
    FROM next
    WHERE images.id = next.id
    RETURNING images.id, images.position, next.status AS was
), moved AS (
    UPDATE tasks SET
        queued_through = greatest(queued_through, (SELECT max(position) FROM requeued)),
        images_failed = images_failed - (SELECT count(*) FROM requeued WHERE was = 'failed'),
        version = version + 1
    WHERE id = %(task)s AND EXISTS (SELECT 1 FROM requeued)
)
SELECT id FROM requeued ORDER BY position
"""


def queue_up(task_id: UUID, window: int, *, from_start: bool = False) -> list[UUID]:
    """Queue the next images of a running task until ``window`` are queued or processing.

    Returns the images queued now (unsent: the caller publishes them and calls
    ``mark_sent``); empty when the window is full, the run has queued every image, or the
    task is not running. Safe to call any number of times: the task row is locked, so the
    images in flight are counted after any concurrent change has committed.

    The run resumes after the last image it queued; ``from_start`` looks again from the
    first image (an image skipped while another statement held it, then rolled back).
    """
    with db.atomic():
        row = db.execute_sql(_LOCK_RUN_SQL, (str(task_id),)).fetchone()
        if row is None:
            return []
        free = window - db.execute_sql(_IN_FLIGHT_SQL, (str(task_id),)).fetchone()[0]
        if free <= 0:
            return []
        run, queued_through = row
        after = 0 if from_start else queued_through
        cursor = db.execute_sql(_QUEUE_UP_SQL, {"task": str(task_id), "run": run, "after": after, "count": free})
        return [UUID(str(image_id)) for (image_id,) in cursor.fetchall()]


def mark_sent(image_ids: Sequence[UUID]) -> None:
    """Record that the detect messages of ``image_ids`` are published."""
    if image_ids:
        db.execute_sql(
            "UPDATE images SET sent_at = clock_timestamp() WHERE id = ANY(%s::uuid[]) AND status = 'queued'",
            ([str(i) for i in image_ids],),
        )
