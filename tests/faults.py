"""What the fault tests share: tasks of numbered images, and the exact end state they must reach."""

from __future__ import annotations

import uuid

from storage import audit
from storage.db import db
from tests.harness import wait_until
from tests.helpers import typed
from tests.service_process import ServiceProcess
from tools.emulator_faces import face, make_jpeg


def numbered_images(count: int) -> tuple[dict[str, bytes], dict]:
    """Images with one known face each, and the statistics they must add up to."""
    images, ages = {}, {"male": [], "female": []}
    for i in range(count):
        gender = "female" if i % 2 else "male"
        age = 20.5 + i
        images[f"{i:02}.jpg"] = make_jpeg(faces=[face(i, i, 10, 10, gender, age)], color=(i, 0, 0))
        ages[gender].append(age)
    # Halves sum exactly in binary floating point: these means are what PostgreSQL computes too.
    stats = {
        "total_faces": count,
        "total_males": len(ages["male"]),
        "total_females": len(ages["female"]),
        "mean_age_male": sum(ages["male"]) / len(ages["male"]) if ages["male"] else None,
        "mean_age_female": sum(ages["female"]) / len(ages["female"]) if ages["female"] else None,
    }
    return images, stats


def assert_exact(task: dict, images: dict[str, bytes], stats: dict) -> None:
    assert task["status"] == "completed", task
    assert task["progress"] == {"total": len(images), "done": len(images), "failed": 0}
    for image in task["images"]:
        i = int(image["name"][:2])
        assert image["status"] == "done" and image["error"] is None
        assert [f["bbox"] for f in image["faces"]] == [{"x": i, "y": i, "width": 10, "height": 10}]
    assert typed(task["statistics"]) == typed(stats)
    # The figures kept on the task row through the fault equal a full aggregate of its rows.
    with db.connection_context():
        assert audit.kept(uuid.UUID(task["id"])) == audit.aggregate(uuid.UUID(task["id"]))


def running_task(service: ServiceProcess, emu, count: int, latency_ms: int, calls: int) -> tuple[str, dict, dict]:
    """A task of ``count`` numbered images, started, once the emulator has seen ``calls`` detect calls."""
    emu.configure(latency_ms=latency_ms)
    images, stats = numbered_images(count)
    task_id = service.create_task(images)
    assert service.start_task(task_id).status_code == 202
    wait_until(lambda: emu.stats()["detect_calls"] >= calls, 60, f"{calls} detector calls")
    return task_id, images, stats
