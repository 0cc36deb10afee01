"""The sweeps that keep every task moving when messages are lost or processes die.

Each sweep is one conditional statement, safe to run from several machines at once;
``sweeping`` additionally lets only one of them work at a time.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from uuid import UUID

from peewee import Expression, fn

from storage.db import db
from storage.models import Image, Task
from storage.statuses import FINAL, TaskStatus

_LOCK_KEY = 0x68736B70  # "hskp": any constant shared by every housekeeper


@contextmanager
def sweeping() -> Iterator[bool]:
    """True when this process holds the housekeeping lock for the duration of the block."""
    with db.connection_context():
        acquired = db.execute_sql("SELECT pg_try_advisory_lock(%s)", (_LOCK_KEY,)).fetchone()[0]
        try:
            yield acquired
        finally:
            if acquired:
                db.execute_sql("SELECT pg_advisory_unlock(%s)", (_LOCK_KEY,))


def _older_than(column, seconds: float):
    return column < fn.now() - fn.make_interval(0, 0, 0, 0, 0, 0, seconds)


_RELEASE_SQL = """
WITH released AS (
    UPDATE images SET status = 'queued', claimed_by = NULL, sent_at = NULL, updated_at = clock_timestamp()
    WHERE status = 'processing' AND updated_at < now() - make_interval(secs => %s)
    RETURNING task_id
), touched AS (
    UPDATE tasks SET version = version + 1 WHERE id IN (SELECT task_id FROM released)
)
SELECT count(*) FROM released
"""


def release_stale_claims(stale_after_s: float) -> int:
    """Queue again (unsent) images held longer than ``stale_after_s`` by a message that never ended.

    The claim's attempt stays counted, so an image that kills its worker every time
    still reaches the attempts limit.
    """
    return db.execute_sql(_RELEASE_SQL, (stale_after_s,)).fetchone()[0]


def unsent_images(unsent_s: float, lost_s: float, limit: int) -> list[UUID]:
    """Queued images whose message is missing: never sent for ``unsent_s`` (a worker or the
    broker failed between the commit and the publish), or sent ``lost_s`` ago and still
    not taken (the broker lost it). The outbox column tells, however busy the queue is."""
    rows = (
        Image.select(Image.id)
        .where(
            (Image.status == "queued")
            & (
                (Image.sent_at.is_null() & _older_than(Image.updated_at, unsent_s))
                | _older_than(Image.sent_at, lost_s)
            )
        )
        .order_by(Image.updated_at)
        .limit(limit)
    )
    return [row.id for row in rows]


def stalled_runs(idle_s: float) -> list[UUID]:
    """Running tasks with images still to end that have not moved for ``idle_s``: their
    dispatch message was lost, or an image was skipped; queuing them up again is safe."""
    rows = Task.select(Task.id).where(
        (Task.status == TaskStatus.PROCESSING) & (Task.remaining > 0) & ~Task.cancelled
        & _older_than(Task.updated_at, idle_s)
    )
    return [row.id for row in rows]


def unfinished_runs(idle_s: float) -> list[UUID]:
    """Processing tasks whose images have all ended but which nobody finished."""
    rows = Task.select(Task.id).where(
        (Task.status == TaskStatus.PROCESSING) & (Task.remaining == 0) & ~Task.cancelled
        & _older_than(Task.updated_at, idle_s)
    )
    return [row.id for row in rows]


def unannounced_ends(idle_s: float) -> list[tuple[UUID, int]]:
    """(task, run) of runs that ended ``idle_s`` ago with a callback whose end was never handed to the
    broker (the announcing worker died between the end and its publish). An end announced once is not
    announced again, however long its first attempt waits in the queue."""
    rows = Task.select(Task.id, Task.run).where(
        Task.status.in_(FINAL) & ~Task.cancelled & Task.callback_url.is_null(False)
        & Expression(Task.webhook_announced_run, "IS DISTINCT FROM", Task.run) & _older_than(Task.finished_at, idle_s)
    )
    return [(row.id, row.run) for row in rows]


def cancelled_tasks() -> list[UUID]:
    return [row.id for row in Task.select(Task.id).where(Task.cancelled)]


def known_tasks(task_ids: list[UUID]) -> set[UUID]:
    """Which of ``task_ids`` still have rows (cancelled ones included)."""
    if not task_ids:
        return set()
    return {row.id for row in Task.select(Task.id).where(Task.id.in_(task_ids))}


def known_images(image_ids: list[UUID]) -> set[UUID]:
    """Which of ``image_ids`` have rows."""
    if not image_ids:
        return set()
    return {row.id for row in Image.select(Image.id).where(Image.id.in_(image_ids))}


def record_sweep() -> None:
    db.execute_sql(
        "INSERT INTO housekeeping (id, last_sweep_at) VALUES (true, now())"
        " ON CONFLICT (id) DO UPDATE SET last_sweep_at = excluded.last_sweep_at"
    )


def last_sweep() -> datetime | None:
    """When a housekeeping sweep last ended, on any machine; None if none ever did."""
    row = db.execute_sql("SELECT last_sweep_at FROM housekeeping").fetchone()
    return row[0] if row else None
