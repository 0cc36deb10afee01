"""Tasks and images by status for ``/metrics``, at a cost that does not grow with the images kept.

Done and failed images are the tasks' own counters (``images_done``, ``images_failed``, kept by the
statements that end images); queued and processing ones are read through the ``images_in_flight``
partial index, which holds only those (at most TASK_WINDOW per running task); pending is the rest of
``images_total``. A scrape reads the tasks table and the images in flight, never every image.
"""

from __future__ import annotations

from storage.db import db
from storage.statuses import ImageStatus, TaskStatus

TASKS_SQL = "SELECT status, count(*) FROM tasks WHERE NOT cancelled GROUP BY status"
IMAGES_SQL = f"""
WITH counters AS (
    SELECT coalesce(sum(images_total), 0) AS total, coalesce(sum(images_done), 0) AS done,
           coalesce(sum(images_failed), 0) AS failed
    FROM tasks WHERE NOT cancelled
), in_flight AS (
    SELECT count(*) FILTER (WHERE i.status = '{ImageStatus.QUEUED}') AS queued,
           count(*) FILTER (WHERE i.status = '{ImageStatus.PROCESSING}') AS processing
    FROM images AS i JOIN tasks AS t ON t.id = i.task_id
    WHERE i.status IN ('{ImageStatus.QUEUED}', '{ImageStatus.PROCESSING}') AND NOT t.cancelled
)
SELECT total - done - failed - queued - processing, queued, processing, done, failed FROM counters, in_flight
"""


def tasks_by_status() -> dict[str, int]:
    counts = dict(db.execute_sql(TASKS_SQL).fetchall())
    return {status.value: counts.get(status, 0) for status in TaskStatus}


def images_by_status() -> dict[str, int]:
    row = db.execute_sql(IMAGES_SQL).fetchone()  # its columns in ImageStatus' order
    return {status.value: int(count) for status, count in zip(ImageStatus, row, strict=True)}
