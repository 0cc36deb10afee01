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

import contextlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol
from uuid import UUID

from peewee import Case, fn

from storage.db import db
from storage.dispatch import requeue_sql
from storage.locks import task_lock_key
from storage.models import Image, Task
from storage.prepared import Prepared
from storage.statuses import ImageStatus, TaskStatus


class FoundFace(Protocol):
    """What storage needs of a detected face (``detectors.base.Face`` is one)."""

    x: int
    y: int
    width: int
    height: int
    gender: str
    age: float
    score: float


class CallGate:
    """A task held (a shared advisory lock) from its image's claim until that image's detector call
    has begun (``claim_image(hold=True)``).

    A delete takes the same lock exclusively before it sets the cancellation flag, so it waits
    for every held call to begin, and a claim that waited for a delete sees its flag: no detector
    call begins after a delete's 204. Shared holders do not wait for each other, and no row is
    locked. Only the image's read and check and the call's start are held (the detector is made
    ready, a login, before the claim), so a delete waits milliseconds, and at most DELETE_LOCK_TIMEOUT_S.
    A gate is a context manager that releases it.
    """

    def __init__(self, key: int | None) -> None:
        self._key = key

    def release(self) -> None:
        """Let a waiting delete go on; safe to call more than once."""
        if self._key is not None:
            key, self._key = self._key, None
            db.execute_sql("SELECT pg_advisory_unlock_shared(%s)", (key,))

    def __enter__(self) -> CallGate:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.release()


@dataclass(frozen=True)
class Claim:
    """An image taken by one message; ``alive`` is False when its task was deleted while the claim
    waited for the hold (``gate``, released then), None when no hold was asked for."""

    image_id: UUID
    task_id: UUID
    message_id: str
    attempts: int
    gate: CallGate = field(default_factory=lambda: CallGate(None), compare=False)
    alive: bool | None = None


@dataclass(frozen=True)
class Ended:
    """An image's end as recorded: the run's images still to end, and the next one queued."""

    remaining: int
    queued: UUID | None


# The statements every image runs are written out in SQL (the claim's body is the function
# ``facetasks_claim_image``, migration 0007): built by the query builder they cost the worker more
# CPU than the rest of its work on an image.
_CLAIM = Prepared(
    "facetasks_claim",
    "SELECT * FROM facetasks_claim_image(%(image)s, %(message)s, %(reclaim)s, %(hold)s)",
    [("image", "uuid"), ("message", "text"), ("reclaim", "boolean"), ("hold", "boolean")],
)

# One statement, so one round trip and no explicit transaction: the image's status, its
# faces (replaced, never appended: a redelivery must not add them twice), the task's
# counters and statistics (moved by what was added less what was replaced), and the next
# image of the task queued in its place, change together or not at all. The task row,
# shared by every image of the task, is locked last. The next image is locked with SKIP
# LOCKED and re-checked by PostgreSQL, so two images ending at once queue two others.
_END_IMAGE_SQL = f"""
WITH ended AS (
    UPDATE images
    SET status = %(status)s, error = %(error)s, model = %(model)s, claimed_by = NULL, updated_at = clock_timestamp()
    WHERE id = %(image)s AND status = 'processing' AND claimed_by = %(message)s
    RETURNING id
), old_faces AS (
    DELETE FROM faces WHERE image_id IN (SELECT id FROM ended) RETURNING gender, age
), new_faces AS (
    INSERT INTO faces (image_id, x, y, width, height, gender, age, score)
    SELECT ended.id, f.x, f.y, f.width, f.height, f.gender, f.age, f.score
    FROM ended, unnest(%(xs)s::int[], %(ys)s::int[], %(widths)s::int[], %(heights)s::int[],
                       %(genders)s::text[], %(ages)s::float8[], %(scores)s::float8[])
         AS f(x, y, width, height, gender, age, score)
    RETURNING gender, age
), delta AS (
    SELECT coalesce(sum(sign), 0) AS faces,
           coalesce(sum(sign) FILTER (WHERE gender = 'male'), 0) AS males,
           coalesce(sum(sign) FILTER (WHERE gender = 'female'), 0) AS females,
           coalesce(sum(sign * age) FILTER (WHERE gender = 'male'), 0) AS male_ages,
           coalesce(sum(sign * age) FILTER (WHERE gender = 'female'), 0) AS female_ages
    FROM (SELECT gender, age, 1 AS sign FROM new_faces UNION ALL SELECT gender, age, -1 FROM old_faces) AS f
), run AS (
    SELECT run, queued_through FROM tasks WHERE id = %(task)s AND status = 'processing' AND NOT cancelled
), {requeue_sql(run="(SELECT run FROM run)", after="run.queued_through", count="1", joined=", run",
                only_if="EXISTS (SELECT 1 FROM ended)")}, counted AS (
    UPDATE tasks SET
        remaining = remaining - 1,
        version = version + 1,
        updated_at = now(),
        images_done = images_done + (%(status)s = 'done')::int,
        images_failed = images_failed + (%(status)s = 'failed')::int
                        - (SELECT count(*) FROM requeued WHERE was = 'failed'),
        queued_through = greatest(queued_through, coalesce((SELECT position FROM requeued), 0)),
        faces_total = faces_total + (SELECT faces FROM delta),
        males = males + (SELECT males FROM delta),
        females = females + (SELECT females FROM delta),
        male_age_sum = male_age_sum + (SELECT male_ages FROM delta),
        female_age_sum = female_age_sum + (SELECT female_ages FROM delta)
    WHERE id = %(task)s AND NOT cancelled AND status = 'processing' AND EXISTS (SELECT 1 FROM ended)
    RETURNING remaining
)
SELECT counted.remaining, (SELECT id FROM requeued) FROM counted
"""
_END_IMAGE = Prepared("facetasks_end_image", _END_IMAGE_SQL, [
    ("image", "uuid"), ("message", "text"), ("task", "uuid"), ("status", "text"), ("error", "text"),
    ("model", "text"), ("xs", "int[]"), ("ys", "int[]"), ("widths", "int[]"), ("heights", "int[]"),
    ("genders", "text[]"), ("ages", "float8[]"), ("scores", "float8[]"),
])


