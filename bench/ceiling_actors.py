"""Two ceilings for the pipeline, run by Dramatiq exactly like the service's workers (the same
Dramatiq middleware, ``actors.worker.dramatiq_middleware``):

    python -m dramatiq --processes P --threads T bench.ceiling_actors:setup

* ``bench_noop`` does nothing: the most messages per second Dramatiq and RabbitMQ can move here.
* ``bench_claim_complete`` does the least any correct pipeline must do per image: claim it with one
  conditional UPDATE, then in one transaction mark it done and decrement its task's counter.

Each worker process waits at boot until the harness creates ``$BENCH_MARKS_DIR/go`` (so start-up is
neither timed nor metered), then records, in ``$BENCH_MARKS_DIR/<pid>.json`` a few times a second, how
many messages it finished and when the first and the last one ended (wall clock and process CPU).
"""

from __future__ import annotations

import json
import os
import queue
import threading
import time
from pathlib import Path
from typing import Any

import dramatiq
import psycopg2
from dramatiq.middleware import CurrentMessage, Middleware

from actors.broker import make_broker
from actors.worker import dramatiq_middleware
from config.settings import Settings

NOOP = "bench_noop"
CLAIM_COMPLETE = "bench_claim_complete"
GATE_TIMEOUT_S = 120.0
FLUSH_INTERVAL_S = 0.1

CLAIM_SQL = """
UPDATE images SET status = 'processing', attempts = attempts + 1, claimed_by = %s, updated_at = clock_timestamp()
WHERE id = %s AND status = 'queued'
RETURNING task_id
"""
END_IMAGE_SQL = """
UPDATE images SET status = 'done', claimed_by = NULL, updated_at = clock_timestamp()
WHERE id = %s AND status = 'processing' AND claimed_by = %s
"""
DECREMENT_SQL = """
UPDATE tasks SET remaining = remaining - 1, updated_at = now()
WHERE id = %s AND status = 'processing' AND NOT cancelled
RETURNING remaining
"""


class Marks(Middleware):
    """The boot gate and the per-process record of finished messages."""

    def __init__(self, marks_dir: Path) -> None:
        self.dir = marks_dir
        self.lock = threading.Lock()
        self.record: dict[str, Any] = {"count": 0, "errors": 0, "first": None, "last": None,
                                       "cpu_first": None, "cpu_last": None}

    def before_worker_boot(self, broker: dramatiq.Broker, worker: dramatiq.Worker) -> None:
        (self.dir / f"gate-{os.getpid()}").touch()
        deadline = time.monotonic() + GATE_TIMEOUT_S
        while not (self.dir / "go").exists() and time.monotonic() < deadline:
            time.sleep(0.01)
        threading.Thread(target=self._flush_forever, daemon=True).start()

    def after_process_message(self, broker: dramatiq.Broker, message: Any, *, result: Any = None,
                              exception: BaseException | None = None) -> None:
        now, cpu = time.time(), time.process_time()
        with self.lock:
            record = self.record
            record["count"] += 1
            record["errors"] += exception is not None
            if record["first"] is None:
                record["first"], record["cpu_first"] = now, cpu
            record["last"], record["cpu_last"] = now, cpu

    def _flush_forever(self) -> None:
        path = self.dir / f"{os.getpid()}.json"
        while True:
            with self.lock:
                text = json.dumps(self.record)
            temporary = path.with_suffix(".tmp")
            temporary.write_text(text)
            temporary.replace(path)
            time.sleep(FLUSH_INTERVAL_S)


class Connections:
    """One psycopg2 connection per worker thread, opened before the gate opens (autocommit)."""

    def __init__(self, url: str, count: int) -> None:
        self.free: queue.Queue[Any] = queue.Queue()
        for _ in range(count):
            conn = psycopg2.connect(url)
            conn.autocommit = True
            self.free.put(conn)
        self.local = threading.local()

    def get(self) -> Any:
        conn = getattr(self.local, "conn", None)
        if conn is None:
            conn = self.local.conn = self.free.get(timeout=30)
        return conn


def noop(image_id: str) -> None:
    """Nothing at all."""


def claim_and_complete(connections: Connections, image_id: str) -> None:
    message_id = CurrentMessage.get_current_message().message_id
    with connections.get().cursor() as cur:
        cur.execute(CLAIM_SQL, (message_id, image_id))
        claimed = cur.fetchone()
        if claimed is None:
            return
        cur.execute("BEGIN")
        try:
            cur.execute(END_IMAGE_SQL, (image_id, message_id))
            cur.execute(DECREMENT_SQL, (claimed[0],))
            cur.execute("COMMIT")
        except BaseException:
            cur.execute("ROLLBACK")
            raise


def setup() -> None:
    settings = Settings.from_env()
    middleware = [*dramatiq_middleware(), Marks(Path(os.environ["BENCH_MARKS_DIR"]))]
    broker = make_broker(settings.rabbitmq_url, middleware)
    dramatiq.set_broker(broker)
    connections = Connections(settings.database_url, settings.worker_threads)
    dramatiq.actor(noop, broker=broker, actor_name=NOOP, queue_name=NOOP, max_retries=0)

    def complete(image_id: str) -> None:
        claim_and_complete(connections, image_id)

    dramatiq.actor(complete, broker=broker, actor_name=CLAIM_COMPLETE, queue_name=CLAIM_COMPLETE, max_retries=3)
