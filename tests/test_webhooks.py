"""Completion webhooks on real workers, delivered over HTTP to a receiver running in this test."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from actors.webhooks import WebhookSender
from detectors.emulator_faces import face, make_jpeg
from storage.db import db
from tests.conftest import Workers, build_client, service_env
from tests.helpers import typed, upload, wait_until_final

SECRET = "whsec-test-0123456789"
ALLOWED = frozenset({"127.0.0.1"})


class Receiver:
    """An HTTP server that records every request and answers the statuses it is given, then 200."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.statuses: list[int] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append({"path": self.path, "headers": dict(self.headers), "body": body})
                self.send_response(receiver.statuses.pop(0) if receiver.statuses else 200)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def wait_for(self, count: int, timeout: float = 30) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while len(self.requests) < count:
            assert time.monotonic() < deadline, f"{len(self.requests)} of {count} webhooks arrived"
            time.sleep(0.05)
        return self.requests


@pytest.fixture(scope="module")
def webhook_workers(database, vhost, storage_dir: Path, emulator, tmp_path_factory) -> Iterator[Workers]:
    env = service_env(storage_dir, emulator, WEBHOOK_SECRET=SECRET, WEBHOOK_ALLOWED_HOSTS="127.0.0.1")
    with Workers(env, tmp_path_factory.mktemp("webhooks") / "workers.log", processes=1, threads=4) as running:
        yield running


@pytest.fixture
def hooked(clean_db, storage_dir, pipeline):
    return build_client(storage_dir, pipeline, webhook_hosts=ALLOWED)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    running = Receiver()
    yield running
    running.server.shutdown()


def run_task(client, callback: str, images: list[bytes]) -> dict[str, Any]:
    created = client.simulate_post("/api/v1/tasks", json={"name": "hooked", "callback_url": callback})
    assert created.status_code == 201, created.text
    task = created.json
    for i, data in enumerate(images):
        assert upload(client, task["id"], data, f"{i}.jpg").status_code == 201
    assert client.simulate_post(f"/api/v1/tasks/{task['id']}/start").status_code == 202
    return task


def verify(request: dict[str, Any]) -> dict[str, Any]:
    """The receiver's few lines: check the signature over timestamp and body, then trust the JSON."""
    headers = request["headers"]
    signed = headers["X-Facetasks-Timestamp"].encode() + b"." + request["body"]
    expected = "sha256=" + hmac.new(SECRET.encode(), signed, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(headers["X-Facetasks-Signature"], expected)
    assert abs(time.time() - int(headers["X-Facetasks-Timestamp"])) < 300
    return json.loads(request["body"])


def test_a_task_that_ends_posts_its_summary_signed_once(hooked, webhook_workers, receiver, fresh_emulator):
    task = run_task(hooked, f"{receiver.url}/hooks/faces", [make_jpeg(faces=[face(1, 1, 9, 9, "female", 30.5)])])
    assert task["webhook"] == {"url": f"{receiver.url}/hooks/faces", "attempts": 0, "last_status": None,
                               "delivered_at": None}

    (request,) = receiver.wait_for(1)
    wait_until_final(hooked, task["id"])
    deadline = time.monotonic() + 10
    while (summary := hooked.simulate_get(f"/api/v1/tasks/{task['id']}", params={"images": "false"}).json)[
            "webhook"]["delivered_at"] is None:
        assert time.monotonic() < deadline
        time.sleep(0.05)

    body = verify(request)
    assert request["path"] == "/hooks/faces"
    assert request["headers"]["X-Facetasks-Event"] == f"{task['id']}.1"
    # The body is the task summary as it was sent (its webhook part before this attempt was counted).
    assert {k: v for k, v in body.items() if k != "webhook"} == {k: v for k, v in summary.items() if k != "webhook"}
    assert body["status"] == "completed" and typed(body["statistics"]["mean_age_female"]) == typed(30.5)
    assert summary["webhook"]["attempts"] == 1 and summary["webhook"]["last_status"] == 200
    # The same end announced again (a duplicate message) is not delivered twice.
    with db.connection_context():
        WebhookSender(SECRET, ALLOWED).deliver_webhook(task["id"], 1)
    assert len(receiver.requests) == 1


def test_a_receiver_answering_503_gets_it_again_and_a_retried_task_announces_its_new_end(
    hooked, webhook_workers, receiver, fresh_emulator
):
    receiver.statuses = [503]
    bad = make_jpeg(error="bad image: unsupported scan")
    task = run_task(hooked, f"{receiver.url}/hook", [make_jpeg(faces=[], color=(7, 7, 7)), bad])

    first, second = receiver.wait_for(2)
    sent, resent = verify(first), verify(second)
    assert resent["status"] == "failed" and resent.pop("webhook") == {
        "url": f"{receiver.url}/hook", "attempts": 1, "last_status": 503, "delivered_at": None}
    assert sent.pop("webhook")["attempts"] == 0 and sent == resent
    assert first["headers"]["X-Facetasks-Event"] == second["headers"]["X-Facetasks-Event"] == f"{task['id']}.1"
    assert hooked.simulate_post(f"/api/v1/tasks/{task['id']}/retry").status_code == 202
    third = receiver.wait_for(3)[2]
    assert third["headers"]["X-Facetasks-Event"] == f"{task['id']}.2" and verify(third)["status"] == "failed"


@pytest.mark.parametrize("callback", [
    "http://example.com/hook", "http://169.254.169.254/latest/meta-data", "ftp://127.0.0.1/x",
    "http://user:pw@127.0.0.1/x", "not a url", 42,
])
def test_a_callback_outside_the_allowlist_is_refused_and_nothing_is_created(hooked, callback):
    result = hooked.simulate_post("/api/v1/tasks", json={"callback_url": callback})

    assert result.status_code == 400 and result.json["title"] == "Invalid callback_url"
    assert hooked.simulate_get("/api/v1/tasks").json["total"] == 0


def test_with_webhooks_off_a_callback_is_refused_with_the_reason(client):
    result = client.simulate_post("/api/v1/tasks", json={"callback_url": "http://127.0.0.1/hook"})

    assert result.status_code == 400 and "webhooks are off" in result.json["description"]
