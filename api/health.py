"""``GET /health``: the process answers, and whether PostgreSQL, RabbitMQ and the image store do (no auth).

Also says when housekeeping last swept (on any machine), so a housekeeper that stopped is
seen; it does not make the API unhealthy, since the API itself still serves.
"""

from __future__ import annotations

import threading
import time

import falcon

from actors.messages import Publisher, QueueUnavailable
from representations.serialize import timestamp
from storage.db import check_database
from storage.errors import DatabaseUnavailable, StoreUnavailable
from storage.housekeeping import last_sweep
from storage.store import ImageStore

# Seconds one answer of the image store is reused: a probe every second costs one call per few seconds.
STORE_CHECK_TTL_S = 5.0


class StoreCheck:
    """The image store's state, asked at most once per ``STORE_CHECK_TTL_S`` seconds."""

    def __init__(self, store: ImageStore) -> None:
        self.store = store
        self._lock = threading.Lock()
        self._state = "ok"
        self._until = 0.0

    def state(self) -> str:
        with self._lock:
            if time.monotonic() >= self._until:
                self._state = self._ask()
                self._until = time.monotonic() + STORE_CHECK_TTL_S
            return self._state

    def _ask(self) -> str:
        try:
            self.store.check()
        except StoreUnavailable:
            return "unavailable"
        return "ok"


class Health:
    def __init__(self, publisher: Publisher, store: ImageStore) -> None:
        self.publisher = publisher
        self.store = StoreCheck(store)

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        reasons: dict[str, str] = {}
        checks = {"postgres": self._postgres(reasons), "rabbitmq": self._rabbitmq(reasons),
                  "store": self.store.state()}
        down = [name for name, state in checks.items() if state != "ok"]
        swept = {"housekeeping_last_sweep_at": self._last_sweep() if checks["postgres"] == "ok" else None}
        if down:
            why = "".join(f" {reason}." for reason in reasons.values())
            resp.status = falcon.HTTP_503
            resp.media = {
                "title": "Service Unavailable",
                "description": f"Unreachable: {', '.join(down)}.{why}",
                "status": "unavailable",
                **checks,
                **swept,
            }
        else:
            resp.media = {"status": "ok", **checks, **swept}

    @staticmethod
    def _postgres(reasons: dict[str, str]) -> str:
        try:
            check_database()
        except DatabaseUnavailable as error:
            reasons["postgres"] = f"PostgreSQL: {error}"
            return "unavailable"
        return "ok"

    @staticmethod
    def _last_sweep() -> str | None:
        try:
            return timestamp(last_sweep())
        except DatabaseUnavailable:  # gone since the check above
            return None

    def _rabbitmq(self, reasons: dict[str, str]) -> str:
        try:
            self.publisher.check()
        except QueueUnavailable as error:
            reasons["rabbitmq"] = str(error)
            return "unavailable"
        return "ok"
