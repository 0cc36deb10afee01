"""``GET /health``: the process answers, and whether PostgreSQL and RabbitMQ do (no auth)."""

from __future__ import annotations

import falcon

from actors.messages import Pipeline, QueueUnavailable
from storage.db import db


class Health:
    def __init__(self, pipeline: Pipeline) -> None:
        self.pipeline = pipeline

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        checks = {"postgres": self._postgres(), "rabbitmq": self._rabbitmq()}
        down = [name for name, state in checks.items() if state != "ok"]
        if down:
            resp.status = falcon.HTTP_503
            resp.media = {
                "title": "Service Unavailable",
                "description": f"Unreachable: {', '.join(down)}.",
                "status": "unavailable",
                **checks,
            }
        else:
            resp.media = {"status": "ok", **checks}

    @staticmethod
    def _postgres() -> str:
        try:
            db.execute_sql("SELECT 1")
        except Exception:
            return "unavailable"
        return "ok"

    def _rabbitmq(self) -> str:
        try:
            self.pipeline.check()
        except QueueUnavailable:
            return "unavailable"
        return "ok"
