"""Task resources: create, list, read (the summary, or the whole task streamed), start, retry, delete."""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import partial
from uuid import UUID

import falcon

from actors.messages import Publisher, QueueUnavailable
from api.authentication import principal_of
from api.callbacks import checked_callback
from api.etag import not_modified
from api.names import checked_name
from api.params import flag, json_object, paging, status_filter
from config.allowlist import Allowlist
from representations import serialize
from storage.models import Task
from storage.reports import TaskFilter, find_task, stream_task, task_page
from storage.statuses import TaskStatus
from storage.store import ImageStore
from storage.tasks import cancel_task, create_task, purge, retry_task, start_task

logger = logging.getLogger(__name__)

DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100


class TaskCollection:
    def __init__(self, webhook_hosts: Allowlist) -> None:
        self.webhook_hosts = webhook_hosts

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        body = json_object(req, "A task's", '{"name": "…"}')
        name = checked_name(body.get("name"), '"name"')
        owner = principal_of(req).user_id
        task = create_task(name, owner, checked_callback(body.get("callback_url"), self.webhook_hosts))
        resp.status = falcon.HTTP_201
        resp.location = f"/api/v1/tasks/{task.id}"
        resp.media = serialize.new_task(task, owner=principal_of(req).signed_in)

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        principal = principal_of(req)
        which = TaskFilter(
            status=status_filter(req, tuple(TaskStatus)),
            owner_id=None if principal.is_admin else principal.user_id,
            owner_name=req.get_param("owner"),
        )
        page, page_size = paging(req, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)
        tasks, total = task_page(which, page, page_size)
        items = [serialize.summary(t, owner=principal.signed_in) for t in tasks]
        resp.media = serialize.page(items, page, page_size, total)


class TaskItem:
    """``GET`` the task (whole and streamed, or ``?images=false`` for the summary); ``DELETE`` it."""

    def __init__(self, store: ImageStore, lock_timeout_s: float) -> None:
        self.store = store
        self.lock_timeout_s = lock_timeout_s

    def on_get(self, req: falcon.Request, resp: falcon.Response, task_id: UUID) -> None:
        with_images = flag(req, "images", default=True)
        task = find_task(task_id)
        if not_modified(req, resp, task, images=with_images):
            return
        owner = principal_of(req).signed_in
        if not with_images:
            resp.media = serialize.summary(task, owner=owner)
            return
        resp.content_type = falcon.MEDIA_JSON
        resp.stream = stream_task(task, partial(serialize.task_stream, owner=owner))

    def on_delete(self, req: falcon.Request, resp: falcon.Response, task_id: UUID) -> None:
        cancel_task(task_id, self.lock_timeout_s)
        # With no image in a worker's hands the task goes now; otherwise that worker
        # purges it as soon as it lets go of its image.
        purge(task_id, self.store)
        resp.status = falcon.HTTP_204


class TaskRun:
    """``POST …/start`` or ``POST …/retry``: one state change; the pipeline queues the images."""

    def __init__(self, publisher: Publisher, transition: Callable[[UUID], Task]) -> None:
        self.publisher = publisher
        self.transition = transition

    def on_post(self, req: falcon.Request, resp: falcon.Response, task_id: UUID) -> None:
        # Refuse before changing anything when the broker is down.
        self.publisher.check()
        task = self.transition(task_id)
        try:
            self.publisher.dispatch(task.id)
        except QueueUnavailable:
            # The run is committed; housekeeping dispatches runs that have not begun.
            logger.exception("task %s: dispatch failed after commit", task_id)
        resp.status = falcon.HTTP_202
        resp.media = serialize.summary(task, owner=principal_of(req).signed_in)


def start(publisher: Publisher) -> TaskRun:
    return TaskRun(publisher, start_task)


def retry(publisher: Publisher) -> TaskRun:
    return TaskRun(publisher, retry_task)