def claim_image(image_id: UUID, message_id: str, *, reclaim: bool = False, hold: bool = False) -> Claim | None:
    """Take ``image_id`` for ``message_id``; None when there is nothing to do.

    ``reclaim`` says this delivery may take over an image its own message already holds:
    true for a redelivery after the worker died and for a Dramatiq retry, false for a
    first delivery, so a message published twice is not processed twice at once.
    Every claim counts an attempt; the caller fails an image past its limit. ``hold`` also holds
    the image's task (``Claim.gate``) in the same round trip, for a detector call to begin;
    ``Claim.alive`` then says whether the task still exists (if not, the gate is released).
    """
    values = {"image": str(image_id), "message": message_id, "reclaim": reclaim, "hold": hold}
    try:
        row = _CLAIM.execute(values).fetchone()
    except BaseException:
        if hold:
            # The lock may have been taken before the failure (an exception raised in this thread as the
            # answer came), and a session's lock outlives its statement; the thread's connection holds
            # no other advisory lock.
            with contextlib.suppress(Exception):
                db.execute_sql("SELECT pg_advisory_unlock_all()")
        raise
    if row is None:
        return None
    task_id = UUID(str(row[0]))
    gate = CallGate(task_lock_key(task_id) if hold else None)
    if row[2] is False:
        gate.release()
    return Claim(image_id, task_id, message_id, row[1], gate, row[2])


def end_image(
    claim: Claim, faces: Sequence[FoundFace] | None, error: str | None = None, model: str | None = None
) -> Ended | None:
    """Record the image as done with ``faces`` found by ``model`` (or failed with ``error``).

    Returns the run's images still to end and the image queued in this one's place (its
    message is for the caller to send), or None when the result was discarded: the task
    was cancelled (its rows are purged, so what was written for the image no longer
    matters), or another message has since taken the image over.
    """
    found = faces or []
    row = _END_IMAGE.execute(
        {
            "image": str(claim.image_id),
            "message": claim.message_id,
            "task": str(claim.task_id),
            "status": ImageStatus.FAILED if faces is None else ImageStatus.DONE,
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
    if row is None:
        return None
    return Ended(row[0], None if row[1] is None else UUID(str(row[1])))


def abandon_image(image_id: UUID, message_id: str) -> None:
    """Let go of an image of a cancelled task, so that the task can be purged."""
    Image.update(status=ImageStatus.FAILED, error="cancelled", claimed_by=None).where(
        (Image.id == image_id) & (Image.claimed_by == message_id)
    ).execute()


def cancelled_task_of(image_id: UUID) -> UUID | None:
    """The task of ``image_id`` if that task is cancelled (and not yet purged)."""
    row = (
        Image.select(Image.task)
        .join(Task)
        .where((Image.id == image_id) & Task.cancelled)
        .first()
    )
    return row.task_id if row else None


@dataclass(frozen=True)
class Finished:
    status: str
    run: int
    announce: bool


def finish_task(task_id: UUID) -> Finished | None:
    """End a task whose images have all ended: ``completed``, or ``failed`` if any failed.

    Returns the new status, the run that ended and whether its end is to be announced (the task
    has a callback URL), or None when there was nothing to finish (already finished, images still
    running, or cancelled). The counters decide: O(1) whatever the size.
    """
    rows = list(
        Task.update(
            status=Case(None, ((Task.images_failed > 0, TaskStatus.FAILED),), TaskStatus.COMPLETED),
            version=Task.version + 1,
            finished_at=fn.now(),
            updated_at=fn.now(),
            # This end's webhook is still to deliver.
            webhook_attempts=0,
            webhook_last_status=None,
            webhook_delivered_at=None,
            webhook_error=None,
        )
        .where(
            (Task.id == task_id) & ~Task.cancelled & (Task.status == TaskStatus.PROCESSING) & (Task.remaining == 0)
        )
        .returning(Task.status, Task.run, Task.callback_url)
        .execute()
    )
    if not rows:
        return None
    return Finished(rows[0].status, rows[0].run, rows[0].callback_url is not None)


def claim_of(image_id: UUID, message_id: str) -> Claim | None:
    """The claim ``message_id`` holds on ``image_id``, if it still holds one."""
    row = (
        Image.select(Image.task, Image.attempts)
        .where((Image.id == image_id) & (Image.status == ImageStatus.PROCESSING) & (Image.claimed_by == message_id))
        .first()
    )
    return Claim(image_id, row.task_id, message_id, row.attempts) if row else None
