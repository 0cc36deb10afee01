"""Faults done for real: killed workers, duplicate and lost messages, deletes mid-run (broker and
database outages: test_outages.py). Each ends with the task exactly as DESIGN.md says."""

from __future__ import annotations

import hashlib
import time
import uuid
from collections.abc import Iterator

import pytest
import requests
from dramatiq import Message
from prometheus_client.parser import text_string_to_metric_families

from actors.messages import AGGREGATE_QUEUE, DETECT_ACTOR, DETECT_QUEUE
from storage.db import db
from storage.dispatch import queue_up
from storage.models import Image, Task
from storage.tasks import start_task
from tests.conftest import QUICK_HOUSEKEEPING, messages_in_queues, service_env
from tests.faults import assert_exact, numbered_images, running_task
from tests.harness import answers, wait_until
from tests.service_process import ServiceProcess, kill, serving

WORKER_THREADS_IN_ALL = 2 * 2


@pytest.fixture(scope="module")
def service(database, vhost, storage_dir, emulator, tmp_path_factory) -> Iterator[ServiceProcess]:
    env = service_env(storage_dir, emulator, WORKER_PROCESSES="2", WORKER_THREADS="2", **QUICK_HOUSEKEEPING)
    with serving(env, tmp_path_factory.mktemp("service")) as running:
        yield running


def worker_metric(service: ServiceProcess, name: str, **labels: str) -> float:
    url = f"http://127.0.0.1:{service.env['WORKER_METRICS_PORT']}/metrics"
    # Dramatiq starts the exporter once its worker processes are up: after a restart, a moment later.
    wait_until(lambda: answers(url), 30, "the worker metrics exporter", poll_s=0.2)
    text = requests.get(url, timeout=10).text
    return sum(sample.value for family in text_string_to_metric_families(text) for sample in family.samples
               if sample.name == name and sample.labels == labels)


def rows_of(task_id: str) -> int:
    with db.connection_context():
        return Task.select().where(Task.id == task_id).count() + Image.select().where(Image.task == task_id).count()


def test_a_worker_killed_mid_task_loses_no_image_and_counts_none_twice(service, fresh_emulator):
    task_id, images, stats = running_task(service, fresh_emulator, count=16, latency_ms=300, calls=3)

    kill(service.worker_pids()[0])

    task = service.wait_until_final(task_id, timeout=90)
    assert_exact(task, images, stats)
    assert "workers exited" in service.log.read_text()  # the supervisor brought them back
    service.wait_for_workers()
    # At least once: the images the killed worker was calling the detector for were called again, and
    # counted (a claim killed in the milliseconds before its call would count once more than the emulator saw).
    repeats = sum(calls - 1 for calls in fresh_emulator.stats()["detect_calls_by_sha256"].values())
    assert repeats >= 1
    assert worker_metric(service, "facetasks_detector_calls_repeated_total", detector="facecloud") >= repeats


def test_messages_delivered_twice_call_the_detector_once_per_image(service, fresh_emulator, publisher):
    fresh_emulator.configure(latency_ms=200)
    images, stats = numbered_images(4)
    task_id = service.create_task(images)
    assert service.start_task(task_id).status_code == 202
    image_ids = [i["id"] for i in service.task(task_id).json()["images"]]

    publisher.detect_images(image_ids * 3)  # other messages for the same images
    again = Message(queue_name=DETECT_QUEUE, actor_name=DETECT_ACTOR, args=(image_ids[0],), kwargs={}, options={})
    publisher.broker.enqueue(again)
    publisher.broker.enqueue(again)  # the very same message, published twice
    publisher.aggregate(uuid.UUID(task_id))

    task = service.wait_until_final(task_id)
    wait_until(lambda: messages_in_queues(DETECT_QUEUE, AGGREGATE_QUEUE) == 0, 30, "every duplicate consumed",
               poll_s=0.3)
    assert_exact(service.task(task_id).json(), images, stats)
    assert task["status"] == "completed"
    calls = fresh_emulator.stats()["detect_calls_by_sha256"]
    assert [calls[hashlib.sha256(data).hexdigest()] for data in images.values()] == [1, 1, 1, 1]


def test_delete_mid_run_stops_detector_calls_and_purges_rows_and_files(service, fresh_emulator, storage_dir):
    task_id, images, _ = running_task(service, fresh_emulator, count=30, latency_ms=300, calls=4)

    response = service.http.delete(f"{service.url}/api/v1/tasks/{task_id}")
    calls_at_delete = fresh_emulator.stats()["detect_calls"]

    assert response.status_code == 204
    assert service.task(task_id).status_code == 404
    assert task_id not in [t["id"] for t in service.http.get(f"{service.url}/api/v1/tasks").json()["items"]]
    wait_until(lambda: rows_of(task_id) == 0 and not (storage_dir / task_id).exists(), 30, "the task purged")
    wait_until(lambda: messages_in_queues(DETECT_QUEUE) == 0, 30, "the task's messages drained", poll_s=0.3)
    # Only calls already on their way when the delete answered (one per worker thread at most)
    # reached the emulator after it; tests/test_cancellation_races.py times each call exactly.
    assert fresh_emulator.stats()["detect_calls"] - calls_at_delete <= WORKER_THREADS_IN_ALL
    assert fresh_emulator.stats()["detect_calls"] < len(images)


def test_delete_racing_the_last_image_leaves_nothing_behind(service, fresh_emulator, storage_dir):
    fresh_emulator.configure(latency_ms=100)
    task_ids = []
    for delay in (0.05, 0.1, 0.15, 0.2, 0.3):
        images, _ = numbered_images(1)
        task_id = service.create_task(images)
        service.start_task(task_id)
        time.sleep(delay)  # lands the delete at a different point of the image's run each time
        assert service.http.delete(f"{service.url}/api/v1/tasks/{task_id}").status_code == 204
        task_ids.append(task_id)

    wait_until(lambda: not any(rows_of(t) or (storage_dir / t).exists() for t in task_ids), 30, "the tasks purged")
    assert "Traceback" not in service.log.read_text()


def test_a_lost_publish_is_sent_again_by_housekeeping(service, fresh_emulator):
    images, stats = numbered_images(3)
    task_id = service.create_task(images)
    with db.connection_context(), db.atomic():
        start_task(uuid.UUID(task_id))  # committed, but never published: the API died here

    task = service.wait_until_final(task_id, timeout=30)

    assert_exact(task, images, stats)


def test_an_image_past_its_attempts_limit_fails_with_the_reason(service, fresh_emulator):
    images, _ = numbered_images(2)
    task_id = service.create_task(images)
    poison = service.task(task_id).json()["images"][0]["id"]
    # Queued but never sent, as if every earlier attempt had killed its worker; housekeeping
    # sends the messages.
    with db.connection_context():
        start_task(uuid.UUID(task_id))
        assert len(queue_up(uuid.UUID(task_id), window=10)) == 2
        Image.update(attempts=100).where(Image.id == poison).execute()

    task = service.wait_until_final(task_id, timeout=30)

    assert task["status"] == "failed"
    failed = next(i for i in task["images"] if i["id"] == poison)
    assert failed["status"] == "failed" and "gave up after" in failed["error"]
    assert task["progress"] == {"total": 2, "done": 1, "failed": 1}
