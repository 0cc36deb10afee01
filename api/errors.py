"""Every error is JSON ``{"title", "description"}`` with the right status; never a traceback.

Storage refusals, an unreachable queue or database are mapped here, once, instead of in
each responder.
"""

from __future__ import annotations

import errno
import logging
from http import HTTPStatus

import falcon

from actors.messages import QueueUnavailable
from storage.errors import DatabaseUnavailable, ImageNotFound, StoreUnavailable, TaskBusy, TaskNotFound, WrongState

logger = logging.getLogger(__name__)

# Seconds a client is told to wait before trying again when the image store is down.
STORE_RETRY_AFTER_S = 10
# And when a worker held a task longer than a DELETE may wait for it.
BUSY_RETRY_AFTER_S = 5

# Falcon leaves ``description`` out of some errors (unknown route, method not allowed…).
_DESCRIPTIONS = {
    400: "The request is malformed or a parameter is invalid.",
    401: "This API needs HTTP Basic credentials.",
    404: "There is nothing at this address: check the path and the ids in it.",
    405: "This address does not accept that method.",
    409: "The task is not in a state that allows this action.",
    413: "The request body is too large.",
    415: "The request body is not of an accepted type.",
    422: "The request body could not be processed.",
    500: "The server failed to handle the request; it has been logged.",
    503: "A service this API depends on is unavailable; try again shortly.",
    507: "The image store has no space left.",
}


def sentence(error: Exception) -> str:
    """An error's message as a sentence: "the file is…" becomes "The file is…"."""
    text = str(error)
    return text[:1].upper() + text[1:]


def serialize_error(req: falcon.Request, resp: falcon.Response, error: falcon.HTTPError) -> None:
    status = error.status_code
    title = error.title or HTTPStatus(status).phrase
    resp.media = {"title": title, "description": error.description or _DESCRIPTIONS.get(status, title)}
    resp.content_type = falcon.MEDIA_JSON


def _task_not_found(req, resp, error, params):
    raise falcon.HTTPNotFound(title="Task not found", description=f"There is no task {params.get('task_id')}.")


def _image_not_found(req, resp, error, params):
    raise falcon.HTTPNotFound(
        title="Image not found",
        description=f"Task {params.get('task_id')} has no image {params.get('image_id')}.",
    )


def _wrong_state(req, resp, error, params):
    raise falcon.HTTPConflict(title="Wrong task state", description=str(error))


def _queue_unavailable(req, resp, error, params):
    logger.warning("queue unavailable: %s", error)
    raise falcon.HTTPServiceUnavailable(
        title="Queue unavailable", description="RabbitMQ is unreachable; nothing was changed. Try again shortly."
    )


def _database_unavailable(req, resp, error, params):
    logger.warning("database unavailable: %s", error)
    raise falcon.HTTPServiceUnavailable(
        title="Database unavailable", description="PostgreSQL is unreachable; try again shortly."
    )


def _store_unavailable(req, resp, error, params):
    logger.warning("image store unavailable: %s", error)
    raise falcon.HTTPServiceUnavailable(
        title="Image store unavailable",
        description="The image store is unreachable; nothing was changed. Try again shortly.",
        retry_after=STORE_RETRY_AFTER_S,
    )


def _task_busy(req, resp, error, params):
    # The lock wait was bounded and nothing changed; by the next try the stuck call has begun or gone.
    logger.warning("task %s: %s", params.get("task_id"), error)
    raise falcon.HTTPServiceUnavailable(
        title="Task busy",
        description=f"{sentence(error)}; nothing was changed. Try again shortly.",
        retry_after=BUSY_RETRY_AFTER_S,
    )


def _disk_full(req, resp, error, params):
    if error.errno != errno.ENOSPC:
        _unexpected(req, resp, error, params)
    logger.error("disk full: %s", error)
    raise falcon.HTTPInsufficientStorage(
        title="Storage full", description="The image store has no space left; nothing was kept. Try again later."
    )


def _unexpected(req, resp, error, params):
    if isinstance(error, falcon.HTTPError):
        raise error
    logger.exception("unhandled error on %s %s", req.method, req.path)
    raise falcon.HTTPInternalServerError()


def install(app: falcon.App) -> None:
    app.set_error_serializer(serialize_error)
    # Falcon picks the handler of the most specific matching class, whatever the order.
    app.add_error_handler(Exception, _unexpected)
    app.add_error_handler(TaskNotFound, _task_not_found)
    app.add_error_handler(ImageNotFound, _image_not_found)
    app.add_error_handler(WrongState, _wrong_state)
    app.add_error_handler(QueueUnavailable, _queue_unavailable)
    app.add_error_handler(StoreUnavailable, _store_unavailable)
    app.add_error_handler(TaskBusy, _task_busy)
    app.add_error_handler(OSError, _disk_full)
    app.add_error_handler(DatabaseUnavailable, _database_unavailable)
