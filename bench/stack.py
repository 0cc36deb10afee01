"""The benchmark's own stack: database, vhost, FaceCloud emulator, API and workers, as subprocesses.

Every child is started by ``service.processes`` (the helper ``make run`` and the tests use): in a
session of its own, so Ctrl-C reaches the harness only, which then stops them in order, and with a
parent-death signal, so a harness killed with SIGKILL takes its children along. The API and the
workers run the very commands ``make run`` runs (``service.run``).
"""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import psycopg2
import requests

from bench import procs
from config.settings import without_settings
from service.processes import Child
from service.run import api_command, worker_command
from storage.db import db, init_db
from storage.migrate import migrate
from tests.harness import Children, answers, free_port, wait_until

BENCH_NAME = "facetasks_bench"
MAINTENANCE_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
EMULATOR_EMAIL = "bench@example.com"
EMULATOR_PASSWORD = "bench-secret"
ROOT = Path(__file__).resolve().parent.parent
# Seconds a stopped child gets before it is killed (the harness's own grace, not the service's).
STOP_GRACE_S = 30.0
READY_ATTEMPT_S = 90.0


def _rabbitmqctl(*args: str, check: bool = True) -> None:
    subprocess.run(["rabbitmqctl", "-q", *args], check=check, capture_output=True, timeout=120)


class Resources:
    """The benchmark's PostgreSQL database and RabbitMQ vhost (both named ``name``): created fresh,
    dropped at the end."""

    def __init__(self, name: str = BENCH_NAME) -> None:
        if not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", name):
            raise ValueError(f"not a plain lower-case identifier: {name!r}")
        self.name = name
        self.database_url = f"postgresql://postgres@127.0.0.1:5432/{name}"
        self.rabbitmq_url = f"amqp://guest:guest@127.0.0.1:5672/{name}"

    def create(self) -> None:
        self._drop_database()
        with self._maintenance() as cur:
            cur.execute(f"CREATE DATABASE {self.name}")
        migrate(init_db(self.database_url, max_connections=4))
        _rabbitmqctl("delete_vhost", self.name, check=False)
        _rabbitmqctl("add_vhost", self.name)
        _rabbitmqctl("set_permissions", "-p", self.name, "guest", ".*", ".*", ".*")

    def drop(self) -> None:
        with contextlib.suppress(Exception):
            db.close_all()
        self._drop_database()
        _rabbitmqctl("delete_vhost", self.name, check=False)

    def truncate(self) -> None:
        """Empty the tables between scenarios, so each one starts from the same state."""
        with db.connection_context():
            db.execute_sql("TRUNCATE tasks CASCADE")

    def _drop_database(self) -> None:
        with self._maintenance() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS {self.name} WITH (FORCE)")

    @contextlib.contextmanager
    def _maintenance(self):  # type: ignore[no-untyped-def]
        conn = psycopg2.connect(MAINTENANCE_URL, connect_timeout=5)
        conn.autocommit = True
        try:
            with conn.cursor() as cur:
                yield cur
        finally:
            conn.close()


class EmulatorProcess:
    """``python -m tools.emulator`` on a free port, in a process of its own (so the moment a call
    arrives does not wait for the caller's own work); latency switchable over HTTP."""

    email, password = EMULATOR_EMAIL, EMULATOR_PASSWORD
    def __init__(self, children: Children) -> None:
        self.children = children
        self.child: Child | None = None
        self.url = ""

    def start(self) -> EmulatorProcess:
        command = [
            sys.executable, "-m", "tools.emulator", "--port", "0",
            "--email", EMULATOR_EMAIL, "--password", EMULATOR_PASSWORD,
        ]
        self.child = self.children.start("emulator", command, {**os.environ, "PYTHONUNBUFFERED": "1"})

        def listening() -> bool:
            found = re.search(r"listening on (http://\S+)", self.child.tail()) if self.child else None
            if found:
                self.url = found.group(1)
            return bool(found)

        wait_until(listening, READY_ATTEMPT_S, "emulator start", self.child)
        return self

    def configure(self, latency_ms: int) -> None:
        response = requests.post(f"{self.url}/_emulator/config", json={"latency_ms": latency_ms}, timeout=10)
        response.raise_for_status()

    def stats(self) -> dict[str, object]:
        return requests.get(f"{self.url}/_emulator/stats", timeout=10).json()

    def arrivals(self) -> list[tuple[str, float]]:
        """(SHA-256 of the image, ``time.monotonic()`` when it arrived) of every detect call."""
        return [tuple(a) for a in requests.get(f"{self.url}/_emulator/arrivals", timeout=10).json()["arrivals"]]


