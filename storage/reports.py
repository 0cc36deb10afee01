"""Read models: a task's summary, its images a page at a time or all streamed; pages of tasks.

Every read costs the same whatever the task's size, except the whole task, which is
streamed in batches: progress and statistics are counters on the task row; images are
found by their position in the task; and the image JSON is built by PostgreSQL, so a
100,000-image task passes through the API as text, a batch at a time, from one snapshot.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple
from uuid import UUID

from storage.db import db
from storage.errors import TaskNotFound
from storage.models import Task, User
from storage.statuses import ImageStatus

#: Images read per query while a whole task is streamed.
STREAM_BATCH = 1000


@dataclass(frozen=True)
class Statistics:
    total_faces: int = 0
    total_males: int = 0
    total_females: int = 0
    mean_age_male: float | None = None
    mean_age_female: float | None = None


@dataclass(frozen=True)
class Progress:
    total: int = 0
    done: int = 0
    failed: int = 0


class StoredFace(NamedTuple):
    x: int
    y: int
    width: int
    height: int
    gender: str
    age: float
    score: float


def progress(task: Task) -> Progress:
    return Progress(task.images_total, task.images_done, task.images_failed)


def statistics(task: Task) -> Statistics:
    """The task's statistics from its counters: the mean of a gender is None without faces."""
    return Statistics(
        total_faces=task.faces_total,
        total_males=task.males,
        total_females=task.females,
        mean_age_male=task.male_age_sum / task.males if task.males else None,
        mean_age_female=task.female_age_sum / task.females if task.females else None,
    )


def with_owner() -> Any:
    """Tasks selected with their owner's row, so that the owner's name costs no second read."""
    return Task.select(Task, User).join(User)


def find_task(task_id: UUID) -> Task:
    """The task, unless it is being deleted, with its owner's row (one indexed read): everything of
    its summary. Raises ``TaskNotFound``."""
    task = with_owner().where((Task.id == task_id) & ~Task.cancelled).first()
    if task is None:
        raise TaskNotFound(task_id)
    return task


_IN_FLIGHT_STAMP_SQL = f"""
SELECT coalesce(extract(epoch FROM max(updated_at)), 0) FROM images
WHERE task_id = %s AND status IN ('{ImageStatus.QUEUED}', '{ImageStatus.PROCESSING}')
"""


def representation_tag(task: Task, *, images: bool) -> str:
    """What changes whenever a representation of the task changes: its version, and for the
    representations that show images, the last time one of its images was claimed or queued
    again (those changes leave the task row alone, so that claims never wait for it)."""
    if not images:
        return f"v{task.version}"
    stamp = db.execute_sql(_IN_FLIGHT_STAMP_SQL, (str(task.id),)).fetchone()[0]
    return f"v{task.version}.{stamp}"


@dataclass(frozen=True)
class TaskFilter:
    """Which tasks a list shows: by status, by the owner's id (a member's own), by the owner's name."""

    status: str | None = None
    owner_id: int | None = None
    owner_name: str | None = None


def task_page(which: TaskFilter, page: int, page_size: int) -> tuple[list[Task], int]:
    """One page of tasks, newest first, and the number of tasks in all pages."""
    visible = ~Task.cancelled
    if which.status is not None:
        visible &= Task.status == which.status
    if which.owner_id is not None:
        visible &= Task.owner == which.owner_id
    if which.owner_name is not None:
        visible &= User.name == which.owner_name
    total = with_owner().where(visible).count()
    if (page - 1) * page_size >= total:  # past the end (however far: no OFFSET overflow)
        return [], total
    tasks = list(
        with_owner().where(visible).order_by(Task.created_at.desc(), Task.id.desc()).paginate(page, page_size)
    )
    return tasks, total


# An image as the contract's JSON, faces included, built by PostgreSQL: the API passes it
# on as text, and no other code writes an image's JSON. json_float writes floats as Python
# does (28.0, not 28).
_IMAGE_JSON = """
'{"id":"' || i.id || '","name":' || to_json(i.name) || ',"status":"' || i.status
|| '","error":' || coalesce(to_json(i.error)::text, 'null') || ',"faces":[' || coalesce((
    SELECT string_agg('{"bbox":{"x":' || f.x || ',"y":' || f.y || ',"width":' || f.width || ',"height":' || f.height
                      || '},"gender":"' || f.gender || '","age":' || json_float(f.age)
                      || ',"score":' || json_float(f.score) || '}', ',' ORDER BY f.id)
    FROM faces AS f WHERE f.image_id = i.id), '') || ']}'
"""
_POSITIONS_SQL = f"""
SELECT i.position, {_IMAGE_JSON} FROM images AS i
WHERE i.task_id = %s AND i.position > %s AND i.position <= %s ORDER BY i.position
"""
_BY_STATUS_SQL = f"""
SELECT {_IMAGE_JSON} FROM images AS i
WHERE i.task_id = %s AND i.status = %s ORDER BY i.position OFFSET %s LIMIT %s
"""
_STATUS_COUNT_SQL = "SELECT count(*) FROM images WHERE task_id = %s AND status = %s"
_BY_ID_SQL = f"SELECT {_IMAGE_JSON} FROM images AS i WHERE i.id = ANY(%s::uuid[]) ORDER BY i.position"


