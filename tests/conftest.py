"""Shared fixtures: a real PostgreSQL database and RabbitMQ vhost of the tests' own, the
FaceCloud emulator over real HTTP, the app built from real parts, and real worker processes."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import falcon.testing
import pytest
from dramatiq.common import dq_name

from actors.broker import make_broker
from actors.messages import Publisher
from api.app import Parts, create_app
from config.settings import LOCAL_THREADS
from service.processes import Child
from service.run import housekeeping_command, worker_command
from storage.files import FileStore
from tests.harness import wait_until
from tests.object_store import S3Server, TcpProxy
from tests.testbed import EMULATOR_EMAIL, EMULATOR_PASSWORD, ROOT, EmulatorProcess, Resources, rabbitmqctl
from tests.testbed import service_env as testbed_env
from tools.emulator import Emulator

# Named per run, so two runs on one machine (a developer's and CI's) never share state.
RESOURCES = Resources(f"facetasks_test_{os.getpid()}")
TEST_VHOST = RESOURCES.name
DATABASE_URL = RESOURCES.database_url
RABBITMQ_URL = RESOURCES.rabbitmq_url
MAX_IMAGE_BYTES = 256 * 1024
# The detectors the workers can run: the FaceCloud emulator (every test's) and the local model (the default).
DETECTORS = ("facecloud", "local")
# A detector call given up after 2 s and retried within milliseconds, 4 tries in all.
QUICK_RETRIES = {"FACECLOUD_TIMEOUT_S": "2", "DETECT_MAX_RETRIES": "3", "RETRY_MIN_BACKOFF_MS": "50",
                 "RETRY_MAX_BACKOFF_MS": "400"}
# Housekeeping that acts within seconds: for the tests that lose messages or kill workers on purpose.
QUICK_HOUSEKEEPING = {"HOUSEKEEPING_INTERVAL_S": "1", "UNSENT_AFTER_S": "2", "STALE_CLAIM_S": "5"}


def messages_in_queues(*queues: str, vhost: str = TEST_VHOST) -> int:
    """Messages in these queues and their delay queues (retries waiting for their time): ready, or
    delivered and not yet acknowledged."""
    listed = rabbitmqctl("list_queues", "-p", vhost, "name", "messages", "--no-table-headers").split("\n")
    wanted = {*queues, *(dq_name(queue) for queue in queues)}
    return sum(int(count) for name, count in (line.split() for line in listed if line.strip()) if name in wanted)


@pytest.fixture(scope="session")
def database() -> Iterator[None]:
    RESOURCES.create_database(max_connections=16)
    yield
    RESOURCES.drop_database()


@pytest.fixture(scope="session")
def vhost() -> Iterator[str]:
    RESOURCES.create_vhost()
    yield RABBITMQ_URL
    RESOURCES.drop_vhost()


@pytest.fixture
def clean_db(database: None) -> Iterator[None]:
    """An empty database for the test, whatever earlier modules' services left behind."""
    RESOURCES.truncate()
    yield
    RESOURCES.truncate()


@pytest.fixture(scope="session")
def storage_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("images")


@pytest.fixture(scope="session")
def emulator() -> Iterator[Emulator]:
    with Emulator(email=EMULATOR_EMAIL, password=EMULATOR_PASSWORD) as emu:
        yield emu


@pytest.fixture
def fresh_emulator(emulator: Emulator) -> Iterator[Emulator]:
    """The session's emulator with no latency, failures or counts from earlier tests, nor left for later ones."""
    emulator.reset()
    yield emulator
    emulator.reset()


@pytest.fixture
def publisher(vhost: str) -> Iterator[Publisher]:
    broker = make_broker(vhost)
    yield Publisher(broker)
    broker.close()


def build_client(
    storage_dir: Path, publisher: Publisher, credentials: tuple[str, str] | None = None, **parts: int
) -> falcon.testing.TestClient:
    app = create_app(Parts(FileStore(storage_dir), publisher, MAX_IMAGE_BYTES, credentials, **parts))
    return falcon.testing.TestClient(app)


@pytest.fixture
def client(clean_db: None, storage_dir: Path, publisher: Publisher) -> falcon.testing.TestClient:
    return build_client(storage_dir, publisher)


def service_env(storage_dir: Path, emulator: Emulator | EmulatorProcess, **extra: str) -> dict[str, str]:
    """The environment the service's own processes get in tests: quick to give up on the emulator and quick
    to retry, unless ``extra`` says otherwise."""
    return testbed_env(RESOURCES, storage_dir, emulator.url, **{**QUICK_RETRIES, **extra})


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


# Per module, so no test module's workers (or their housekeeping) act on another's tasks. Their detector is the
# FaceCloud emulator; a test that must hold for the default detector too asks for both with
# ``@pytest.mark.parametrize("workers", DETECTORS, indirect=True)`` (the module's tests run with one set of
# workers at a time, so no image reaches the other detector).
@pytest.fixture(scope="module", params=["facecloud"])
def workers(
    request: pytest.FixtureRequest, database: None, vhost: str, storage_dir: Path, emulator: Emulator, tmp_path_factory
) -> Iterator[Workers]:
    env = service_env(storage_dir, emulator, DETECTOR=request.param, **QUICK_HOUSEKEEPING)
    # The local model computes under a lock: one process with LOCAL_THREADS loads it once and keeps it busy.
    processes, threads = (2, 4) if request.param == "facecloud" else (1, LOCAL_THREADS)
    with Workers(env, tmp_path_factory.mktemp("workers") / "workers.log", processes, threads) as running:
        yield running
