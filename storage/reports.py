"""Read models: a task with its images, faces, progress and statistics; pages of tasks.

A fixed number of queries whatever the task's size (no query per image), and the
statistics always come from one SQL aggregate over the faces of done images.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import NamedTuple
from uuid import UUID

from peewee import fn

from detectors.base import Face
from storage.db import db
from storage.errors import TaskNotFound
from storage.models import Image, Task


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


class ImageRow(NamedTuple):
    id: str
    name: str
    status: str
    error: str | None


@dataclass
class ImageReport:
    image: ImageRow
    faces: list[Face] = field(default_factory=list)


@dataclass
class TaskReport:
    task: Task
    progress: Progress
    statistics: Statistics
    images: list[ImageReport] | None = None


_STATISTICS_SQL = """
SELECT i.task_id,
       count(*),
       count(*) FILTER (WHERE f.gender = 'male'),
       count(*) FILTER (WHERE f.gender = 'female'),
       avg(f.age) FILTER (WHERE f.gender = 'male'),
       avg(f.age) FILTER (WHERE f.gender = 'female')
FROM faces f JOIN images i ON i.id = f.image_id
WHERE i.task_id = ANY(%s::uuid[]) AND i.status = 'done'
GROUP BY i.task_id
"""


def statistics(task_ids: Sequence[UUID]) -> dict[UUID, Statistics]:
    """Statistics per task over the faces of its done images; tasks without faces are absent."""
    cursor = db.execute_sql(_STATISTICS_SQL, ([str(t) for t in task_ids],))
    return {UUID(str(row[0])): Statistics(*row[1:]) for row in cursor.fetchall()}


def progress(task_ids: Sequence[UUID]) -> dict[UUID, Progress]:
    rows = (
        Image.select(
            Image.task,
            fn.COUNT(Image.id).alias("total"),
            fn.COUNT(Image.id).filter(Image.status == "done").alias("done"),
            fn.COUNT(Image.id).filter(Image.status == "failed").alias("failed"),
        )
        .where(Image.task.in_(list(task_ids)))
        .group_by(Image.task)
        .dicts()
    )
    return {row["task"]: Progress(row["total"], row["done"], row["failed"]) for row in rows}


_IMAGES_SQL = "SELECT id::text, name, status, error FROM images WHERE task_id = %s ORDER BY created_at, id"
_FACES_SQL = """
SELECT f.image_id::text, f.x, f.y, f.width, f.height, f.gender, f.age, f.score
FROM faces f JOIN images i ON i.id = f.image_id
WHERE i.task_id = %s
ORDER BY f.image_id, f.id
"""


_FACES_OF_IMAGE_SQL = """
SELECT x, y, width, height, gender, age, score FROM faces WHERE image_id = %s ORDER BY id
"""


def image_faces(image_id: UUID) -> list[Face]:
    return [Face(*row) for row in db.execute_sql(_FACES_OF_IMAGE_SQL, (str(image_id),)).fetchall()]


def task_report(task_id: UUID) -> TaskReport:
    """The whole task: every image in upload order with its faces.

    Images and faces are read as plain rows (two queries, whatever the task's size): for a
    task of thousands of faces, building model instances was most of the response time.
    """
    task = Task.get_or_none((Task.id == task_id) & ~Task.cancelled)
    if task is None:
        raise TaskNotFound(task_id)
    images = [ImageRow._make(row) for row in db.execute_sql(_IMAGES_SQL, (str(task_id),)).fetchall()]
    faces: dict[str, list[Face]] = defaultdict(list)
    for image_id, *face in db.execute_sql(_FACES_SQL, (str(task_id),)).fetchall():
        faces[image_id].append(Face(*face))
    counts = Progress(
        total=len(images),
        done=sum(1 for i in images if i.status == "done"),
        failed=sum(1 for i in images if i.status == "failed"),
    )
    return TaskReport(
        task=task,
        progress=counts,
        statistics=statistics([task_id]).get(task_id, Statistics()),
        images=[ImageReport(image, faces.get(image.id, [])) for image in images],
    )


def task_page(status: str | None, page: int, page_size: int) -> tuple[list[TaskReport], int]:
    """One page of tasks, newest first, and the number of tasks in all pages."""
    visible = ~Task.cancelled if status is None else (~Task.cancelled & (Task.status == status))
    total = Task.select().where(visible).count()
    if (page - 1) * page_size >= total:  # past the end (however far: no OFFSET overflow)
        return [], total
    tasks = list(
        Task.select()
        .where(visible)
        .order_by(Task.created_at.desc(), Task.id.desc())
        .paginate(page, page_size)
    )
    ids = [t.id for t in tasks]
    counts = progress(ids) if ids else {}
    stats = statistics(ids) if ids else {}
    return [TaskReport(t, counts.get(t.id, Progress()), stats.get(t.id, Statistics())) for t in tasks], total
