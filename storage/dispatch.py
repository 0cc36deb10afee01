"""Windowed dispatch: which images of a running task are queued, and which were sent.

A running task has at most ``window`` images queued or processing; each image that ends
queues the next one (``storage.image_states``), and ``queue_up`` fills the window when a run
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


def requeue_sql(*, run: str, after: str, count: str, joined: str = "", only_if: str | None = None) -> str:
    """The CTEs ``next`` and ``requeued``: the run's next ``count`` images after position ``after`` that
    are pending or failed in an earlier run, set queued (unsent) in run ``run``; ``requeued`` returns
    each one's id, position and former status (``was``). The SQL arguments are expressions over
    ``images AS i`` and the relations in ``joined`` (", name" each); ``only_if``, if given,
    must hold for any.

    The one statement of that rule, for the first window (``queue_up``) and for an image that ends
    and queues the next in its place (``storage.image_states``). SKIP LOCKED: an image another
    statement is queuing at this moment is that one's to queue.
    """
    condition = "" if only_if is None else f"{only_if} AND "
    return f"""next AS (
    SELECT i.id, i.position, i.status FROM images AS i{joined}
    WHERE {condition}i.task_id = %(task)s AND i.status IN ('pending', 'failed') AND i.position > {after}
      AND i.run < {run}
    ORDER BY i.position
    LIMIT {count}
    FOR UPDATE OF i SKIP LOCKED
), requeued AS (
    UPDATE images
    SET status = 'queued', error = NULL, attempts = 0, claimed_by = NULL, sent_at = NULL, run = {run},
        updated_at = clock_timestamp()
    FROM next
    WHERE images.id = next.id
    RETURNING images.id, images.position, next.status AS was
)"""


_QUEUE_UP_SQL = f"""
WITH {requeue_sql(run="%(run)s", after="%(after)s", count="%(count)s")}, moved AS (
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
