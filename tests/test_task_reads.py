"""Reads of a task at any size: the summary, pages of images, the whole task streamed, ETags.

The images end through storage's own pipeline statements (claim, end), as the workers end
them, so the kept figures are those the pipeline keeps; no worker runs here.
"""

from __future__ import annotations

import uuid

import pytest

from detectors.base import Face
from storage import audit, image_states
from storage.audit import recount
from storage.db import db
from storage.dispatch import queue_up
from storage.models import Image, Task
from storage.tasks import start_task
from tests.helpers import create_task, upload
from tools.emulator_faces import make_jpeg

JPEG = make_jpeg(faces=[])


def uploaded_task(client, count: int) -> tuple[str, list[dict]]:
    task = create_task(client, "reads")
    images = [upload(client, task["id"], JPEG, f"{i:02}.jpg").json for i in range(count)]
    return task["id"], images


def end_images(task_id: str, outcomes: list[list[Face] | None]) -> None:
    """Start the task and end its first images as the workers would: faces, or None to fail."""
    task = uuid.UUID(task_id)
    start_task(task)
    queued = queue_up(task, window=len(outcomes))
    for image_id, faces in zip(queued, outcomes, strict=True):
        claim = image_states.claim_image(image_id, f"msg-{image_id}")
        assert claim is not None
        image_states.end_image(claim, faces, None if faces is not None else "bad image", "test-model")


def test_the_summary_is_exactly_the_list_item_and_has_no_images(client):
    task_id, _ = uploaded_task(client, 2)

    summary = client.simulate_get(f"/api/v1/tasks/{task_id}", params={"images": "false"})

    listed = client.simulate_get("/api/v1/tasks").json["items"]
    assert summary.status_code == 200
    assert "images" not in summary.json
    assert [summary.json] == [item for item in listed if item["id"] == task_id]
    assert summary.json["progress"] == {"total": 2, "done": 0, "failed": 0}


def test_pages_of_images_are_slices_of_the_whole_task_in_upload_order(client):
    task_id, uploaded = uploaded_task(client, 7)
    whole = client.simulate_get(f"/api/v1/tasks/{task_id}").json["images"]
    assert [i["id"] for i in whole] == [i["id"] for i in uploaded]

    pages = [
        client.simulate_get(f"/api/v1/tasks/{task_id}/images", params={"page": p, "page_size": 3}).json
        for p in (1, 2, 3, 4)
    ]

    assert [p["items"] for p in pages] == [whole[0:3], whole[3:6], whole[6:7], []]
    assert [(p["page"], p["page_size"], p["total"]) for p in pages] == [(n, 3, 7) for n in (1, 2, 3, 4)]
    default = client.simulate_get(f"/api/v1/tasks/{task_id}/images").json
    assert (default["page"], default["page_size"], default["items"]) == (1, 100, whole)


def test_a_status_filter_pages_only_the_images_in_that_status(client):
    task_id, _ = uploaded_task(client, 6)
    end_images(task_id, [[Face(1, 2, 3, 4, "male", 30.0, 0.9)], None, [], None])
    whole = client.simulate_get(f"/api/v1/tasks/{task_id}").json["images"]

    failed = client.simulate_get(f"/api/v1/tasks/{task_id}/images", params={"status": "failed"}).json
    second_done = client.simulate_get(
        f"/api/v1/tasks/{task_id}/images", params={"status": "done", "page": 2, "page_size": 1}
    ).json
    # Each image that ended queued the next one of its task in its place.
    queued = client.simulate_get(f"/api/v1/tasks/{task_id}/images", params={"status": "queued"}).json

    assert failed["items"] == [whole[1], whole[3]] and failed["total"] == 2
    assert [i["error"] for i in failed["items"]] == ["bad image", "bad image"]
    assert second_done["items"] == [whole[2]] and second_done["total"] == 2
    assert queued["items"] == whole[4:] and queued["total"] == 2


def test_kept_progress_and_statistics_equal_a_full_aggregate_and_are_exact_floats(client):
    task_id, _ = uploaded_task(client, 5)
    end_images(task_id, [
        [Face(0, 0, 9, 9, "female", 28.4, 0.99), Face(5, 5, 9, 9, "male", 41.0, 0.9)],
        [Face(0, 0, 9, 9, "female", 31.1, 0.8), Face(1, 1, 9, 9, "unknown", 60.0, 0.7)],
        None,
        [],
    ])

    summary = client.simulate_get(f"/api/v1/tasks/{task_id}", params={"images": "false"}).json

    assert summary["progress"] == {"total": 5, "done": 3, "failed": 1}
    assert summary["statistics"] == {
        "total_faces": 4, "total_males": 1, "total_females": 2,
        "mean_age_male": 41.0, "mean_age_female": (28.4 + 31.1) / 2,
    }
    assert type(summary["statistics"]["mean_age_male"]) is float
    with db.connection_context():
        assert audit.kept(uuid.UUID(task_id)) == audit.aggregate(uuid.UUID(task_id))


