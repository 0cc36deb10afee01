"""Image and task state changes as the workers drive them.

RabbitMQ delivers at least once and processes die, so each change is conditional on
the state the caller believes in and says whether it happened:

* an image is claimed by one queue message at a time (``claimed_by``); a redelivery of
  that same message may claim it again, any other message finds nothing to do;
* an image ends (done or failed) in one statement with the task's ``remaining``
  counter, so a redelivery can never count twice;
* lock order is the image row, then the task row: the purge, which deletes a task with
  its images, takes no lock while an image is being processed (its condition fails).
* a cancelled task's changes are discarded and its rows purged once nothing works on it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from uuid import UUID

from peewee import Case, fn

from detectors.base import Face as DetectedFace
from storage.db import db
from storage.models import Image, Task
from storage.tasks import purge_cancelled


@dataclass(frozen=True)
class Claim:
    image_id: UUID
    task_id: UUID
    message_id: str
    attempts: int


# The two statements every image runs are written out in SQL: built by the query builder
# they cost the worker more CPU than the rest of its work on an image.
_CLAIM_SQL = """
UPDATE images AS i
SET status = 'processing', attempts = i.attempts + 1, claimed_by = %(message)s, updated_at = clock_timestamp()
FROM tasks AS t
WHERE i.id = %(image)s AND t.id = i.task_id AND NOT t.cancelled AND t.status = 'processing'
  AND (i.status = 'queued' OR (%(reclaim)s AND i.status = 'processing' AND i.claimed_by = %(message)s))
RETURNING i.task_id, i.attempts
"""

# One statement, so one round trip and no explicit transaction: the image's status, its
# faces (replaced, never appended: a redelivery must not add them twice) and the task's
# counter change together or not at all. The counter moves last, so the task row shared by
# every image of the task is locked only at the end.
_END_IMAGE_SQL = """
WITH ended AS (
    UPDATE images
    SET status = %(status)s, error = %(error)s, model = %(model)s, claimed_by = NULL, updated_at = clock_timestamp()
    WHERE id = %(image)s AND status = 'processing' AND claimed_by = %(message)s
    RETURNING id
), old_faces AS (
    DELETE FROM faces WHERE image_id IN (SELECT id FROM ended)
), new_faces AS (
    INSERT INTO faces (image_id, x, y, width, height, gender, age, score)
    SELECT ended.id, f.x, f.y, f.width, f.height, f.gender, f.age, f.score
    FROM ended, unnest(%(xs)s::int[], %(ys)s::int[], %(widths)s::int[], %(heights)s::int[],
                       %(genders)s::text[], %(ages)s::float8[], %(scores)s::float8[])
         AS f(x, y, width, height, gender, age, score)
), counted AS (
    UPDATE tasks SET remaining = remaining - 1, updated_at = now()
    WHERE id = %(task)s AND NOT cancelled AND status = 'processing' AND EXISTS (SELECT 1 FROM ended)
    RETURNING remaining
)
SELECT remaining FROM counted
"""


def claim_image(image_id: UUID, message_id: str, *, reclaim: bool = False) -> Claim | None:
    """Take ``image_id`` for ``message_id``; None when there is nothing to do.

    ``reclaim`` says this delivery may take over an image its own message already holds:
    true for a redelivery after the worker died and for a Dramatiq retry, false for a
    first delivery, so a message published twice is not processed twice at once.
    Every claim counts an attempt; the caller fails an image past its limit.
    """
    row = db.execute_sql(
        _CLAIM_SQL, {"image": str(image_id), "message": message_id, "reclaim": reclaim}
    ).fetchone()
    if row is None:
        return None
    return Claim(image_id, UUID(str(row[0])), message_id, row[1])


def end_image(
    claim: Claim, faces: Sequence[DetectedFace] | None, error: str | None = None, model: str | None = None
) -> int | None:
    """Record the image as done with ``faces`` found by ``model`` (or failed with ``error``).

    Returns the task's images still to end, or None when the result was discarded: the
    task was cancelled (its rows are purged, so what was written for the image no longer
    matters), or another message has since taken the image over.
    """
    found = faces or []
    row = db.execute_sql(
        _END_IMAGE_SQL,
        {
            "image": str(claim.image_id),
            "message": claim.message_id,
            "task": str(claim.task_id),
            "status": "failed" if faces is None else "done",
            "error": error,
            "model": model,
            "xs": [f.x for f in found],
            "ys": [f.y for f in found],
            "widths": [f.width for f in found],
            "heights": [f.height for f in found],
            "genders": [f.gender for f in found],
            "ages": [f.age for f in found],
            "scores": [f.score for f in found],
        },
    ).fetchone()
    return None if row is None else row[0]


def abandon_image(image_id: UUID, message_id: str, task_id: UUID) -> bool:
    """Let go of an image of a cancelled task; True when the task's rows were purged."""
    with db.atomic():
        Image.update(status="failed", error="cancelled", claimed_by=None).where(
            (Image.id == image_id) & (Image.claimed_by == message_id)
        ).execute()
        return purge_cancelled(task_id)


def cancelled_task_of(image_id: UUID) -> UUID | None:
    """The task of ``image_id`` if that task is cancelled (and not yet purged)."""
    row = (
        Image.select(Image.task)
        .join(Task)
        .where((Image.id == image_id) & Task.cancelled)
        .first()
    )
    return row.task_id if row else None


def finish_task(task_id: UUID) -> str | None:
    """End a task whose images have all ended: ``completed``, or ``failed`` if any failed.

    Returns the new status, or None when there was nothing to finish (already finished,
    images still running, or cancelled). Statistics are not copied here: they are always
    computed from the faces table (``storage.reports``), so they cannot drift from it.
    """
    any_failed = Image.select().where((Image.task == task_id) & (Image.status == "failed"))
    rows = list(
        Task.update(
            status=Case(None, ((fn.EXISTS(any_failed), "failed"),), "completed"),
            finished_at=fn.now(),
            updated_at=fn.now(),
        )
        .where(
            (Task.id == task_id) & ~Task.cancelled & (Task.status == "processing") & (Task.remaining == 0)
        )
        .returning(Task.status)
        .execute()
    )
    return rows[0].status if rows else None


def claim_of(image_id: UUID, message_id: str) -> Claim | None:
    """The claim ``message_id`` holds on ``image_id``, if it still holds one."""
    row = (
        Image.select(Image.task, Image.attempts)
        .where((Image.id == image_id) & (Image.status == "processing") & (Image.claimed_by == message_id))
        .first()
    )
    return Claim(image_id, row.task_id, message_id, row.attempts) if row else None
