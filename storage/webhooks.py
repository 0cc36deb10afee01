"""Delivery state of completion webhooks, one delivery per end of a task's run."""

from __future__ import annotations

from uuid import UUID

from peewee import fn

from storage.models import Task
from storage.reports import with_owner
from storage.statuses import FINAL


def pending_delivery(task_id: UUID, run: int) -> Task | None:
    """The task, if its run ``run`` ended, has a callback and its webhook is not delivered yet."""
    return with_owner().where(
        (Task.id == task_id) & ~Task.cancelled & (Task.run == run) & Task.status.in_(FINAL)
        & Task.callback_url.is_null(False) & Task.webhook_delivered_at.is_null()
    ).first()


def record_attempt(task_id: UUID, run: int, status: int | None, delivered: bool, error: str | None = None) -> None:
    """Count one attempt of run ``run``'s delivery with the receiver's HTTP status (None: no answer) or
    why there was none. The task's JSON shows the delivery, so its version (the ETag) moves too."""
    Task.update(
        version=Task.version + 1,
        webhook_attempts=Task.webhook_attempts + 1,
        webhook_last_status=status,
        webhook_delivered_at=fn.now() if delivered else None,
        webhook_error=error,
    ).where((Task.id == task_id) & (Task.run == run) & Task.webhook_delivered_at.is_null()).execute()


def mark_announced(task_id: UUID, run: int) -> None:
    """The end of run ``run`` was handed to the broker: housekeeping leaves it alone."""
    Task.update(webhook_announced_run=run).where((Task.id == task_id) & (Task.run == run)).execute()
