"""Broker and database outages, done for real on a PostgreSQL cluster and a RabbitMQ node of this
module's own (tests/private_services.py): the machine's shared ones are never stopped, so other
runs may go on beside this one. Each ends with the task exactly as DESIGN.md says."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator

import pytest

from storage.db import db, init_db
from storage.models import Image
from tests.conftest import service_env
from tests.faults import assert_exact, numbered_images, running_task
from tests.harness import wait_until
from tests.private_services import PrivatePostgres, PrivateRabbitMQ
from tests.service_process import ServiceProcess


@pytest.fixture(scope="module")
def private_postgres() -> Iterator[PrivatePostgres]:
    cluster = PrivatePostgres()
    try:
        yield cluster.create()
    finally:
        cluster.destroy()


@pytest.fixture(scope="module")
def private_rabbitmq() -> Iterator[PrivateRabbitMQ]:
    node = PrivateRabbitMQ()
    try:
        yield node.create()
    finally:
        node.destroy()


@pytest.fixture(scope="module")
def service(
    database, private_postgres, private_rabbitmq, storage_dir, emulator, tmp_path_factory
) -> Iterator[ServiceProcess]:
    """The whole service (``make run``) on the private instances; it creates and migrates its database."""
    database_url = private_postgres.url("facetasks")
    env = service_env(
        storage_dir, emulator, DATABASE_URL=database_url, RABBITMQ_URL=private_rabbitmq.url(),
        WORKER_PROCESSES="2", WORKER_THREADS="2",
        # The unsent sweep at its default: what the broker's return sends must not wait for it. A small
        # window, so that images ending during an outage queue successors.
        HOUSEKEEPING_INTERVAL_S="1", UNSENT_AFTER_S="60", STALE_CLAIM_S="5", TASK_WINDOW="4",
    )
    running = ServiceProcess(env, tmp_path_factory.mktemp("outages") / "service.log").start()
    # This module's own reads of rows (assert_exact's audit) go to the private cluster.
    shared = db.obj
    init_db(database_url, max_connections=4)
    try:
        yield running
    finally:
        db.close_all()
        db.initialize(shared)
        assert running.stop() == 0


# The process id in a log line (config.logs.TEXT_FORMAT: "... LEVEL [pid] logger ...").
PROCESS = re.compile(r"^\S+ \S+ WARNING \[(\d+)\]", re.MULTILINE)


def health(service: ServiceProcess) -> dict:
    return service.http.get(f"{service.url}/health").json()


def unsent_images(task_id: str) -> int:
    with db.connection_context():
        return Image.select().where((Image.task == task_id) & (Image.status == "queued")
                                    & Image.sent_at.is_null()).count()


def test_a_broker_outage_is_one_log_line_per_worker_process_and_health_says_why(service, private_rabbitmq):
    log = service.log.read_text()

    with private_rabbitmq.down():
        wait_until(lambda: service.log.read_text()[len(log):].count("RabbitMQ unreachable") >= 2, 30,
                   "both worker processes to notice")
        time.sleep(8)  # eight rounds of reconnection attempts by every consumer
        during = health(service)
    # Its end is this test's too: the next test's log starts after both processes said so.
    wait_until(lambda: service.log.read_text()[len(log):].count("RabbitMQ reachable again") >= 2, 30,
               "both worker processes to see the broker back")

    logged = service.log.read_text()[len(log):]
    lost = [line for line in logged.splitlines() if "RabbitMQ unreachable: " in line]
    back = [line for line in logged.splitlines() if "RabbitMQ reachable again after " in line]
    assert len(lost) == 2 and all(" WARNING " in line for line in lost), lost
    assert sorted(PROCESS.findall("\n".join(lost))) == sorted(set(PROCESS.findall("\n".join(back)))), back
    assert len(back) == 2, back
    assert " CRITICAL " not in logged and "Consumer encountered" not in logged
    why = during["description"]
    assert re.fullmatch(r"Unreachable: rabbitmq\. RabbitMQ is unreachable: .*Connection refused\.", why), why


def test_a_broker_restart_mid_task_loses_nothing_resumes_in_seconds_and_is_logged_once(
    service, private_rabbitmq, fresh_emulator
):
    logged_before = len(service.log.read_text())
    task_id, images, stats = running_task(service, fresh_emulator, count=24, latency_ms=200, calls=3)

    with private_rabbitmq.down():
        assert health(service)["rabbitmq"] == "unavailable"
        # Images that ended meanwhile queued their successors, whose publish failed.
        wait_until(lambda: unsent_images(task_id) > 0, 20, "a publish failed during the outage", poll_s=0.2)
    back = time.monotonic()

    task = service.wait_until_final(task_id, timeout=120)
    resumed_s = time.monotonic() - back
    assert_exact(task, images, stats)
    # Not after housekeeping's unsent sweep (UNSENT_AFTER_S = 60 s): within seconds of the broker's return.
    assert resumed_s < 20
    log = service.log.read_text()[logged_before:]
    assert "CRITICAL" not in log and "Consumer encountered" not in log
    # One warning per worker process when the outage begins, one when it ends.
    began = PROCESS.findall("\n".join(line for line in log.splitlines() if "RabbitMQ unreachable" in line))
    ended = PROCESS.findall("\n".join(line for line in log.splitlines() if "RabbitMQ reachable again after" in line))
    assert began and sorted(began) == sorted(set(began)) == sorted(ended)


def test_with_the_broker_down_start_is_a_503_that_changes_nothing(service, private_rabbitmq, fresh_emulator):
    images, _ = numbered_images(1)
    task_id = service.create_task(images)

    with private_rabbitmq.down():
        response = service.start_task(task_id)
        during = service.http.get(f"{service.url}/health")

    assert response.status_code == 503
    assert response.json()["title"] and response.json()["description"]
    assert during.status_code == 503 and during.json()["rabbitmq"] == "unavailable"
    # The reason, in the broker's or the operating system's words, follows the list of what is down.
    assert re.fullmatch(r"Unreachable: rabbitmq\. RabbitMQ is unreachable: \S.*\.", during.json()["description"])
    assert service.task(task_id).json()["status"] == "forming"
    wait_until(lambda: service.start_task(task_id).status_code == 202, 30,
               "a start accepted once the broker is back", poll_s=0.5)
    assert service.wait_until_final(task_id)["status"] == "completed"


def test_a_postgres_restart_is_a_503_meanwhile_and_the_task_still_completes(
    service, private_postgres, fresh_emulator
):
    task_id, images, stats = running_task(service, fresh_emulator, count=8, latency_ms=200, calls=2)

    with private_postgres.down():
        during = service.http.get(f"{service.url}/api/v1/tasks")
        health_during = service.http.get(f"{service.url}/health")

    assert during.status_code == 503
    assert during.json()["title"] == "Database unavailable" and during.json()["description"]
    assert health_during.status_code == 503 and health_during.json()["postgres"] == "unavailable"
    assert health_during.json()["description"].startswith("Unreachable: postgres. PostgreSQL: ")
    task = service.wait_until_final(task_id, timeout=60)
    assert_exact(task, images, stats)
