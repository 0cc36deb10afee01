"""Task resources: create, list, read, start, retry, delete."""

from __future__ import annotations

import logging
from collections.abc import Callable
from uuid import UUID

import falcon

from actors.messages import Pipeline, QueueUnavailable
from api import serialize
from api.names import checked_name
from storage.db import db
from storage.files import ImageStore
from storage.models import TASK_STATUSES
from storage.reports import task_page, task_report
from storage.tasks import cancel_task, create_task, purge, retry_task, start_task

logger = logging.getLogger(__name__)

DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100
# Far past any real list, and small enough to echo back as a JSON integer.
MAX_PAGE = 1_000_000_000


class TaskCollection:
    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        body = req.get_media(default_when_empty=None)
        if body is not None and not isinstance(body, dict):
            raise falcon.HTTPBadRequest(
                title="Invalid body", description='The body must be a JSON object like {"name": "…"}.'
            )
        task = create_task(checked_name((body or {}).get("name"), '"name"'))
        resp.status = falcon.HTTP_201
        resp.location = f"/api/v1/tasks/{task.id}"
        resp.media = serialize.task(task_report(task.id))

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        status = req.get_param("status")
        if status is not None and status not in TASK_STATUSES:
            raise falcon.HTTPInvalidParam(f"it must be one of {', '.join(TASK_STATUSES)}", "status")
        page = req.get_param_as_int("page", min_value=1, max_value=MAX_PAGE, default=1)
        page_size = req.get_param_as_int("page_size", min_value=1, max_value=MAX_PAGE_SIZE, default=DEFAULT_PAGE_SIZE)
        reports, total = task_page(status, page, page_size)
        resp.media = {
            "items": [serialize.task(r) for r in reports],
            "page": page,
            "page_size": page_size,
            "total": total,
        }


class TaskItem:
    def __init__(self, store: ImageStore) -> None:
        self.store = store

    def on_get(self, req: falcon.Request, resp: falcon.Response, task_id: UUID) -> None:
        resp.media = serialize.task(task_report(task_id))

    def on_delete(self, req: falcon.Request, resp: falcon.Response, task_id: UUID) -> None:
        cancel_task(task_id)
        # With no image in a worker's hands the task goes now; otherwise that worker
        # purges it as soon as it lets go of its image.
        purge(task_id, self.store)
        resp.status = falcon.HTTP_204


class TaskRun:
    """``POST …/start`` or ``POST …/retry``: a state change that queues images."""

    def __init__(self, pipeline: Pipeline, transition: Callable[[UUID], list[UUID]]) -> None:
        self.pipeline = pipeline
        self.transition = transition

    def on_post(self, req: falcon.Request, resp: falcon.Response, task_id: UUID) -> None:
        # Refuse before changing anything when the broker is down.
        self.pipeline.check()
        with db.atomic():
            image_ids = self.transition(task_id)
            # Read inside the transaction: the task exactly as this request left it.
            body = serialize.task(task_report(task_id))
        # Published only after the commit, so no worker can see an image still pending.
        try:
            self.pipeline.detect_images(image_ids)
        except QueueUnavailable:
            # The run is committed; housekeeping re-publishes images left queued.
            logger.exception("task %s: publishing failed after commit", task_id)
        resp.status = falcon.HTTP_202
        resp.media = body


def start(pipeline: Pipeline) -> TaskRun:
    return TaskRun(pipeline, start_task)


def retry(pipeline: Pipeline) -> TaskRun:
    return TaskRun(pipeline, retry_task)
