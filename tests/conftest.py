"""Shared fixtures: a real PostgreSQL database and RabbitMQ vhost of the tests' own, the
FaceCloud emulator over real HTTP, the app built from real parts, and real worker processes."""

from __future__ import annotations

import os
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import falcon.testing
import psycopg2
import psycopg2.errors
import pytest
from dramatiq.common import dq_name
from peewee import OperationalError

from actors.broker import make_broker
from actors.messages import Pipeline
from api.app import Parts, create_app
from config.settings import without_settings
from service.processes import Child
from service.run import housekeeping_command, worker_command
from storage.db import db, init_db
from storage.files import FileStore
from storage.migrate import migrate
from tests.harness import free_port, wait_until
from tests.object_store import S3Server, TcpProxy
from tools.emulator import Emulator

# Named per run, so two runs on one machine (a developer's and CI's) never share state.
TEST_DB = f"facetasks_test_{os.getpid()}"
TEST_VHOST = TEST_DB
DATABASE_URL = f"postgresql://postgres@127.0.0.1:5432/{TEST_DB}"
RABBITMQ_URL = f"amqp://guest:guest@127.0.0.1:5672/{TEST_VHOST}"
EMULATOR_EMAIL = "tests@example.com"
EMULATOR_PASSWORD = "s3cret-pass"
MAX_IMAGE_BYTES = 256 * 1024
ROOT = Path(__file__).resolve().parent.parent


def _rabbitmqctl(*args: str, check: bool = True) -> str:
    return subprocess.run(["rabbitmqctl", "-q", *args], check=check, capture_output=True, text=True, timeout=60).stdout


def messages_in_queues(*queues: str, vhost: str = TEST_VHOST) -> int:
    """Messages in these queues and their delay queues (retries waiting for their time): ready, or
    delivered and not yet acknowledged."""
    listed = _rabbitmqctl("list_queues", "-p", vhost, "name", "messages", "--no-table-headers").split("\n")
    wanted = {*queues, *(dq_name(queue) for queue in queues)}
    return sum(int(count) for name, count in (line.split() for line in listed if line.strip()) if name in wanted)


@pytest.fixture(scope="session")
def database() -> Iterator[None]:
    conn = psycopg2.connect("postgresql://postgres@127.0.0.1:5432/postgres")
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(f"DROP DATABASE IF EXISTS {TEST_DB} WITH (FORCE)")
        cur.execute(f"CREATE DATABASE {TEST_DB}")
    conn.close()
    migrate(init_db(DATABASE_URL, max_connections=16))
    yield
    db.close_all()
    conn = psycopg2.connect("postgresql://postgres@127.0.0.1:5432/postgres")
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(f"DROP DATABASE IF EXISTS {TEST_DB} WITH (FORCE)")
    conn.close()


@pytest.fixture(scope="session")
def vhost() -> Iterator[str]:
    _rabbitmqctl("delete_vhost", TEST_VHOST, check=False)
    _rabbitmqctl("add_vhost", TEST_VHOST)
    _rabbitmqctl("set_permissions", "-p", TEST_VHOST, "guest", ".*", ".*", ".*")
    yield RABBITMQ_URL
    _rabbitmqctl("delete_vhost", TEST_VHOST, check=False)


@pytest.fixture
def clean_db(database: None) -> Iterator[None]:
    """An empty database for the test, whatever earlier modules' services left behind."""
    _empty_tables()
    yield
    _empty_tables()


def _empty_tables(attempts: int = 10) -> None:
    # Workers still busy with a test's tasks lock the tables in another order than TRUNCATE …
    # CASCADE does; PostgreSQL ends such a deadlock by failing one side: try again once that
    # worker's transaction had a moment to end.
    for attempt in range(1, attempts + 1):
        try:
            with db.connection_context():
                db.execute_sql("TRUNCATE tasks, api_keys CASCADE")
                # Users a test made would close the API for the next test (tests/test_users_and_keys.py).
                db.execute_sql("DELETE FROM users WHERE NOT bootstrap")
            return
        except OperationalError as error:
            # Peewee raises its own error while handling the driver's.
            if not isinstance(error.__context__, psycopg2.errors.DeadlockDetected) or attempt == attempts:
                raise
            time.sleep(0.1 * attempt)


@pytest.fixture(scope="session")
def storage_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("images")


