"""``GET /health``: the process answers, and whether PostgreSQL and RabbitMQ do (no auth).

Also says when housekeeping last swept (on any machine), so a housekeeper that stopped is
seen; it does not make the API unhealthy, since the API itself still serves.
"""

from __future__ import annotations

import falcon

from actors.messages import Pipeline, QueueUnavailable
from api.serialize import timestamp
from storage.db import db
from storage.housekeeping import last_sweep


class Health:
    def __init__(self, pipeline: Pipeline) -> None:
        self.pipeline = pipeline

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        checks = {"postgres": self._postgres(), "rabbitmq": self._rabbitmq()}
        down = [name for name, state in checks.items() if state != "ok"]
        swept = {"housekeeping_last_sweep_at": self._last_sweep() if checks["postgres"] == "ok" else None}
        if down:
            resp.status = falcon.HTTP_503
            resp.media = {
                "title": "Service Unavailable",
                "description": f"Unreachable: {', '.join(down)}.",
                "status": "unavailable",
                **checks,
                **swept,
            }
        else:
            resp.media = {"status": "ok", **checks, **swept}

    @staticmethod
    def _postgres() -> str:
        try:
            db.execute_sql("SELECT 1")
        except Exception:
            return "unavailable"
        return "ok"

    @staticmethod
    def _last_sweep() -> str | None:
        try:
            return timestamp(last_sweep())
        except Exception:
            return None

    def _rabbitmq(self) -> str:
        try:
            self.pipeline.check()
        except QueueUnavailable:
            return "unavailable"
        return "ok"
