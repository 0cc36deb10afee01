"""Every action in every task state, on real workers: the exact status and body of each answer,
and the task as a client reads it afterwards.

A task is brought to each state for real: ``forming`` with one image; ``processing`` while the
FaceCloud emulator holds its image's detector call; ``completed`` and ``failed`` once the
workers have ended the run (the failing image is one FaceCloud refuses).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.conftest import Workers, service_env
from tests.harness import wait_until
from tests.helpers import create_task, typed, upload, wait_until_final
from tools.emulator_faces import face, make_jpeg

STATES = ("forming", "processing", "completed", "failed")
ACTIONS = ("add image", "start", "retry", "delete", "GET")
ISO_UTC = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")
# Long enough for every request of one test while the task is processing; under the detector
# timeout this module's workers are given.
HOLD_MS = 5000
REFUSED = "image is too blurry"
NOTHING_YET = {"total_faces": 0, "total_males": 0, "total_females": 0, "mean_age_male": None, "mean_age_female": None}


@pytest.fixture(scope="module")
def slow_detector_workers(database, vhost, storage_dir, emulator, tmp_path_factory) -> Iterator[Workers]:
    env = service_env(storage_dir, emulator, FACECLOUD_TIMEOUT_S="20")
    with Workers(env, tmp_path_factory.mktemp("states") / "workers.log", processes=1, threads=4) as running:
        yield running


def conflict(action: str, allowed: str, status: str) -> dict[str, str]:
    return {"title": "Wrong task state",
            "description": f"a task can be {action} only while it is {allowed}; this one is {status}"}


def task_json(task_id: str, status: str, image: dict[str, Any], read: dict[str, Any]) -> dict[str, Any]:
    """The task JSON the contract says a task in ``status`` with this one image has; timestamps are
    taken from ``read`` once they are checked to be there (or not) as the status says."""
    started, ended = status != "forming", status in ("completed", "failed")
    for key, present in (("created_at", True), ("updated_at", True), ("started_at", started), ("finished_at", ended)):
        assert bool(read[key] and ISO_UTC.fullmatch(read[key])) == present, (key, read[key])
    done, failed = int(image["status"] == "done"), int(image["status"] == "failed")
    statistics = NOTHING_YET
    if image["faces"]:
        statistics = {"total_faces": 1, "total_males": 0, "total_females": 1,
                      "mean_age_male": None, "mean_age_female": 30.5}
    return {
        "id": task_id, "name": "matrix", "status": status,
        **{key: read[key] for key in ("created_at", "updated_at", "started_at", "finished_at")},
        "progress": {"total": 1, "done": done, "failed": failed},
        "images": [image],
        "statistics": statistics,
    }


class Cell:
    """One task brought to a state, with what a client reads of it."""

    def __init__(self, client, emulator, state: str) -> None:
        self.client, self.state = client, state
        data = make_jpeg(error=REFUSED) if state == "failed" else make_jpeg(faces=[face(4, 6, 20, 24, "female", 30.5)])
        self.id = create_task(self.client, "matrix")["id"]
        uploaded = upload(self.client, self.id, data, "a.jpg")
        assert uploaded.status_code == 201, uploaded.text
        self.image_id = uploaded.json["id"]
        if state == "processing":
            emulator.configure(latency_ms=HOLD_MS)
        if state != "forming":
            assert self.client.simulate_post(f"/api/v1/tasks/{self.id}/start").status_code == 202
        if state == "processing":
            wait_until(lambda: emulator.stats()["detect_calls"] == 1, 30, "the detector call held")
        elif state != "forming":
            assert wait_until_final(self.client, self.id)["status"] == state

    def image(self, status: str) -> dict[str, Any]:
        faces = []
        if status == "done":
            faces = [{"bbox": {"x": 4, "y": 6, "width": 20, "height": 24}, "gender": "female", "age": 30.5,
                      "score": 0.99}]
        error = f"FaceCloud rejected the image: {REFUSED}" if status == "failed" else None
        return {"id": self.image_id, "name": "a.jpg", "status": status, "error": error, "faces": faces}

    def read(self) -> tuple[int, Any]:
        result = self.client.simulate_get(f"/api/v1/tasks/{self.id}")
        return result.status_code, result.json

    def expected(self, status: str, image_status: str) -> dict[str, Any]:
        code, body = self.read()
        assert code == 200, body
        return task_json(self.id, status, self.image(image_status), body)


# The image's status in each task state.
IMAGE_IN = {"forming": "pending", "processing": "processing", "completed": "done", "failed": "failed"}


def add_image(cell: Cell) -> tuple[int, Any]:
    result = upload(cell.client, cell.id, make_jpeg(faces=[], color=(9, 9, 9)), "b.jpg")
    return result.status_code, result.json


def post(action: str) -> Callable[[Cell], tuple[int, Any]]:
    def run(cell: Cell) -> tuple[int, Any]:
        result = cell.client.simulate_post(f"/api/v1/tasks/{cell.id}/{action}")
        return result.status_code, result.json

    return run


def delete(cell: Cell) -> tuple[int, Any]:
    result = cell.client.simulate_delete(f"/api/v1/tasks/{cell.id}")
    return result.status_code, result.text


PERFORM = {"add image": add_image, "start": post("start"), "retry": post("retry"), "delete": delete, "GET": Cell.read}


def summary(task: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in task.items() if key != "images"}


@pytest.mark.parametrize("action", ACTIONS)
@pytest.mark.parametrize("state", STATES)
def test_every_action_in_every_state_answers_exactly_and_leaves_the_task_as_it_says(
    client, slow_detector_workers, fresh_emulator, state, action
):
    cell = Cell(client, fresh_emulator, state)
    before = cell.expected(state, IMAGE_IN[state])

    code, body = PERFORM[action](cell)
    after_code, after = cell.read()

    if action == "GET":
        assert (code, typed(body)) == (200, typed(before))
        assert (after_code, after) == (200, body)
    elif action == "delete":
        assert (code, body) == (204, "")
        assert after_code == 404
        assert after == {"title": "Task not found", "description": f"There is no task {cell.id}."}
    elif action == "add image" and state == "forming":
        assert code == 201 and uuid.UUID(body["id"])
        assert body == {"id": body["id"], "name": "b.jpg", "status": "pending", "error": None, "faces": []}
        assert after_code == 200 and after["images"] == [*before["images"], body]
        assert after["progress"] == {"total": 2, "done": 0, "failed": 0}
    elif action == "add image":
        assert (code, body) == (409, conflict("given images", "forming", state))
        assert (after_code, typed(after)) == (200, typed(before))
    elif (action, state) in (("start", "forming"), ("retry", "failed")):
        assert code == 202
        assert after_code == 200 and after["status"] in ("processing", "completed", "failed")
        assert after["started_at"] is not None
        expected = {**summary(before), "status": "processing", "updated_at": body["updated_at"],
                    "started_at": body["started_at"], "finished_at": None, "statistics": NOTHING_YET}
        if action == "start":
            expected["progress"] = {"total": 1, "done": 0, "failed": 0}
        else:  # how a retry counts the failed images it sends again is the pipeline's business
            expected["progress"] = body["progress"]
        assert typed(body) == typed(expected)
        assert ISO_UTC.fullmatch(body["started_at"]) and body["started_at"] >= before["created_at"]
    else:
        allowed = {"start": "forming", "retry": "failed"}[action]
        verb = {"start": "started", "retry": "retried"}[action]
        assert (code, body) == (409, conflict(verb, allowed, state))
        assert (after_code, typed(after)) == (200, typed(before))
