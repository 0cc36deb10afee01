"""Bounded fan-out and fair interleaving, on real workers, RabbitMQ, PostgreSQL and the emulator.

The workers here run with ``TASK_WINDOW=3``: a running task never has more than three images
queued or processing, so a task started later is behind at most three messages per task.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from actors.messages import DETECT_QUEUE
from storage import audit
from storage.db import db
from tests.conftest import QUICK_HOUSEKEEPING, Workers, service_env
from tests.helpers import FINAL, create_task, typed, upload, wait_until_final
from tools.emulator_faces import face, make_jpeg

WINDOW = 3

_IN_FLIGHT_SQL = "SELECT count(*) FROM images WHERE task_id = %s AND status IN ('queued', 'processing')"


@pytest.fixture(scope="module")
def windowed(database, vhost, storage_dir: Path, emulator, tmp_path_factory) -> Iterator[Workers]:
    env = service_env(storage_dir, emulator, TASK_WINDOW=str(WINDOW), **QUICK_HOUSEKEEPING)
    with Workers(env, tmp_path_factory.mktemp("windowed") / "workers.log", processes=2, threads=2) as running:
        yield running


def started_task(client, count: int, tag: int) -> str:
    task = create_task(client)
    for i in range(count):
        data = make_jpeg(faces=[face(i, i, 10, 10, "male" if i % 2 else "female", 20.5 + i)], color=(tag, i, 0))
        assert upload(client, task["id"], data, f"{i:03}.jpg").status_code == 201
    assert client.simulate_post(f"/api/v1/tasks/{task['id']}/start").status_code == 202
    return task["id"]


def status_of(client, task_id: str) -> str:
    return client.simulate_get(f"/api/v1/tasks/{task_id}", params={"images": "false"}).json["status"]


def test_a_running_task_never_has_more_than_its_window_in_flight(client, windowed, fresh_emulator, publisher):
    fresh_emulator.configure(latency_ms=30)
    task_id = started_task(client, 24, tag=1)
    most_in_flight, most_in_queue = 0, 0

    deadline = time.monotonic() + 60
    while status_of(client, task_id) not in FINAL and time.monotonic() < deadline:
        with db.connection_context():
            in_flight = db.execute_sql(_IN_FLIGHT_SQL, (task_id,)).fetchone()[0]
        most_in_flight = max(most_in_flight, in_flight)
        most_in_queue = max(most_in_queue, publisher.broker.get_queue_message_counts(DETECT_QUEUE)[0])

    task = wait_until_final(client, task_id)
    assert task["status"] == "completed"
    assert task["progress"] == {"total": 24, "done": 24, "failed": 0}
    assert 1 <= most_in_flight <= WINDOW
    assert most_in_queue <= WINDOW
    assert fresh_emulator.stats()["detect_calls"] == 24
    with db.connection_context():
        assert audit.kept(uuid.UUID(task_id)) == audit.aggregate(uuid.UUID(task_id))


def test_a_small_task_started_later_finishes_while_a_big_one_still_runs(client, windowed, fresh_emulator):
    fresh_emulator.configure(latency_ms=100)
    big = started_task(client, 60, tag=2)  # at least 60 x 100 ms / 3 = 2 s of detector time
    small = started_task(client, 2, tag=3)

    finished_small = wait_until_final(client, small)

    assert finished_small["status"] == "completed"
    assert status_of(client, big) == "processing"
    assert wait_until_final(client, big, timeout=60)["progress"] == {"total": 60, "done": 60, "failed": 0}


def test_a_retry_queues_only_the_failed_images_a_window_at_a_time(client, windowed, fresh_emulator):
    task = create_task(client)
    good = [make_jpeg(faces=[face(1, 1, 9, 9, "female", 30.0)], color=(4, i, 0)) for i in range(4)]
    bad = [make_jpeg(error={"status": 400, "message": "bad image"}, color=(5, i, 0)) for i in range(5)]
    for i, data in enumerate(good + bad):
        upload(client, task["id"], data, f"{i}.jpg")
    client.simulate_post(f"/api/v1/tasks/{task['id']}/start")
    assert wait_until_final(client, task["id"])["progress"] == {"total": 9, "done": 4, "failed": 5}
    fresh_emulator.reset()

    retried = client.simulate_post(f"/api/v1/tasks/{task['id']}/retry")
    final = wait_until_final(client, task["id"])

    assert retried.status_code == 202 and retried.json["status"] == "processing"
    assert final["status"] == "failed"
    assert final["progress"] == {"total": 9, "done": 4, "failed": 5}
    assert fresh_emulator.stats()["detect_calls"] == 5  # only the failed ones were sent again
    assert final["statistics"]["total_faces"] == 4 and typed(final["statistics"]["mean_age_female"]) == typed(30.0)
    with db.connection_context():
        assert audit.kept(uuid.UUID(task["id"])) == audit.aggregate(uuid.UUID(task["id"]))