def images_json(image_ids: Sequence[UUID]) -> list[str]:
    """These images as JSON texts, in upload order."""
    return [row[0] for row in db.execute_sql(_BY_ID_SQL, ([str(i) for i in image_ids],)).fetchall()]


def images_page(task: Task, status: str | None, page: int, page_size: int) -> tuple[list[str], int]:
    """One page of the task's images in upload order, as JSON texts, and the matching total.

    Without a filter a page is a range of positions: the same cost for the first page and
    the last. With a ``status`` filter, the page is found in the (task, status, position)
    index; its cost grows with the page number, and the total of ``done`` and ``failed``
    images comes from the counters.
    """
    first = (page - 1) * page_size
    if status is None:
        rows = db.execute_sql(_POSITIONS_SQL, (str(task.id), first, first + page_size)).fetchall()
        return [row[1] for row in rows], task.images_total
    if status == ImageStatus.DONE:
        total = task.images_done
    elif status == ImageStatus.FAILED:
        total = task.images_failed
    else:
        total = db.execute_sql(_STATUS_COUNT_SQL, (str(task.id), status)).fetchone()[0]
    if first >= total:
        return [], total
    rows = db.execute_sql(_BY_STATUS_SQL, (str(task.id), status, first, page_size)).fetchall()
    return [row[0] for row in rows], total


# One row per face, and one with empty face columns for an image without any (none found, or failed).
_FACE_ROWS_SQL = """
SELECT i.id::text, i.name, i.status, i.error, f.x, f.y, f.width, f.height, f.gender, f.age, f.score
FROM images AS i LEFT JOIN faces AS f ON f.image_id = i.id
WHERE i.task_id = %s AND i.position > %s AND i.position <= %s
ORDER BY i.position, f.id
"""


class FaceRow(NamedTuple):
    image_id: str
    image_name: str
    status: str
    error: str | None
    x: int | None
    y: int | None
    width: int | None
    height: int | None
    gender: str | None
    age: float | None
    score: float | None


def stream_task(
    seen: Task, write: Callable[[Task, Iterator[list[str]]], Iterator[bytes]], batch: int = STREAM_BATCH
) -> Iterator[bytes]:
    """The whole task, written by ``write`` from its row and its images' JSON in batches."""
    return _stream(seen, write, lambda rows: [row[1] for row in rows], _POSITIONS_SQL, batch)


def stream_face_rows(
    seen: Task, write: Callable[[Task, Iterator[list[FaceRow]]], Iterator[bytes]], batch: int = STREAM_BATCH
) -> Iterator[bytes]:
    """Every face of the task (and every image without one) in upload order, written by ``write``."""
    return _stream(seen, write, lambda rows: [FaceRow(*row) for row in rows], _FACE_ROWS_SQL, batch)


def _stream(
    seen: Task, write: Callable[[Task, Iterator[list[Any]]], Iterator[bytes]],
    convert: Callable[[list[tuple]], list[Any]], sql: str, batch: int,
) -> Iterator[bytes]:
    """A task's images read ``batch`` positions at a time by ``sql``, for ``write``.

    Everything comes from one snapshot (REPEATABLE READ), so the statistics agree with the
    images beside them, on a connection of its own held while the response is written
    (the request's connection is given back before the body is sent). ``seen`` is the row
    the caller already read: a task deleted since then is written as it was, without images.
    """
    with db.connection_context(), db.atomic():
        db.execute_sql("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        task = Task.get_or_none((Task.id == seen.id) & ~Task.cancelled)
        if task is None:
            yield from write(seen, iter(()))
            return
        batches = (
            convert(db.execute_sql(sql, (str(task.id), after, after + batch)).fetchall())
            for after in range(0, task.images_total, batch)
        )
        yield from write(task, batches)


_FACES_OF_IMAGE_SQL = "SELECT x, y, width, height, gender, age, score FROM faces WHERE image_id = %s ORDER BY id"


def image_faces(image_id: UUID) -> list[StoredFace]:
    return [StoredFace(*row) for row in db.execute_sql(_FACES_OF_IMAGE_SQL, (str(image_id),)).fetchall()]