@dataclass
class Workers:
    child: Child
    processes: int
    threads: int

    def worker_pids(self) -> list[int]:
        """The Dramatiq worker processes (the main process's first children; forks come after)."""
        return procs.children(self.child.pid)[: self.processes]


class ServiceStack:
    """The API and the workers of the service, configured for the benchmark's database and vhost."""

    def __init__(
        self, children: Children, resources: Resources, storage_dir: Path, emulator_url: str, port: int
    ) -> None:
        self.children = children
        self.resources = resources
        self.storage_dir = storage_dir
        self.emulator_url = emulator_url
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.api: Child | None = None
        self.workers: Workers | None = None
        self._serial = 0

    def env(self, **extra: str) -> dict[str, str]:
        """The service's environment; Dramatiq's metrics fork listens on 127.0.0.1 and a free port."""
        self._serial += 1
        metrics_dir = self.storage_dir.parent / "metrics" / str(self._serial)
        metrics_dir.mkdir(parents=True, exist_ok=True)
        # The caller's own service settings must not leak into the benchmark's stack.
        env = without_settings(os.environ)
        env.update(
            DATABASE_URL=self.resources.database_url,
            RABBITMQ_URL=self.resources.rabbitmq_url,
            STORAGE_DIR=str(self.storage_dir),
            HOST="127.0.0.1",
            PORT=str(self.port),
            DETECTOR="facecloud",
            FACECLOUD_URL=self.emulator_url,
            FACECLOUD_EMAIL=EMULATOR_EMAIL,
            FACECLOUD_PASSWORD=EMULATOR_PASSWORD,
            LOG_LEVEL="info",
            PYTHONUNBUFFERED="1",
            # The service's packages come from this tree (nothing installs them).
            PYTHONPATH=str(ROOT),
            WORKER_METRICS_HOST="127.0.0.1",
            WORKER_METRICS_PORT=str(free_port()),
            dramatiq_prom_db=str(metrics_dir),
        )
        env.update(extra)
        return env

    def start_api(self, **extra: str) -> None:
        env = self.env(**extra)
        self.api = self.children.start("api", api_command(), env)
        wait_until(lambda: answers(f"{self.url}/health"), READY_ATTEMPT_S, "API start", self.api)

    def restart_api(self, **extra: str) -> None:
        """The API again, with ``extra`` settings (another image store)."""
        if self.api is not None:
            self.children.stop(self.api, STOP_GRACE_S)
        self.start_api(**extra)

    def start_workers(self, processes: int, threads: int, **extra: str) -> Workers:
        self.stop_workers()
        env = self.env(WORKER_PROCESSES=str(processes), WORKER_THREADS=str(threads), **extra)
        child = self.children.start("workers", worker_command(), env)
        wait_until(
            lambda: child.tail(10**7).count("Worker process is ready for action") >= processes,
            READY_ATTEMPT_S, "workers start", child,
        )
        self.workers = Workers(child, processes, threads)
        return self.workers

    def stop_workers(self) -> None:
        if self.workers is not None:
            self.children.stop(self.workers.child, STOP_GRACE_S)
            self.workers = None