@pytest.fixture(scope="session")
def emulator() -> Iterator[Emulator]:
    with Emulator(email=EMULATOR_EMAIL, password=EMULATOR_PASSWORD) as emu:
        yield emu


@pytest.fixture
def fresh_emulator(emulator: Emulator) -> Emulator:
    emulator.reset()
    return emulator


@pytest.fixture
def pipeline(vhost: str) -> Iterator[Pipeline]:
    broker = make_broker(vhost)
    yield Pipeline(broker)
    broker.close()


def build_client(
    storage_dir: Path, pipeline: Pipeline, credentials: tuple[str, str] | None = None, **parts: int
) -> falcon.testing.TestClient:
    app = create_app(Parts(FileStore(storage_dir), pipeline, MAX_IMAGE_BYTES, credentials, **parts))
    return falcon.testing.TestClient(app)


@pytest.fixture
def client(clean_db: None, storage_dir: Path, pipeline: Pipeline) -> falcon.testing.TestClient:
    return build_client(storage_dir, pipeline)


def service_env(storage_dir: Path, emulator: Emulator, **extra: str) -> dict[str, str]:
    """The environment the service's own processes get in tests."""
    env = without_settings(os.environ)
    env.update(
        DATABASE_URL=DATABASE_URL,
        RABBITMQ_URL=RABBITMQ_URL,
        STORAGE_DIR=str(storage_dir),
        DETECTOR="facecloud",
        FACECLOUD_URL=emulator.url,
        FACECLOUD_EMAIL=EMULATOR_EMAIL,
        FACECLOUD_PASSWORD=EMULATOR_PASSWORD,
        FACECLOUD_TIMEOUT_S="2",
        DETECT_MAX_RETRIES="3",
        RETRY_MIN_BACKOFF_MS="50",
        RETRY_MAX_BACKOFF_MS="400",
        LOG_LEVEL="info",
        PYTHONUNBUFFERED="1",
        # The service's packages come from this tree (nothing installs them), whatever folder a process runs in.
        PYTHONPATH=str(ROOT),
        # Dramatiq's metrics fork: a port and a multiprocess folder of this instance's own.
        WORKER_METRICS_HOST="127.0.0.1",
        WORKER_METRICS_PORT=str(free_port()),
        dramatiq_prom_db=tempfile.mkdtemp(prefix="facetasks-metrics-"),
    )
    env.update(extra)
    return env


class Workers:
    """The workers (``python -m service.workers``) and housekeeping in real subprocesses, as ``make run``
    starts them."""

    def __init__(self, env: dict[str, str], log: Path, processes: int = 2, threads: int = 4, cwd: Path = ROOT) -> None:
        env = {**env, "WORKER_PROCESSES": str(processes), "WORKER_THREADS": str(threads)}
        self.env, self.log, self.processes = env, log, processes
        self.dramatiq = Child("workers", worker_command(), env, log, cwd=cwd)
        self.housekeeping = Child("housekeeping", housekeeping_command(), env, log, cwd=cwd)

    def start(self) -> Workers:
        self.log.write_text("")
        self.dramatiq.start()
        self.housekeeping.start()
        try:
            wait_until(lambda: self.log.read_text().count("Worker process is ready for action") >= self.processes,
                       60, "workers start", self.dramatiq)
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> int:
        """Stop both; the workers' exit code."""
        self.housekeeping.stop(grace_s=30)
        return self.dramatiq.stop(grace_s=60)

    def __enter__(self) -> Workers:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()


# Per module, each its own: an S3 server (moto's server mode) and a TCP proxy in front of it that a test cuts.
@pytest.fixture(scope="module")
def s3(tmp_path_factory) -> Iterator[S3Server]:
    server = S3Server(tmp_path_factory.mktemp("s3") / "s3.log").start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def proxy(s3: S3Server) -> Iterator[TcpProxy]:
    link = TcpProxy(s3.port).start()
    yield link
    link.stop()


# Per module, so no test module's workers (or their housekeeping) act on another's tasks.
@pytest.fixture(scope="module")
def workers(database: None, vhost: str, storage_dir: Path, emulator: Emulator, tmp_path_factory) -> Iterator[Workers]:
    env = service_env(storage_dir, emulator, HOUSEKEEPING_INTERVAL_S="1", UNSENT_AFTER_S="2", STALE_CLAIM_S="5")
    with Workers(env, tmp_path_factory.mktemp("workers") / "workers.log") as running:
        yield running