def test_the_whole_task_streams_every_image_across_batches_in_order(client):
    task = create_task(client, "big")
    task_id = uuid.UUID(task["id"])
    count = 2_345  # more than two of the stream's batches
    with db.connection_context(), db.atomic():
        Image.insert_many(
            [(uuid.uuid4(), task_id, f"img-{n:05}.jpg", n, 1) for n in range(1, count + 1)],
            fields=[Image.id, Image.task, Image.name, Image.position, Image.size],
        ).execute()
        recount(task_id)

    whole = client.simulate_get(f"/api/v1/tasks/{task_id}")
    last = client.simulate_get(f"/api/v1/tasks/{task_id}/images", params={"page": 3, "page_size": 1000}).json

    assert whole.status_code == 200 and whole.headers["Content-Type"] == "application/json"
    images = whole.json["images"]
    assert [i["name"] for i in images] == [f"img-{n:05}.jpg" for n in range(1, count + 1)]
    assert images[2000:] == last["items"] and last["total"] == count
    assert whole.json["progress"] == {"total": count, "done": 0, "failed": 0}
    assert list(whole.json) == [
        "id", "name", "status", "created_at", "updated_at", "started_at", "finished_at", "progress", "images",
        "statistics",
    ]


@pytest.mark.parametrize("params", [{}, {"images": "false"}])
def test_an_unchanged_task_answers_304_and_any_change_a_new_etag(client, params):
    task_id, _ = uploaded_task(client, 1)
    path = f"/api/v1/tasks/{task_id}"
    first = client.simulate_get(path, params=params)

    again = client.simulate_get(path, params=params, headers={"If-None-Match": first.headers["ETag"]})
    upload(client, task_id, JPEG, "later.jpg")
    changed = client.simulate_get(path, params=params, headers={"If-None-Match": first.headers["ETag"]})

    assert first.status_code == 200 and first.headers["ETag"].startswith('"')
    assert again.status_code == 304 and again.content == b""
    assert changed.status_code == 200 and changed.headers["ETag"] != first.headers["ETag"]
    assert changed.json["progress"]["total"] == 2


def test_an_images_page_answers_304_until_an_image_of_the_task_changes(client):
    task_id, _ = uploaded_task(client, 2)
    path = f"/api/v1/tasks/{task_id}/images"
    first = client.simulate_get(path)
    tag = {"If-None-Match": first.headers["ETag"]}

    assert client.simulate_get(path, headers=tag).status_code == 304
    start_task(uuid.UUID(task_id))
    queue_up(uuid.UUID(task_id), window=1)
    after = client.simulate_get(path, headers=tag)

    assert after.status_code == 200
    assert [i["status"] for i in after.json["items"]] == ["queued", "pending"]
    # A claim leaves the task row alone (claims never wait for it), and still changes the tag.
    queued = uuid.UUID(after.json["items"][0]["id"])
    claim = image_states.claim_image(queued, "msg-1")
    assert claim is not None
    claimed = client.simulate_get(path, headers={"If-None-Match": after.headers["ETag"]})
    assert claimed.status_code == 200 and claimed.json["items"][0]["status"] == "processing"
    summary = client.simulate_get(f"/api/v1/tasks/{task_id}", params={"images": "false"})
    assert client.simulate_get(f"/api/v1/tasks/{task_id}", params={"images": "false"},
                               headers={"If-None-Match": summary.headers["ETag"]}).status_code == 304


@pytest.mark.parametrize("params", [
    {"page": "0"}, {"page": "x"}, {"page_size": "0"}, {"page_size": "1001"}, {"status": "lost"},
])
def test_bad_image_paging_is_a_400_that_names_the_parameter(client, params):
    task_id, _ = uploaded_task(client, 1)

    result = client.simulate_get(f"/api/v1/tasks/{task_id}/images", params=params)

    assert result.status_code == 400
    assert next(iter(params)) in result.json["description"]


def test_the_images_of_an_unknown_task_are_a_404(client):
    result = client.simulate_get(f"/api/v1/tasks/{uuid.uuid4()}/images")

    assert result.status_code == 404 and result.json["title"] == "Task not found"


def test_start_and_retry_touch_no_image_row(client):
    task_id, _ = uploaded_task(client, 3)

    started = client.simulate_post(f"/api/v1/tasks/{task_id}/start")

    assert started.status_code == 202
    with db.connection_context():
        statuses = [i.status for i in Image.select().where(Image.task == task_id)]
        task = Task.get_by_id(task_id)
    assert statuses == ["pending"] * 3  # the pipeline queues them, a window at a time
    assert (task.remaining, task.run, task.queued_through) == (3, 1, 0)


def test_floats_built_by_postgresql_read_back_as_the_same_python_floats(client):
    task_id, _ = uploaded_task(client, 1)
    ages = [28.0, 0.1 + 0.2, 1e-05, 70.25, 123456789.0]
    end_images(task_id, [[Face(0, 0, 9, 9, "female", age, age / 1e9) for age in ages]])

    whole = client.simulate_get(f"/api/v1/tasks/{task_id}")
    page = client.simulate_get(f"/api/v1/tasks/{task_id}/images")

    faces = whole.json["images"][0]["faces"]
    assert [f["age"] for f in faces] == ages and all(type(f["age"]) is float for f in faces)
    assert [f["score"] for f in faces] == [age / 1e9 for age in ages]
    assert page.json["items"][0]["faces"] == faces
    assert b'"age":28.0,' in whole.content and b'"age":123456789.0,' in whole.content
