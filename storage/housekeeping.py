"""The sweeps that keep every task moving when messages are lost or processes die.

Each sweep is one conditional statement, safe to run from several machines at once;
``sweeping`` additionally lets only one of them work at a time.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from uuid import UUID

from peewee import fn

from storage.db import db
from storage.models import Image, Task

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


def release_stale_claims(stale_after_s: float) -> int:
    """Put images held longer than ``stale_after_s`` by a message that never ended back in the queue.

    The claim's attempt stays counted, so an image that kills its worker every time
    still reaches the attempts limit.
    """
    return (
        Image.update(status="queued", claimed_by=None, updated_at=fn.clock_timestamp())
        .where((Image.status == "processing") & _older_than(Image.updated_at, stale_after_s))
        .execute()
    )


def unsent_images(waiting_s: float, limit: int) -> list[UUID]:
    """Queued images waiting longer than ``waiting_s``; their wait restarts now.

    Called when the detect queue holds no message, so these images have none: their
    publish was lost (API died after its commit, broker outage).
    """
    stale = (
        Image.select(Image.id)
        .where((Image.status == "queued") & _older_than(Image.updated_at, waiting_s))
        .order_by(Image.updated_at)
        .limit(limit)
    )
    rows = (
        Image.update(updated_at=fn.clock_timestamp())
        .where(Image.id.in_(stale) & (Image.status == "queued"))
        .returning(Image.id)
        .execute()
    )
    return [row.id for row in rows]


def unfinished_runs(idle_s: float) -> list[UUID]:
    """Processing tasks whose images have all ended but which nobody finished."""
    rows = Task.select(Task.id).where(
        (Task.status == "processing") & (Task.remaining == 0) & ~Task.cancelled & _older_than(Task.updated_at, idle_s)
    )
    return [row.id for row in rows]


def cancelled_tasks() -> list[UUID]:
    return [row.id for row in Task.select(Task.id).where(Task.cancelled)]


def known_tasks(task_ids: list[UUID]) -> set[UUID]:
    """Which of ``task_ids`` still have rows (cancelled ones included)."""
    if not task_ids:
        return set()
    return {row.id for row in Task.select(Task.id).where(Task.id.in_(task_ids))}
