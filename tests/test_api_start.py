"""Starting a task: the 202 body, the states it is refused in, and concurrent starts."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor

from detectors.emulator_faces import make_jpeg
from storage.models import Task
from tests.helpers import create_task, upload


def test_start_answers_the_task_summary_as_it_left_it(client):
    task = create_task(client, "batch")
    upload(client, task["id"], make_jpeg(faces=[]), "a.jpg")

    result = client.simulate_post(f"/api/v1/tasks/{task['id']}/start")

    assert result.status_code == 202
    body = result.json
    assert "images" not in body
    assert body["status"] == "processing"
    assert body["started_at"] is not None and body["finished_at"] is None
    assert body["progress"] == {"total": 1, "done": 0, "failed": 0}
    # No worker runs here: the summary read now is the one the request left.
    assert client.simulate_get(f"/api/v1/tasks/{task['id']}", params={"images": "false"}).json == body


def test_a_task_without_images_cannot_start(client):
    task = create_task(client)

    result = client.simulate_post(f"/api/v1/tasks/{task['id']}/start")

    assert result.status_code == 409
    assert "image" in result.json["description"]
    assert client.simulate_get(f"/api/v1/tasks/{task['id']}").json["status"] == "forming"


def test_starting_an_unknown_task_is_a_404(client):
    assert client.simulate_post(f"/api/v1/tasks/{uuid.uuid4()}/start").status_code == 404


def test_retry_is_refused_unless_the_task_failed(client):
    task = create_task(client)
    upload(client, task["id"], make_jpeg(faces=[]), "a.jpg")

    forming = client.simulate_post(f"/api/v1/tasks/{task['id']}/retry")
    client.simulate_post(f"/api/v1/tasks/{task['id']}/start")
    processing = client.simulate_post(f"/api/v1/tasks/{task['id']}/retry")

    assert forming.status_code == processing.status_code == 409
    assert "failed" in forming.json["description"]


def test_two_concurrent_starts_give_exactly_one_202(client):
    for _ in range(5):
        task = create_task(client)
        upload(client, task["id"], make_jpeg(faces=[]), "a.jpg")
        path = f"/api/v1/tasks/{task['id']}/start"
        with ThreadPoolExecutor(8) as pool:
            codes = sorted(pool.map(lambda _, path=path: client.simulate_post(path).status_code, range(8)))
        assert codes == [202] + [409] * 7


def test_uploads_racing_a_start_are_either_in_the_run_or_refused(client):
    task = create_task(client)
    upload(client, task["id"], make_jpeg(faces=[]), "first.jpg")

    def add(i: int) -> tuple[int, str | None]:
        result = upload(client, task["id"], make_jpeg(faces=[], color=(i, i, i)), f"{i}.jpg")
        return result.status_code, (result.json or {}).get("id")

    with ThreadPoolExecutor(8) as pool:
        uploads = [pool.submit(add, i) for i in range(24)]
        start = pool.submit(client.simulate_post, f"/api/v1/tasks/{task['id']}/start")
        outcomes = [u.result() for u in uploads]
    started = start.result()

    assert started.status_code == 202
    accepted = {image_id for code, image_id in outcomes if code == 201}
    assert {code for code, _ in outcomes} <= {201, 409}
    images = client.simulate_get(f"/api/v1/tasks/{task['id']}").json["images"]
    assert accepted <= {i["id"] for i in images}
    # Every image the task holds is in the run the start began.
    assert Task.get_by_id(task["id"]).remaining == len(images)
    assert len(images) == len(accepted) + 1
