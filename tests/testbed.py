"""What the tests and the benchmark run the service on: a PostgreSQL database and RabbitMQ vhost of their own
(created, emptied, dropped), the environment the service's processes get there, and the FaceCloud emulator in
a process of its own.

Shared by tests and bench (``bench`` imports it as ``tests.testbed``), beside ``tests/harness.py`` for the same
reason: development code only, neither installed nor in the image.
"""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg2
import psycopg2.errors
import requests
from peewee import OperationalError
from psycopg2 import sql

from config.settings import without_settings
from service.processes import Child
from storage.db import db, init_db
from storage.migrate import migrate
from tests.harness import Children, free_port, wait_until

ROOT = Path(__file__).resolve().parent.parent
MAINTENANCE_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
# What the emulator accepts and the service's processes are given.
EMULATOR_EMAIL = "tests@example.com"
EMULATOR_PASSWORD = "s3cret-pass"
EMULATOR_START_S = 90.0
# Tries of a TRUNCATE that PostgreSQL ended as one side of a deadlock.
TRUNCATE_ATTEMPTS = 10


def rabbitmqctl(*args: str, check: bool = True) -> str:
    return subprocess.run(["rabbitmqctl", "-q", *args], check=check, capture_output=True, text=True,
                          timeout=120).stdout


def drop_database(name: str) -> None:
    """Drop the local server's database ``name`` if it exists, whoever is still connected to it."""
    with _maintenance() as cur:
        cur.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


@contextlib.contextmanager
def _maintenance() -> Iterator[psycopg2.extensions.cursor]:
    conn = psycopg2.connect(MAINTENANCE_URL, connect_timeout=5)
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            yield cur
    finally:
        conn.close()


class Resources:
    """A PostgreSQL database and a RabbitMQ vhost (both named ``name``) on the local servers: created fresh
    (whatever an earlier run left under that name is dropped first), emptied between uses, dropped at the end."""

    def __init__(self, name: str) -> None:
        if not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", name):
            raise ValueError(f"not a plain lower-case identifier: {name!r}")
        self.name = name
        self.database_url = f"postgresql://postgres@127.0.0.1:5432/{name}"
        self.rabbitmq_url = f"amqp://guest:guest@127.0.0.1:5672/{name}"

    def create(self, max_connections: int = 4) -> None:
        self.create_database(max_connections)
        self.create_vhost()

    def drop(self) -> None:
        self.drop_database()
        self.drop_vhost()

    def create_database(self, max_connections: int) -> None:
        """The database, migrated, and this process's connection pool (``storage.db.db``) bound to it."""
        drop_database(self.name)
        with _maintenance() as cur:
            cur.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(self.name)))
        migrate(init_db(self.database_url, max_connections=max_connections))

    def drop_database(self) -> None:
        with contextlib.suppress(Exception):  # a pool never bound has nothing to close
            db.close_all()
        drop_database(self.name)

    def create_vhost(self) -> None:
        self.drop_vhost()
        rabbitmqctl("add_vhost", self.name)
        rabbitmqctl("set_permissions", "-p", self.name, "guest", ".*", ".*", ".*")

    def drop_vhost(self) -> None:
        rabbitmqctl("delete_vhost", self.name, check=False)

    def truncate(self) -> None:
        """Empty the tables, so that what comes next starts from the same state whatever came before."""
        # Workers still busy with earlier tasks lock the tables in another order than TRUNCATE … CASCADE
        # does; PostgreSQL ends such a deadlock by failing one side: try again once that worker's transaction
        # had a moment to end.
        for attempt in range(1, TRUNCATE_ATTEMPTS + 1):
            try:
                with db.connection_context():
                    db.execute_sql("TRUNCATE tasks, api_keys CASCADE")
                    # Users made earlier would close the API to what comes next (tests/test_users_and_keys.py).
                    db.execute_sql("DELETE FROM users WHERE NOT bootstrap")
                return
            except OperationalError as error:
                # Peewee raises its own error while handling the driver's.
                if not isinstance(error.__context__, psycopg2.errors.DeadlockDetected) or attempt == TRUNCATE_ATTEMPTS:
                    raise
                time.sleep(0.1 * attempt)



def service_env(resources: Resources, storage_dir: Path, emulator_url: str, **extra: str) -> dict[str, str]:
    """The environment of the service's processes on ``resources``, with the emulator at ``emulator_url`` as
    their detector and ``extra`` on top.

    Nothing of the caller's own configuration gets in (``without_settings``: a developer's ``LOCAL_*``,
    ``TASK_WINDOW`` or ``WEBHOOK_*`` would change what the processes do), and the service's packages come
    from this tree, which nothing installs, whatever folder a process runs in. Dramatiq's metrics fork gets a
    free port and a folder of its own beside ``storage_dir``.
    """
    env = without_settings(os.environ)
    env.update(
        DATABASE_URL=resources.database_url,
        RABBITMQ_URL=resources.rabbitmq_url,
        STORAGE_DIR=str(storage_dir),
        DETECTOR="facecloud",
        FACECLOUD_URL=emulator_url,
        FACECLOUD_EMAIL=EMULATOR_EMAIL,
        FACECLOUD_PASSWORD=EMULATOR_PASSWORD,
        LOG_LEVEL="info",
        PYTHONUNBUFFERED="1",
        PYTHONPATH=str(ROOT),
        WORKER_METRICS_HOST="127.0.0.1",
        WORKER_METRICS_PORT=str(free_port()),
        dramatiq_prom_db=tempfile.mkdtemp(prefix="metrics-", dir=storage_dir.parent),
    )
    env.update(extra)
    return env


def client_env(**extra: str) -> dict[str, str]:
    """The environment of a command-line run (``.venv/bin/facetasks``), ``extra`` on top: nothing of the caller's
    service settings (the command line reads API_USERNAME and API_PASSWORD too) nor of its own ``FACETASKS_*``
    variables (a developer's FACETASKS_URL or FACETASKS_KEY would aim it elsewhere or sign it in)."""
    env = {name: value for name, value in without_settings(os.environ).items() if not name.startswith("FACETASKS_")}
    env.update(extra)
    return env


class EmulatorProcess:
    """``python -m tools.emulator`` on a free port, in a process of its own (so the moment a call arrives does
    not wait for the caller's own work); latency switchable over HTTP."""

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

        wait_until(listening, EMULATOR_START_S, "emulator start", self.child)
        return self

    def configure(self, latency_ms: int) -> None:
        response = requests.post(f"{self.url}/_emulator/config", json={"latency_ms": latency_ms}, timeout=10)
        response.raise_for_status()

    def stats(self) -> dict[str, object]:
        return requests.get(f"{self.url}/_emulator/stats", timeout=10).json()

    def arrivals(self) -> list[tuple[str, float]]:
        """(SHA-256 of the image, ``time.monotonic()`` when it arrived) of every detect call."""
        return [tuple(a) for a in requests.get(f"{self.url}/_emulator/arrivals", timeout=10).json()["arrivals"]]
