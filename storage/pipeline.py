"""Image and task state changes as the workers drive them.

RabbitMQ delivers at least once and processes die, so each change is conditional on
the state the caller believes in and says whether it happened:

* an image is claimed by one queue message at a time (``claimed_by``); a redelivery of
  that same message may claim it again, any other message finds nothing to do;
* an image ends (done or failed) in one transaction with the task's ``remaining``
  counter, so a redelivery can never count twice;
* a cancelled task's changes are discarded and its rows purged once nothing works on it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from uuid import UUID

from peewee import Case, fn

from detectors.base import Face as DetectedFace
from storage.db import db
from storage.models import Face, Image, Task
from storage.tasks import purge_cancelled


@dataclass(frozen=True)
class Claim:
    image_id: UUID
    task_id: UUID
    message_id: str
    attempts: int


def claim_image(image_id: UUID, message_id: str, *, reclaim: bool = False) -> Claim | None:
    """Take ``image_id`` for ``message_id``; None when there is nothing to do.

    ``reclaim`` says this delivery may take over an image its own message already holds:
    true for a redelivery after the worker died and for a Dramatiq retry, false for a
    first delivery, so a message published twice is not processed twice at once.
    Every claim counts an attempt; the caller fails an image past its limit.
    """
    live_task = Task.select().where((Task.id == Image.task) & ~Task.cancelled & (Task.status == "processing"))
    claimable = Image.status == "queued"
    if reclaim:
        claimable |= (Image.status == "processing") & (Image.claimed_by == message_id)
    rows = list(
        Image.update(
            status="processing",
            attempts=Image.attempts + 1,
            claimed_by=message_id,
            updated_at=fn.clock_timestamp(),
        )
        .where((Image.id == image_id) & claimable & fn.EXISTS(live_task))
        .returning(Image.task, Image.attempts)
        .execute()
    )
    if not rows:
        return None
    return Claim(image_id, rows[0].task_id, message_id, rows[0].attempts)


def end_image(
    claim: Claim, faces: Sequence[DetectedFace] | None, error: str | None = None, model: str | None = None
) -> int | None:
    """Record the image as done with ``faces`` found by ``model`` (or failed with ``error``).

    Returns the task's images still to end, or None when the change was discarded:
    the task was cancelled, or another message has since taken the image over.
    """
    with db.atomic() as transaction:
        counted = list(
            Task.update(remaining=Task.remaining - 1, updated_at=fn.now())
            .where((Task.id == claim.task_id) & ~Task.cancelled & (Task.status == "processing"))
            .returning(Task.remaining)
            .execute()
        )
        ended = counted and (
            Image.update(
                status="failed" if faces is None else "done",
                error=error,
                model=model,
                claimed_by=None,
                updated_at=fn.clock_timestamp(),
            )
            .where(
                (Image.id == claim.image_id)
                & (Image.status == "processing")
                & (Image.claimed_by == claim.message_id)
            )
            .execute()
        )
        if not ended:
            transaction.rollback()
            return None
        Face.delete().where(Face.image == claim.image_id).execute()
        if faces:
            Face.insert_many(
                [
                    (claim.image_id, f.x, f.y, f.width, f.height, f.gender, f.age, f.score)
                    for f in faces
                ],
                fields=[Face.image, Face.x, Face.y, Face.width, Face.height, Face.gender, Face.age, Face.score],
            ).execute()
        return counted[0].remaining


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
