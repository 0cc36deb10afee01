"""Task lifecycle as the API drives it: create, add images, start, retry, delete.

Every state change is one conditional ``UPDATE … RETURNING`` whose condition is the rule
("only from forming"), so two concurrent requests cannot both pass it. These lock the
task row first, then its images; they act on tasks none of whose images a worker holds
(forming, failed, or a purge whose condition is that none is processing), so they never
meet the workers' opposite order (``storage.pipeline``).
"""

from __future__ import annotations

import uuid
from uuid import UUID

from peewee import fn

from storage.errors import ImageNotFound, TaskNotFound, WrongState
from storage.files import ImageStore
from storage.models import Image, Task


def create_task(name: str | None) -> Task:
    return Task.insert(id=uuid.uuid4(), name=name).returning(Task).execute()[0]


def find_task(task_id: UUID) -> Task:
    task = Task.get_or_none((Task.id == task_id) & ~Task.cancelled)
    if task is None:
        raise TaskNotFound(task_id)
    return task


def _refusal(task_id: UUID, action: str, allowed: str) -> Exception:
    """Why a conditional UPDATE matched nothing: the task is gone, or in another state."""
    task = find_task(task_id)  # raises TaskNotFound
    return WrongState(f"a task can be {action} only while it is {allowed}; this one is {task.status}")


def add_image(task_id: UUID, image_id: UUID, name: str, size: int) -> Image:
    """Record an image of ``size`` bytes in a forming task.

    The task row stays locked until the caller's transaction commits, so a concurrent
    start waits for this upload and includes it, or this upload sees the task started.
    """
    locked = list(
        Task.update(updated_at=fn.now())
        .where((Task.id == task_id) & ~Task.cancelled & (Task.status == "forming"))
        .returning(Task.id)
        .execute()
    )
    if not locked:
        raise _refusal(task_id, "given images", "forming")
    return Image.insert(id=image_id, task=task_id, name=name, size=size).returning(Image).execute()[0]


def _begin_run(task_id: UUID, from_status: str, images_from: str, action: str) -> list[UUID]:
    task_moved = list(
        Task.update(
            status="processing", started_at=fn.now(), finished_at=None, updated_at=fn.now()
        )
        .where((Task.id == task_id) & ~Task.cancelled & (Task.status == from_status))
        .returning(Task.id)
        .execute()
    )
    if not task_moved:
        raise _refusal(task_id, action, from_status)
    # A separate statement, so its snapshot includes uploads that committed while the
    # UPDATE above waited for their lock on the task row.
    queued = list(
        Image.update(status="queued", error=None, attempts=0, claimed_by=None, updated_at=fn.clock_timestamp())
        .where((Image.task == task_id) & (Image.status == images_from))
        .returning(Image.id)
        .execute()
    )
    if not queued:
        raise WrongState(f"the task has no images to process; add at least one before it can be {action}")
    Task.update(remaining=len(queued)).where(Task.id == task_id).execute()
    return [row.id for row in queued]


def start_task(task_id: UUID) -> list[UUID]:
    """Move a forming task to processing; returns the ids of the images to detect."""
    return _begin_run(task_id, "forming", "pending", "started")


def retry_task(task_id: UUID) -> list[UUID]:
    """Re-run only the failed images of a failed task; done images keep their faces."""
    return _begin_run(task_id, "failed", "failed", "retried")


def cancel_task(task_id: UUID) -> None:
    """Hide the task from the API at once and tell the pipeline to stop working on it."""
    hidden = list(
        Task.update(cancelled=True, updated_at=fn.now())
        .where((Task.id == task_id) & ~Task.cancelled)
        .returning(Task.id)
        .execute()
    )
    if not hidden:
        raise TaskNotFound(task_id)


def purge_cancelled(task_id: UUID) -> bool:
    """Delete a cancelled task's rows if no stage is working on one of its images.

    Returns True when the rows are gone; the caller then removes the files. False means
    an image is still being processed: its worker purges the task when it lets go.
    """
    busy = Image.select().where((Image.task == task_id) & (Image.status == "processing"))
    deleted = (
        Task.delete()
        .where((Task.id == task_id) & Task.cancelled & ~fn.EXISTS(busy))
        .returning(Task.id)
        .execute()
    )
    return bool(list(deleted))



def purge(task_id: UUID, store: ImageStore) -> bool:
    """``purge_cancelled``, then the task's files once its rows are gone; True if it was purged."""
    if not purge_cancelled(task_id):
        return False
    store.remove_task(task_id)
    return True


def find_image(task_id: UUID, image_id: UUID) -> Image:
    image = (
        Image.select()
        .join(Task)
        .where((Image.id == image_id) & (Image.task == task_id) & ~Task.cancelled)
        .first()
    )
    if image is None:
        raise ImageNotFound(image_id)
    return image
