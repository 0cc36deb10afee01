"""The task routes of the contract, on real PostgreSQL and RabbitMQ."""

from __future__ import annotations

import re
import time
import uuid

import psycopg2

from tests.conftest import DATABASE_URL, build_client
from tests.helpers import create_task, upload
from tools.emulator_faces import make_jpeg

ISO_UTC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
EMPTY_STATISTICS = {
    "total_faces": 0,
    "total_males": 0,
    "total_females": 0,
    "mean_age_male": None,
    "mean_age_female": None,
}


def test_a_created_task_is_forming_with_every_field_of_the_contract(client):
    result = client.simulate_post("/api/v1/tasks", json={"name": "wedding"})

    assert result.status_code == 201
    body = result.json
    assert result.headers["Location"] == f"/api/v1/tasks/{body['id']}"
    assert uuid.UUID(body["id"])
    assert ISO_UTC.match(body["created_at"]) and ISO_UTC.match(body["updated_at"])
    assert body == {
        "id": body["id"],
        "name": "wedding",
        "status": "forming",
        "created_at": body["created_at"],
        "updated_at": body["updated_at"],
        "started_at": None,
        "finished_at": None,
        "progress": {"total": 0, "done": 0, "failed": 0},
        "images": [],
        "statistics": EMPTY_STATISTICS,
    }
    assert client.simulate_get(f"/api/v1/tasks/{body['id']}").json == body


def test_a_task_created_without_a_body_has_a_null_name(client):
    result = client.simulate_post("/api/v1/tasks")

    assert result.status_code == 201
    assert result.json["name"] is None


def test_malformed_json_is_a_400_with_a_description(client):
    result = client.simulate_post("/api/v1/tasks", body="{not json", headers={"Content-Type": "application/json"})

    assert result.status_code == 400
    assert set(result.json) == {"title", "description"}
    assert result.json["title"] and result.json["description"]


def test_a_name_that_is_not_a_string_is_refused(client):
    for body in ({"name": 42}, {"name": ""}, {"name": "x" * 256}, {"name": "nul\u0000"}, ["name"]):
        result = client.simulate_post("/api/v1/tasks", json=body)
        assert result.status_code == 400, body
        assert result.json["description"]


def test_an_unknown_task_is_a_404_and_a_malformed_id_too(client):
    for path in (f"/api/v1/tasks/{uuid.uuid4()}", "/api/v1/tasks/not-a-uuid"):
        result = client.simulate_get(path)
        assert result.status_code == 404, path
        assert result.json["title"] and result.json["description"]


def test_the_list_is_newest_first_and_paged(client):
    ids = [create_task(client, f"t{i}")["id"] for i in range(5)]

    first = client.simulate_get("/api/v1/tasks", params={"page": 1, "page_size": 2}).json
    third = client.simulate_get("/api/v1/tasks", params={"page": 3, "page_size": 2}).json
    beyond = client.simulate_get("/api/v1/tasks", params={"page": 9, "page_size": 2}).json
    far_beyond = client.simulate_get("/api/v1/tasks", params={"page": 10**9, "page_size": 100}).json

    assert [t["id"] for t in first["items"]] == ids[::-1][:2]
    assert (first["page"], first["page_size"], first["total"]) == (1, 2, 5)
    assert [t["id"] for t in third["items"]] == [ids[0]]
    assert beyond == {"items": [], "page": 9, "page_size": 2, "total": 5}
    assert far_beyond == {"items": [], "page": 10**9, "page_size": 100, "total": 5}


def test_list_items_are_task_summaries_without_images(client):
    task = create_task(client, "summary")

    item = client.simulate_get("/api/v1/tasks").json["items"][0]

    assert item == {k: v for k, v in task.items() if k != "images"}


def test_the_list_defaults_to_page_1_of_20(client):
    body = client.simulate_get("/api/v1/tasks").json

    assert (body["page"], body["page_size"], body["total"], body["items"]) == (1, 20, 0, [])


def test_the_list_filters_by_status(client):
    forming = create_task(client, "forming")
    started = create_task(client, "started")
    upload(client, started["id"], make_jpeg(faces=[]), "a.jpg")
    assert client.simulate_post(f"/api/v1/tasks/{started['id']}/start").status_code == 202

    body = client.simulate_get("/api/v1/tasks", params={"status": "forming"}).json

    assert [t["id"] for t in body["items"]] == [forming["id"]]
    assert body["total"] == 1


def test_bad_list_parameters_are_400s_that_name_the_parameter(client):
    for params in ({"page": 0}, {"page": "x"}, {"page": 10**20}, {"page_size": 0}, {"page_size": 101},
                   {"status": "done"}):
        result = client.simulate_get("/api/v1/tasks", params=params)
        assert result.status_code == 400, params
        assert next(iter(params)) in result.json["description"] or next(iter(params)) in result.json["title"]


def test_deleting_a_forming_task_removes_it_and_its_files(client, storage_dir):
    task = create_task(client)
    image = upload(client, task["id"], make_jpeg(faces=[]), "a.jpg").json
    path = storage_dir / task["id"] / f"{image['id']}.jpg"
    assert path.exists()

    result = client.simulate_delete(f"/api/v1/tasks/{task['id']}")

    assert result.status_code == 204
    assert result.text == ""
    assert client.simulate_get(f"/api/v1/tasks/{task['id']}").status_code == 404
    assert client.simulate_delete(f"/api/v1/tasks/{task['id']}").status_code == 404
    assert client.simulate_get("/api/v1/tasks").json["total"] == 0
    assert not path.exists() and not path.parent.exists()


def test_a_delete_waits_a_bounded_time_for_a_held_task_then_answers_503_and_204_once_it_is_free(
    clean_db, storage_dir, publisher
):
    client = build_client(storage_dir, publisher, delete_lock_timeout_s=1)
    task = create_task(client)
    image = upload(client, task["id"], make_jpeg(faces=[]), "a.jpg").json
    # A second connection holds the task as a worker does between its claim and its call's start.
    holder = psycopg2.connect(DATABASE_URL)
    holder.autocommit = True
    try:
        holder.cursor().execute("SELECT pg_advisory_lock_shared(task_lock_key(%s))", (task["id"],))
        started = time.monotonic()
        busy = client.simulate_delete(f"/api/v1/tasks/{task['id']}")
        waited = time.monotonic() - started

        assert busy.status_code == 503
        assert 1.0 <= waited < 3.0
        assert busy.headers["Retry-After"] == "5"
        assert busy.json == {
            "title": "Task busy",
            "description": "A worker is still starting the task's detector calls after 1 s; nothing was changed. "
                           "Try again shortly.",
        }
        assert client.simulate_get(f"/api/v1/tasks/{task['id']}").json["images"][0]["id"] == image["id"]
    finally:
        holder.close()

    assert client.simulate_delete(f"/api/v1/tasks/{task['id']}").status_code == 204
    assert client.simulate_get(f"/api/v1/tasks/{task['id']}").status_code == 404
    assert not (storage_dir / task["id"]).exists()
