"""Conditional GETs: a task's representations carry its version as ETag; a match is a 304."""

from __future__ import annotations

import falcon

from storage.models import Task


def not_modified(req: falcon.Request, resp: falcon.Response, task: Task) -> bool:
    """Set the ETag of ``task``'s representations; True (and a 304) when the client has it.

    The task's version moves with every change of the task or of one of its images, so
    one tag serves the task, its summary and its image pages. Clients must revalidate.
    """
    tag = f"v{task.version}"
    resp.etag = tag
    resp.cache_control = ["no-cache"]
    matches = req.if_none_match or ()
    if "*" in matches or tag in matches:
        resp.status = falcon.HTTP_304
        return True
    return False
