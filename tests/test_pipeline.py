"""The whole pipeline on real workers, RabbitMQ, PostgreSQL and the FaceCloud emulator."""

from __future__ import annotations

import hashlib

import pytest

from tests.conftest import DETECTORS
from tests.helpers import create_task, typed, upload, wait_until_final
from tools.emulator_faces import face, make_jpeg


def run(client, images: dict[str, bytes]) -> dict:
    task = create_task(client)
    for name, data in images.items():
        assert upload(client, task["id"], data, name).status_code == 201
    assert client.simulate_post(f"/api/v1/tasks/{task['id']}/start").status_code == 202
    return wait_until_final(client, task["id"])


def test_a_task_ends_completed_with_every_face_and_exact_statistics(client, workers, fresh_emulator):
    team = make_jpeg(faces=[face(64, 40, 64, 64, "female", 28.4), face(-5, -3, 30, 30, "male", 41),
                            face(10, 10, 20, 20, "female", 31.1, score=0.5)])
    empty = make_jpeg(faces=[])

    task = run(client, {"team.jpg": team, "empty-room.jpg": empty})

    assert task["status"] == "completed"
    assert task["finished_at"] is not None
    assert task["progress"] == {"total": 2, "done": 2, "failed": 0}
    # typed(): ages and means are JSON floats (41.0, never 41); bbox values integers.
    assert typed(task["images"][0]["faces"]) == typed([
        {"bbox": {"x": 64, "y": 40, "width": 64, "height": 64}, "gender": "female", "age": 28.4, "score": 0.99},
        {"bbox": {"x": -5, "y": -3, "width": 30, "height": 30}, "gender": "male", "age": 41.0, "score": 0.99},
        {"bbox": {"x": 10, "y": 10, "width": 20, "height": 20}, "gender": "female", "age": 31.1, "score": 0.5},
    ])
    assert task["images"][1] == {**task["images"][1], "status": "done", "error": None, "faces": []}
    assert typed(task["statistics"]) == typed({
        "total_faces": 3,
        "total_males": 1,
        "total_females": 2,
        "mean_age_male": 41.0,
        "mean_age_female": (28.4 + 31.1) / 2,
    })


def test_only_men_leave_the_female_mean_null_and_unknown_counts_in_the_total_only(client, workers):
    image = make_jpeg(faces=[face(0, 0, 9, 9, "male", 30), face(0, 0, 9, 9, "male", 35),
                             face(0, 0, 9, 9, None, 50), face(0, 0, 9, 9, "unknown", 60)])

    task = run(client, {"men.jpg": image})

    assert [f["gender"] for f in task["images"][0]["faces"]] == ["male", "male", "unknown", "unknown"]
    assert typed(task["statistics"]) == typed({
        "total_faces": 4,
        "total_males": 2,
        "total_females": 0,
        "mean_age_male": 32.5,
        "mean_age_female": None,
    })


@pytest.mark.parametrize("workers", DETECTORS, indirect=True)
def test_a_task_of_images_without_faces_completes_with_null_means(client, workers):
    task = run(client, {"a.jpg": make_jpeg(faces=[]), "b.jpg": make_jpeg(faces=[], color=(1, 2, 3))})

    assert task["status"] == "completed"
    assert typed(task["statistics"]) == typed({"total_faces": 0, "total_males": 0, "total_females": 0,
                                               "mean_age_male": None, "mean_age_female": None})


def test_an_image_facecloud_rejects_fails_at_once_and_the_task_fails(client, workers, fresh_emulator):
    bad = make_jpeg(error="image is too blurry")
    good = make_jpeg(faces=[face(1, 1, 5, 5, "female", 20)])

    task = run(client, {"bad.jpg": bad, "good.jpg": good})

    assert task["status"] == "failed"
    assert task["progress"] == {"total": 2, "done": 1, "failed": 1}
    failed = task["images"][0]
    assert failed["status"] == "failed" and failed["faces"] == []
    assert "too blurry" in failed["error"]
    assert task["statistics"]["total_faces"] == 1
    assert fresh_emulator.stats()["detect_calls"] == 2  # a 400 is not retried


def test_transient_errors_and_a_revoked_token_are_survived(client, workers, fresh_emulator):
    fresh_emulator.configure(fail_next=[{"status": 503, "count": 2}, {"status": 429, "count": 1}], revoke_tokens=True)
    images = {f"{i}.jpg": make_jpeg(faces=[face(i, i, 9, 9, "male", 20 + i)]) for i in range(3)}

    task = run(client, images)

    assert task["status"] == "completed"
    assert task["statistics"]["total_males"] == 3
    assert typed(task["statistics"]["mean_age_male"]) == typed(21.0)


def test_retry_sends_only_the_failed_images_again(client, workers, fresh_emulator):
    good = make_jpeg(faces=[face(1, 1, 5, 5, "female", 30)])
    flaky = make_jpeg(faces=[face(2, 2, 5, 5, "male", 40)], color=(9, 9, 9))
    task = create_task(client)
    upload(client, task["id"], good, "good.jpg")
    upload(client, task["id"], flaky, "flaky.jpg")
    # More 503s for the flaky image than the workers' retries allow (DETECT_MAX_RETRIES=3: 4 tries).
    fresh_emulator.configure(fail_next=[{"status": 503, "count": 4, "sha256": hashlib.sha256(flaky).hexdigest()}])
    client.simulate_post(f"/api/v1/tasks/{task['id']}/start")
    first = wait_until_final(client, task["id"])
    assert first["status"] == "failed", first
    assert first["progress"] == {"total": 2, "done": 1, "failed": 1}
    done_before = next(i for i in first["images"] if i["status"] == "done")
    calls_before = fresh_emulator.stats()["detect_calls"]

    retried = client.simulate_post(f"/api/v1/tasks/{task['id']}/retry")
    assert retried.status_code == 202
    assert retried.json["status"] == "processing"
    assert retried.json["finished_at"] is None
    second = wait_until_final(client, task["id"])

    assert second["status"] == "completed"
    assert fresh_emulator.stats()["detect_calls"] == calls_before + 1
    assert next(i for i in second["images"] if i["id"] == done_before["id"]) == done_before
    flaky_image = next(i for i in first["images"] if i["name"] == "flaky.jpg")
    assert "503" in flaky_image["error"] and "4 attempts" in flaky_image["error"]
    assert typed(second["statistics"]) == typed({"total_faces": 2, "total_males": 1, "total_females": 1,
                                                 "mean_age_male": 40.0, "mean_age_female": 30.0})


@pytest.mark.parametrize("workers", DETECTORS, indirect=True)
def test_deleting_a_finished_task_removes_rows_and_files(client, workers, storage_dir):
    task = run(client, {"a.jpg": make_jpeg(faces=[face(1, 1, 5, 5, "female", 30)])})
    assert task["status"] == "completed"
    assert (storage_dir / task["id"]).exists()

    assert client.simulate_delete(f"/api/v1/tasks/{task['id']}").status_code == 204

    assert client.simulate_get(f"/api/v1/tasks/{task['id']}").status_code == 404
    assert not (storage_dir / task["id"]).exists()
