"""Give each request's pooled database connection back when the response is ready."""

from __future__ import annotations

import falcon

from storage.db import db


class CloseConnection:
    def process_response(
        self, req: falcon.Request, resp: falcon.Response, resource: object, req_succeeded: bool
    ) -> None:
        if not db.is_closed():
            db.close()
