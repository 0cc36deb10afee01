"""A member reaches only their own tasks: any other task id is 404 on every route that names one.

One check for every task route (reads, images, CSV, files, start, retry, delete, and any added later),
made before the responder runs. A task's owner never changes, so the check cannot go stale between it
and the responder. 404, not 403: whether the id exists is not told. Admins reach every task.
"""

from __future__ import annotations

import falcon

from storage.errors import TaskNotFound
from storage.principals import task_owner


class Ownership:
    def process_resource(self, req: falcon.Request, resp: falcon.Response, resource: object, params: dict) -> None:
        principal = getattr(req.context, "principal", None)
        task_id = params.get("task_id")
        if principal is None or principal.is_admin or task_id is None:
            return
        if task_owner(task_id) != principal.user_id:
            raise TaskNotFound(task_id)
