"""The figures a task keeps on its row against a full aggregate over its images and faces.

Reads and writes never aggregate (``storage.reports``); this is how an operator, the tests
and the benchmark's seeding check or set the kept figures. ``python -m storage.audit TASK_ID``
prints both.
"""

from __future__ import annotations

import sys
from dataclasses import astuple, dataclass
from uuid import UUID

from storage.db import db
from storage.statuses import ImageStatus

_KEPT_SQL = """
SELECT images_total, images_done, images_failed, faces_total, males, females, male_age_sum, female_age_sum
FROM tasks WHERE id = %s
"""
# Statistics cover the faces of done images only.
_AGGREGATE_SQL = f"""
SELECT (SELECT count(*) FROM images WHERE task_id = %(task)s),
       (SELECT count(*) FROM images WHERE task_id = %(task)s AND status = '{ImageStatus.DONE}'),
       (SELECT count(*) FROM images WHERE task_id = %(task)s AND status = '{ImageStatus.FAILED}'),
       count(f.id),
       count(f.id) FILTER (WHERE f.gender = 'male'),
       count(f.id) FILTER (WHERE f.gender = 'female'),
       coalesce(sum(f.age) FILTER (WHERE f.gender = 'male'), 0),
       coalesce(sum(f.age) FILTER (WHERE f.gender = 'female'), 0)
FROM images AS i JOIN faces AS f ON f.image_id = i.id
WHERE i.task_id = %(task)s AND i.status = '{ImageStatus.DONE}'
"""
_RECOUNT_SQL = f"""
UPDATE tasks SET (images_total, images_done, images_failed, faces_total, males, females, male_age_sum,
                  female_age_sum) = ({_AGGREGATE_SQL})
WHERE id = %(task)s
"""


@dataclass(frozen=True)
class Figures:
    """A task's progress and statistics as counts and sums of ages (years)."""

    images: int
    done: int
    failed: int
    faces: int
    males: int
    females: int
    male_age_sum: float
    female_age_sum: float


def kept(task_id: UUID) -> Figures:
    """The figures on the task row, as every read serves them."""
    return Figures(*db.execute_sql(_KEPT_SQL, (str(task_id),)).fetchone())


def aggregate(task_id: UUID) -> Figures:
    """The figures computed afresh from every image and face of the task."""
    return Figures(*db.execute_sql(_AGGREGATE_SQL, {"task": str(task_id)}).fetchone())


def recount(task_id: UUID) -> None:
    """Set the kept figures to the full aggregate (rows written by other means than the pipeline)."""
    db.execute_sql(_RECOUNT_SQL, {"task": str(task_id)})


def main(argv: list[str]) -> int:
    from config.settings import Settings
    from storage.db import init_db

    init_db(Settings.from_env().database_url, max_connections=1)
    for task_id in argv:
        print(task_id, "kept", astuple(kept(UUID(task_id))))
        print(task_id, "full", astuple(aggregate(UUID(task_id))))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
