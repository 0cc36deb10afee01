"""Faults on a big task with a small window: 2,000 images, eight in flight at a time.

The task's rows and files are written straight into storage (the API's uploads are not what
is tested here); everything after the start goes through the real service over HTTP.
"""

from __future__ import annotations

import hashlib
import operator
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bench.seed import forming_task
from storage import audit
from storage.db import db
from tests.conftest import QUICK_HOUSEKEEPING, service_env
from tests.harness import wait_until
from tests.service_process import ServiceProcess, children, kill, serving
from tools.emulator_faces import face, make_jpeg

COUNT = 2_000
WINDOW = 8


@pytest.fixture(scope="module")
def service(database, vhost, storage_dir, emulator, tmp_path_factory) -> Iterator[ServiceProcess]:
    env = service_env(storage_dir, emulator, WORKER_PROCESSES="2", WORKER_THREADS="2", TASK_WINDOW=str(WINDOW),
                      **QUICK_HOUSEKEEPING)
    with serving(env, tmp_path_factory.mktemp("scale")) as running:
        yield running


def big_task(storage_dir: Path) -> tuple[str, list[bytes]]:
    """A forming task of COUNT distinct images with one face each (the emulator answers it)."""
    images = [
        make_jpeg(16, 16, faces=[face(i % 7, i % 5, 9, 9, ("male", "female", "unknown")[i % 3], 18.5 + i % 50)],
                  color=(i % 256, i // 256, 7))
        for i in range(COUNT)
    ]
    return forming_task(storage_dir, images, COUNT), images


def in_flight(task_id: str) -> int:
    with db.connection_context():
        return db.execute_sql(
            "SELECT count(*) FROM images WHERE task_id = %s AND status IN ('queued', 'processing')", (task_id,)
        ).fetchone()[0]


def wait_for_calls(fresh_emulator, calls: int, timeout: float = 60) -> None:
    wait_until(lambda: fresh_emulator.stats()["detect_calls"], timeout, f"{calls} detector calls", poll_s=0.02,
               until=lambda made: made >= calls)


def test_a_worker_killed_mid_window_of_a_big_task_loses_nothing(service, fresh_emulator, storage_dir):
    task_id, images = big_task(storage_dir)
    assert service.start_task(task_id).status_code == 202
    wait_for_calls(fresh_emulator, 300)

    kill(service.worker_pids()[0])
    most_in_flight = in_flight(task_id)
    task = service.wait_until_final(task_id, timeout=240)

    assert task["status"] == "completed", task["progress"]
    assert task["progress"] == {"total": COUNT, "done": COUNT, "failed": 0}
    assert most_in_flight <= WINDOW
    assert all(len(i["faces"]) == 1 for i in task["images"])
    calls = fresh_emulator.stats()["detect_calls_by_sha256"]
    # Every image was detected; only those in the killed worker's hands (a window at most) twice.
    assert all(calls.get(hashlib.sha256(data).hexdigest(), 0) >= 1 for data in images)
    assert sum(calls.values()) - COUNT <= WINDOW
    summary = service.http.get(f"{service.url}/api/v1/tasks/{task_id}", params={"images": "false"}).json()
    assert summary["statistics"]["total_faces"] == COUNT
    with db.connection_context():
        assert audit.kept(uuid.UUID(task_id)) == audit.aggregate(uuid.UUID(task_id))
    service.wait_for_workers()


def test_deleting_a_big_running_task_stops_detector_calls_at_once(service, fresh_emulator, storage_dir):
    fresh_emulator.configure(latency_ms=50)
    task_id, _ = big_task(storage_dir)
    assert service.start_task(task_id).status_code == 202
    wait_for_calls(fresh_emulator, 50)

    assert service.http.delete(f"{service.url}/api/v1/tasks/{task_id}").status_code == 204
    calls_at_delete = fresh_emulator.stats()["detect_calls"]
    wait_until((storage_dir / task_id).exists, 30, "the task's folder deleted", poll_s=0.1, until=operator.not_)

    assert not (storage_dir / task_id).exists()
    # Calls already begun when the delete came in end; no other starts: at most a window.
    assert fresh_emulator.stats()["detect_calls"] - calls_at_delete <= WINDOW
    assert fresh_emulator.stats()["detect_calls"] < COUNT // 4


def test_a_killed_housekeeper_is_restarted_and_health_shows_it_sweeping_again(service):
    def housekeeper() -> int | None:
        return next((pid for pid in children(service.proc.pid)
                     if b"service.housekeeping" in Path(f"/proc/{pid}/cmdline").read_bytes()), None)

    first = housekeeper()
    assert first is not None
    kill(first)
    killed_at = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

    def swept_again(seen: tuple[dict, int | None]) -> bool:
        health, pid = seen
        swept = health["housekeeping_last_sweep_at"]
        return swept is not None and swept > killed_at and pid not in (None, first)

    wait_until(lambda: (service.http.get(f"{service.url}/health").json(), housekeeper()), 30,
               "a new housekeeper sweeping", poll_s=0.2, until=swept_again)
    assert "housekeeping exited" in service.log.read_text()
