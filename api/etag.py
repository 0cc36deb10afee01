"""Conditional GETs: a task's representations carry its version as ETag; a match is a 304."""

from __future__ import annotations

import falcon

from storage.models import Task
from storage.reports import representation_tag


def not_modified(req: falcon.Request, resp: falcon.Response, task: Task, *, images: bool) -> bool:
    """Set the ETag of a representation of ``task`` (with its ``images`` or not); True (and a
    304) when the client has it. Clients must revalidate (``no-cache``)."""
    tag = representation_tag(task, images=images)
    resp.etag = tag
    resp.cache_control = ["no-cache"]
    matches = req.if_none_match or ()
    if "*" in matches or tag in matches:
        resp.status = falcon.HTTP_304
        return True
    return False
