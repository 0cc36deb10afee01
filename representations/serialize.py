"""The JSON shapes of DESIGN.md: task, task summary, statistics, pages; images are embedded as the
JSON text PostgreSQL writes for them (``storage.reports``).

Moved here from ``api/serialize.py`` so the webhook sender uses them without importing the API.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import Any

import orjson

from storage.models import Task
from storage.reports import Progress, Statistics, progress, statistics


def timestamp(value: datetime | None) -> str | None:
    return None if value is None else value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _mean(value: float | None) -> float | None:
    return None if value is None else float(value)


def statistics_json(s: Statistics) -> dict[str, Any]:
    return {
        "total_faces": s.total_faces,
        "total_males": s.total_males,
        "total_females": s.total_females,
        "mean_age_male": _mean(s.mean_age_male),
        "mean_age_female": _mean(s.mean_age_female),
    }


def progress_json(p: Progress) -> dict[str, int]:
    return {"total": p.total, "done": p.done, "failed": p.failed}


def _head(task: Task, owner: bool) -> dict[str, Any]:
    """The task's fields before its images; ``owner`` False on an open API, which has no principals to name."""
    head = {"id": str(task.id), "name": task.name}
    if owner:
        head["owner"] = task.owner.name
    return head | {
        "status": task.status,
        "created_at": timestamp(task.created_at),
        "updated_at": timestamp(task.updated_at),
        "started_at": timestamp(task.started_at),
        "finished_at": timestamp(task.finished_at),
        "progress": progress_json(progress(task)),
    }


def _tail(task: Task) -> dict[str, Any]:
    """What follows the images: the statistics, and the webhook's delivery when the task has a callback."""
    tail: dict[str, Any] = {"statistics": statistics_json(statistics(task))}
    if task.callback_url is not None:
        tail["webhook"] = {
            "url": task.callback_url,
            "attempts": task.webhook_attempts,
            "last_status": task.webhook_last_status,
            "delivered_at": timestamp(task.webhook_delivered_at),
            "error": task.webhook_error,
        }
    return tail


def summary(task: Task, *, owner: bool) -> dict[str, Any]:
    """The task summary: the task JSON without ``images`` (a list item)."""
    return {**_head(task, owner), **_tail(task)}


def new_task(task: Task, *, owner: bool) -> dict[str, Any]:
    """The task JSON of a task that has no image yet."""
    return {**_head(task, owner), "images": [], **_tail(task)}


def task_stream(task: Task, batches: Iterable[list[str]], *, owner: bool) -> Iterator[bytes]:
    """The whole task JSON, written a batch of images (JSON texts) at a time."""
    head = orjson.dumps(_head(task, owner))
    yield head[:-1] + b',"images":['
    separator = b""
    for batch in batches:
        if batch:
            yield separator + ",".join(batch).encode()
            separator = b","
    yield b"]," + orjson.dumps(_tail(task))[1:]


def page(items: list[Any], page_number: int, page_size: int, total: int) -> dict[str, Any]:
    return {"items": items, "page": page_number, "page_size": page_size, "total": total}


def image_texts(texts: list[str]) -> list[orjson.Fragment]:
    """Images' JSON, which only PostgreSQL writes (``storage.reports``), embedded as it is."""
    return [orjson.Fragment(t) for t in texts]
