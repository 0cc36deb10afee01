"""Task lifecycle as the API drives it: create, add images, start, retry, delete.

Every state change is one conditional ``UPDATE … RETURNING`` whose condition is the rule
("only from forming"), so two concurrent requests cannot both pass it. These lock the
task row first, then its images; they act on tasks none of whose images a worker holds
(forming, failed, or a purge whose condition is that none is processing), so they never
meet the workers' opposite order (``storage.image_states``).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from contextlib import suppress
from pathlib import Path
from uuid import UUID

from peewee import Field, OperationalError, fn
from psycopg2.errors import LockNotAvailable

from config.settings import Settings
from storage.db import db
from storage.errors import ImageNotFound, StoreUnavailable, TaskBusy, TaskNotFound, WrongState
from storage.locks import task_lock_key
from storage.models import Image, Task
from storage.reports import find_task
from storage.statuses import ImageStatus, TaskStatus
from storage.store import ImageStore, Incoming

logger = logging.getLogger(__name__)


def create_task(name: str | None, owner_id: int, callback_url: str | None = None) -> Task:
    return (
        Task.insert(id=uuid.uuid4(), name=name, owner=owner_id, callback_url=callback_url)
        .returning(Task)
        .execute()[0]
    )


def _refusal(task_id: UUID, action: str, allowed: str) -> Exception:
    """Why a conditional UPDATE matched nothing: the task is gone, or in another state."""
    task = find_task(task_id)  # raises TaskNotFound
    return WrongState(f"a task can be {action} only while it is {allowed}; this one is {task.status}")


def add_image(store: ImageStore, incoming: Incoming, task_id: UUID, name: str) -> Image:
    """Record a finished upload as the next image of a forming task and keep its file."""
    incoming.file.flush()
    return add_images(store, task_id, [(incoming.path, incoming.size, name)])[0]


def add_images(store: ImageStore, task_id: UUID, files: Sequence[tuple[Path, int, str]]) -> list[Image]:
    """Record uploaded files ((path, size in bytes, name) each) as the next images of a forming task.

    All or nothing: rows and files are kept together, or none is. The files are kept first, before
    the transaction (a slow store never holds the task's lock), so a committed row always has its
    file; a process that dies in between leaves files no row names, which housekeeping removes.
    The task row stays locked until the commit, so a concurrent start waits for these uploads and
    includes them, or they see the task started; the lock also numbers the task's images without gaps.
    """
    image_ids = [uuid.uuid4() for _ in files]
    try:
        for image_id, (path, _, _) in zip(image_ids, files, strict=True):
            store.keep(path, task_id, image_id)
        with db.atomic():
            counted = list(
                Task.update(
                    images_total=Task.images_total + len(files), version=Task.version + 1, updated_at=fn.now()
                )
                .where((Task.id == task_id) & ~Task.cancelled & (Task.status == TaskStatus.FORMING))
                .returning(Task.images_total)
                .execute()
            )
            if not counted:
                raise _refusal(task_id, "given images", TaskStatus.FORMING)
            first = counted[0].images_total - len(files) + 1
            rows = [
                {"id": image_id, "task": task_id, "name": name, "size": size, "position": first + n}
                for n, (image_id, (_, size, name)) in enumerate(zip(image_ids, files, strict=True))
            ]
            images = list(Image.insert_many(rows).returning(Image).execute()) if rows else []
    except BaseException:
        # A store that fails here leaves them to housekeeping's sweep of files no row names.
        with suppress(StoreUnavailable):
            store.remove_images((task_id, image_id) for image_id in image_ids)
        raise
    return sorted(images, key=lambda image: image.position)


def _begin_run(task_id: UUID, from_status: TaskStatus, images: Field, action: str) -> Task:
    """Move the task to processing in one statement; the pipeline then queues its images.

    Costs the same whatever the task's size: no image row is touched here. The run's images
    are those ``images`` counts (every image for a start, the failed ones for a retry);
    the dispatcher queues them a window at a time from the first position on.
    """
    moved = list(
        Task.update(
            status=TaskStatus.PROCESSING,
            remaining=images,
            run=Task.run + 1,
            queued_through=0,
            version=Task.version + 1,
            started_at=fn.now(),
            finished_at=None,
            updated_at=fn.now(),
        )
        .where((Task.id == task_id) & ~Task.cancelled & (Task.status == from_status) & (images > 0))
        .returning(Task)
        .execute()
    )
    if moved:
        return moved[0]
    task = find_task(task_id)  # raises TaskNotFound
    if task.status != from_status:
        raise WrongState(f"a task can be {action} only while it is {from_status}; this one is {task.status}")
    raise WrongState(f"the task has no images to process; add at least one before it can be {action}")


def start_task(task_id: UUID) -> Task:
    """Move a forming task with at least one image to processing; returns the task as it now is."""
    return _begin_run(task_id, TaskStatus.FORMING, Task.images_total, "started")


def retry_task(task_id: UUID) -> Task:
    """Re-run only the failed images of a failed task; done images keep their faces."""
    return _begin_run(task_id, TaskStatus.FAILED, Task.images_failed, "retried")


def cancel_task(task_id: UUID, lock_timeout_s: float = Settings.delete_lock_timeout_s) -> None:
    """Hide the task from the API at once and tell the pipeline to stop working on it.

    The task's advisory lock is taken exclusively first, so the flag is set only once every
    claimed image's detector call has begun (``storage.image_states.CallGate``), and any later claim
    sees the flag: none begins after. The wait for that lock is bounded by ``lock_timeout_s``: a
    worker stuck before its call begins makes this raise ``TaskBusy`` with nothing changed,
    instead of holding the request.
    """
    try:
        with db.atomic():
            db.execute_sql("SELECT set_config('lock_timeout', %s, true)", (f"{int(lock_timeout_s * 1000)}ms",))
            db.execute_sql("SELECT pg_advisory_xact_lock(%s)", (task_lock_key(task_id),))
            hidden = list(
                Task.update(cancelled=True, version=Task.version + 1, updated_at=fn.now())
                .where((Task.id == task_id) & ~Task.cancelled)
                .returning(Task.id)
                .execute()
            )
    except OperationalError as error:
        # A lock wait that timed out (55P03, lock_not_available) stays the driver's error (storage.db).
        if isinstance(getattr(error, "orig", None), LockNotAvailable):
            raise TaskBusy(f"a worker is still starting the task's detector calls after {lock_timeout_s:g} s") from None
        raise
    if not hidden:
        raise TaskNotFound(task_id)


def purge_cancelled(task_id: UUID) -> bool:
    """Delete a cancelled task's rows if no stage is working on one of its images.

    Returns True when the rows are gone; the caller then removes the files. False means
    an image is still being processed: its worker purges the task when it lets go.
    """
    busy = Image.select().where((Image.task == task_id) & (Image.status == ImageStatus.PROCESSING))
    deleted = (
        Task.delete()
        .where((Task.id == task_id) & Task.cancelled & ~fn.EXISTS(busy))
        .returning(Task.id)
        .execute()
    )
    return bool(list(deleted))


def purge(task_id: UUID, store: ImageStore) -> bool:
    """``purge_cancelled``, then the task's files once its rows are gone; True if it was purged.

    Files the store fails to delete are left to housekeeping, which removes those of tasks without rows.
    """
    if not purge_cancelled(task_id):
        return False
    try:
        store.remove_task(task_id)
    except StoreUnavailable:
        logger.warning("task %s: its images stay in the store until housekeeping removes them", task_id)
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
