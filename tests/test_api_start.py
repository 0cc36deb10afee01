"""Starting a task: the 202 body, the states it is refused in, and concurrent starts."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest

from actors.broker import make_broker
from actors.messages import Publisher
from storage.models import Task
from tests.conftest import build_client
from tests.harness import wait_until
from tests.helpers import FINAL, create_task, typed, upload
from tools.emulator_faces import face, make_jpeg


class FinishingBeforeTheAnswer(Publisher):
    """The real pipeline, except that dispatching returns only once the workers have ended the run:
    whatever the API reads after dispatching is the ended task, so only an answer built from the
    request's own state change still says ``processing``."""

    def dispatch(self, task_id: uuid.UUID) -> None:
        super().dispatch(task_id)
        wait_until(lambda: Task.get_by_id(task_id).status in FINAL, 30, "the workers ending the run")


@pytest.fixture
def finishing_client(clean_db, storage_dir, vhost, workers):
    broker = make_broker(vhost)
    yield build_client(storage_dir, FinishingBeforeTheAnswer(broker))
    broker.close()


NOTHING_YET = {"total_faces": 0, "total_males": 0, "total_females": 0, "mean_age_male": None, "mean_age_female": None}


@pytest.mark.parametrize("action", ["start", "retry"])
def test_start_and_retry_answer_the_task_as_that_request_left_it_not_a_later_read(finishing_client, action):
    client = finishing_client
    task = create_task(client, "batch")
    # A face for start; for retry, an image FaceCloud refuses, so that the first run fails.
    image = make_jpeg(faces=[face(1, 1, 9, 9, "male", 30.5)]) if action == "start" else make_jpeg(error="blurry")
    upload(client, task["id"], image, "a.jpg")
    if action == "retry":
        assert client.simulate_post(f"/api/v1/tasks/{task['id']}/start").status_code == 202
        assert client.simulate_get(f"/api/v1/tasks/{task['id']}").json["status"] == "failed"

    result = client.simulate_post(f"/api/v1/tasks/{task['id']}/{action}")
    later = client.simulate_get(f"/api/v1/tasks/{task['id']}", params={"images": "false"}).json

    assert result.status_code == 202
    assert later["status"] == ("completed" if action == "start" else "failed")  # ended before the answer left
    assert later["finished_at"] is not None
    # (How a retry counts the failed images it sends again is the pipeline's business.)
    progress = {"total": 1, "done": 0, "failed": 0} if action == "start" else result.json["progress"]
    assert typed(result.json) == typed({
        **later, "status": "processing", "updated_at": result.json["updated_at"], "finished_at": None,
        "progress": progress, "statistics": NOTHING_YET,
    })
    assert result.json["started_at"] is not None and result.json["updated_at"] <= later["updated_at"]


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


def test_uploads_racing_a_start_are_either_in_the_run_or_refused(client, workers):
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
    whole = client.simulate_get(f"/api/v1/tasks/{task['id']}").json
    images = whole["images"]
    assert accepted <= {i["id"] for i in images}
    # Every image the task holds is in the run the start began: none left pending. (The module's workers
    # may already have ended some, so the task's remaining count is no measure here.)
    assert [i["name"] for i in images if i["status"] == "pending"] == []
    assert whole["progress"]["total"] == len(images) == len(accepted) + 1
