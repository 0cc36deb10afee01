"""Every kind of response the API sends carries the security headers (api/security.py): JSON, HTML,
JavaScript, CSS, JPEG, CSV, plain text, redirects-free empties (204, 304) and every error status,
refusals of authentication included. The app is the real one on real PostgreSQL and RabbitMQ."""

from __future__ import annotations

import uuid

import falcon.testing
import pytest

from api.security import HEADERS
from tests.conftest import build_client
from tests.helpers import create_task, upload
from tools.emulator_faces import make_jpeg


def assert_secured(result: falcon.testing.Result, status: int, content_type: str | None) -> None:
    assert result.status_code == status, (result.status_code, result.content[:200])
    if content_type is not None:
        assert result.headers["Content-Type"].startswith(content_type), result.headers["Content-Type"]
    for name, value in HEADERS.items():
        assert result.headers.get(name) == value, (name, result.headers.get(name))


@pytest.fixture
def task_with_image(client) -> tuple[str, str]:
    task = create_task(client, "headers")
    return task["id"], upload(client, task["id"], make_jpeg(faces=[]), "room.jpg").json["id"]


def test_json_html_scripts_styles_and_text_carry_the_headers(client):
    assert_secured(client.simulate_get("/api/v1/tasks"), 200, "application/json")
    assert_secured(client.simulate_get("/"), 200, "text/html")
    assert_secured(client.simulate_get("/docs"), 200, "text/html")
    assert_secured(client.simulate_get("/openapi.json"), 200, "application/json")
    assert_secured(client.simulate_get("/static/js/main.js"), 200, "text/javascript")
    assert_secured(client.simulate_get("/static/app.css"), 200, "text/css")
    assert_secured(client.simulate_get("/metrics"), 200, "text/plain")
    assert_secured(client.simulate_get("/health"), 200, "application/json")


def test_jpeg_csv_and_empty_answers_carry_the_headers(client, task_with_image):
    task_id, image_id = task_with_image
    base = f"/api/v1/tasks/{task_id}"
    assert_secured(client.simulate_get(f"{base}/images/{image_id}/file"), 200, "image/jpeg")
    assert_secured(client.simulate_get(f"{base}/faces.csv"), 200, "text/csv")
    etag = client.simulate_get(base).headers["ETag"]
    assert_secured(client.simulate_get(base, headers={"If-None-Match": etag}), 304, None)
    assert_secured(client.simulate_delete(base), 204, None)


def test_every_error_carries_the_headers(client, task_with_image):
    task_id, _ = task_with_image
    assert_secured(client.simulate_get(f"/api/v1/tasks/{uuid.uuid4()}"), 404, "application/json")
    assert_secured(client.simulate_get("/no/such/page"), 404, "application/json")
    assert_secured(client.simulate_put("/api/v1/tasks"), 405, "application/json")
    assert_secured(client.simulate_post("/api/v1/tasks", body="{", content_type="application/json"), 400,
                   "application/json")
    assert_secured(client.simulate_post(f"/api/v1/tasks/{task_id}/images", body=b"not a jpeg",
                                        content_type="image/jpeg", params={"name": "x.jpg"}), 415,
                   "application/json")
    # A task still forming has nothing to retry.
    assert_secured(client.simulate_post(f"/api/v1/tasks/{task_id}/retry"), 409, "application/json")


def test_refused_credentials_carry_the_headers(clean_db, storage_dir, publisher):
    guarded = build_client(storage_dir, publisher, ("alice", "wonder:land"))
    assert_secured(guarded.simulate_get("/api/v1/tasks"), 401, "application/json")
    # The web page itself is public: it asks for credentials with a form of its own.
    assert_secured(guarded.simulate_get("/"), 200, "text/html")
