"""Completion webhooks on real workers, delivered over HTTP to a receiver running in this test."""

from __future__ import annotations

import hashlib
import hmac
import json
import operator
import ssl
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from actors.messages import WEBHOOK_QUEUE
from actors.webhooks import WebhookNotDelivered, WebhookSender
from config.allowlist import Allowlist
from config.settings import Settings, SettingsError
from storage.db import db
from tests.certificates import CertificateAuthority
from tests.conftest import Workers, build_client, messages_in_queues, service_env
from tests.harness import wait_until
from tests.helpers import typed, upload, wait_until_final
from tools.emulator_faces import face, make_jpeg

SECRET = "whsec-test-0123456789"
# The receivers listen on 127.0.0.2; localhost is 127.0.0.1, which is not listed.
ALLOW = "localhost,127.0.0.2"
ALLOWED = Allowlist.parse(ALLOW)


class Receiver:
    """An HTTP server that records every request and answers the statuses it is given, then 200, each after
    holding it ``hold_s`` seconds (a slow receiver)."""

    def __init__(self, host: str = "127.0.0.2", hold_s: float = 0) -> None:
        self.requests: list[dict[str, Any]] = []
        self.statuses: list[int] = []
        self.answered = 0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append({"path": self.path, "headers": dict(self.headers), "body": body})
                time.sleep(hold_s)
                self.send_response(receiver.statuses.pop(0) if receiver.statuses else 200)
                self.end_headers()
                receiver.answered += 1

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer((host, 0), Handler)
        self.port = self.server.server_address[1]
        self.url = f"http://{host}:{self.port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def wait_for(self, count: int, timeout: float = 30) -> list[dict[str, Any]]:
        wait_until(lambda: len(self.requests), timeout, f"{count} webhooks to arrive", poll_s=0.05,
                   until=lambda arrived: arrived >= count)
        return self.requests


@pytest.fixture(scope="module")
def webhook_workers(database, vhost, storage_dir: Path, emulator, tmp_path_factory) -> Iterator[Workers]:
    env = service_env(storage_dir, emulator, WEBHOOK_SECRET=SECRET, WEBHOOK_ALLOWED_HOSTS=ALLOW, WEBHOOK_THREADS="4")
    with Workers(env, tmp_path_factory.mktemp("webhooks") / "workers.log", processes=1, threads=4) as running:
        yield running


@pytest.fixture
def hooked(clean_db, storage_dir, publisher):
    return build_client(storage_dir, publisher, webhook_hosts=ALLOWED)


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
                               "delivered_at": None, "error": None}

    (request,) = receiver.wait_for(1)
    wait_until_final(hooked, task["id"])
    summary = wait_until(lambda: hooked.simulate_get(f"/api/v1/tasks/{task['id']}", params={"images": "false"}).json,
                         10, "the webhook marked delivered", poll_s=0.05,
                         until=lambda summary: summary["webhook"]["delivered_at"] is not None)

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
        "url": f"{receiver.url}/hook", "attempts": 1, "last_status": 503, "delivered_at": None, "error": None}
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


class TlsReceiver(Receiver):
    """The receiver over https, with a certificate for ``host`` (and 127.0.0.1) from a CA of the test's."""

    def __init__(self, authority: CertificateAuthority, host: str) -> None:
        super().__init__("127.0.0.1")
        certificate = authority.server(host)
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(certificate.cert_file, certificate.key_file)
        self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self.url = self.url.replace("http://", "https://")


LOCALHOST_REFUSED = ("Not sent: localhost resolves to 127.0.0.1: not public (loopback, private, link-local, "
                     "multicast or reserved), and not in WEBHOOK_ALLOWED_HOSTS.")


def ended_task(client, callback: str) -> dict[str, Any]:
    """A task with a callback to localhost run to its end by the module's workers, which refuse to reach it
    (``ALLOWED``): the delivery is left to the test."""
    task = run_task(client, callback, [make_jpeg(faces=[], color=(3, 3, 3))])
    wait_until_final(client, task["id"])
    webhook = wait_until(lambda: client.simulate_get(f"/api/v1/tasks/{task['id']}").json["webhook"], 10,
                         "a webhook attempt", poll_s=0.05, until=lambda webhook: webhook["attempts"] != 0)
    assert webhook["error"] == LOCALHOST_REFUSED
    return task


def delivered_by(allowed: str, task_id: str, client) -> dict[str, Any]:
    with db.connection_context():
        WebhookSender(SECRET, Allowlist.parse(allowed)).deliver_webhook(task_id, 1)
    return client.simulate_get(f"/api/v1/tasks/{task_id}").json["webhook"]


@pytest.fixture
def loopback_receiver() -> Iterator[Receiver]:
    running = Receiver("127.0.0.1")
    yield running
    running.server.shutdown()


def test_an_allowlist_naming_localhost_does_not_let_a_webhook_reach_127_0_0_1(
    hooked, webhook_workers, loopback_receiver, fresh_emulator
):
    callback = f"http://localhost:{loopback_receiver.port}/hook"

    task = ended_task(hooked, callback)
    # No retry waits in the delay queue: the refusal ended it.
    wait_until(lambda: messages_in_queues(WEBHOOK_QUEUE), 10, "the webhook queue empty", poll_s=0.05,
               until=operator.not_)

    assert loopback_receiver.requests == []
    assert hooked.simulate_get(f"/api/v1/tasks/{task['id']}").json["webhook"] == {
        "url": callback, "attempts": 1, "last_status": None, "delivered_at": None, "error": LOCALHOST_REFUSED}


@pytest.mark.parametrize(("allowed", "reached"), [
    ("localhost", False), ("localhost,127.0.0.2", False), ("localhost,127.0.0.1:1", False),
    ("localhost,127.0.0.1", True), ("localhost,127.0.0.0/8", True), ("localhost,[::ffff:127.0.0.1]", True),
])
def test_a_name_resolving_to_loopback_is_reached_only_when_that_address_or_its_network_is_listed(
    hooked, webhook_workers, loopback_receiver, fresh_emulator, allowed, reached
):
    task = ended_task(hooked, f"http://localhost:{loopback_receiver.port}/hook")

    webhook = delivered_by(allowed, task["id"], hooked)

    assert len(loopback_receiver.requests) == (1 if reached else 0)
    assert (webhook["last_status"], webhook["error"] is None) == ((200, True) if reached else (None, False))
    if reached:
        assert loopback_receiver.requests[0]["headers"]["Host"] == f"localhost:{loopback_receiver.port}"


def test_https_goes_to_the_vetted_address_and_checks_the_certificate_against_the_name(
    hooked, webhook_workers, fresh_emulator, tmp_path, monkeypatch
):
    authority = CertificateAuthority(tmp_path, "hooks")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(authority.ca_file))
    right, wrong = TlsReceiver(authority, "localhost"), TlsReceiver(authority, "elsewhere.test")
    try:
        good = ended_task(hooked, right.url.replace("127.0.0.1", "localhost") + "/hook")
        bad = ended_task(hooked, wrong.url.replace("127.0.0.1", "localhost") + "/hook")

        delivered = delivered_by("localhost,127.0.0.1", good["id"], hooked)
        # Its certificate names 127.0.0.1 too: only a check against the name refuses it.
        with pytest.raises(WebhookNotDelivered):  # to be tried again later, as any failed connection
            delivered_by("localhost,127.0.0.1", bad["id"], hooked)
        refused = hooked.simulate_get(f"/api/v1/tasks/{bad['id']}").json["webhook"]
    finally:
        right.server.shutdown()
        wrong.server.shutdown()

    assert delivered["last_status"] == 200 and delivered["error"] is None and len(right.requests) == 1
    assert refused["last_status"] is None and wrong.requests == []
    assert "certificate is not valid for 'localhost'" in refused["error"]


@pytest.mark.parametrize(("allowed", "callback", "refusal"), [
    ("localhost", "http://127.0.0.1/hook", "goes to 127.0.0.1, which is not in WEBHOOK_ALLOWED_HOSTS"),
    ("10.0.0.0/8:8443", "https://10.1.2.3/hook", "goes to 10.1.2.3, which is not in WEBHOOK_ALLOWED_HOSTS"),
    ("hooks.example.com:8443", "https://hooks.example.com:9000/x",
     "goes to hooks.example.com:9000, which is not in WEBHOOK_ALLOWED_HOSTS"),
    ("localhost", "http://[::1]/hook", "goes to ::1, which is not in WEBHOOK_ALLOWED_HOSTS"),
    ("localhost", "http://169.254.169.254/latest", "goes to 169.254.169.254, which is not in WEBHOOK_ALLOWED_HOSTS"),
])
def test_at_create_an_address_or_a_port_the_allowlist_does_not_hold_is_a_400(
    clean_db, storage_dir, publisher, allowed, callback, refusal
):
    client = build_client(storage_dir, publisher, webhook_hosts=Allowlist.parse(allowed))

    result = client.simulate_post("/api/v1/tasks", json={"callback_url": callback})

    assert (result.status_code, result.json) == (400, {
        "title": "Invalid callback_url", "description": f'"callback_url" {refusal}.'})


@pytest.mark.parametrize(("allowed", "callback"), [
    ("10.0.0.0/8:8443", "https://10.1.2.3:8443/hook"), ("hooks.example.com:8443", "https://hooks.example.com:8443/x"),
    ("[fd00::7]:80", "http://[fd00::7]/x"), ("HOOKS.example.com", "https://hooks.example.com./x"),
])
def test_at_create_a_listed_name_address_or_network_with_its_port_is_accepted(
    clean_db, storage_dir, publisher, allowed, callback
):
    client = build_client(storage_dir, publisher, webhook_hosts=Allowlist.parse(allowed))

    assert client.simulate_post("/api/v1/tasks", json={"callback_url": callback}).status_code == 201


@pytest.mark.parametrize("allowed", ["a:b", "10.0.0.0/33", "[::1]:x", "host:70000", "a/b"])
def test_a_bad_allowlist_entry_stops_the_service_at_start_with_its_name(allowed):
    with pytest.raises(SettingsError, match="WEBHOOK_ALLOWED_HOSTS"):
        Settings.from_env({"WEBHOOK_ALLOWED_HOSTS": allowed})


def test_a_poller_holding_the_etag_from_before_a_delivery_gets_the_delivery(
    hooked, webhook_workers, loopback_receiver, fresh_emulator
):
    task = ended_task(hooked, f"http://localhost:{loopback_receiver.port}/hook")
    paths = (f"/api/v1/tasks/{task['id']}", f"/api/v1/tasks/{task['id']}?images=false")
    before = {path: hooked.simulate_get(path).headers["ETag"] for path in paths}

    delivered_by("localhost,127.0.0.1", task["id"], hooked)

    for path, tag in before.items():
        polled = hooked.simulate_get(path, headers={"If-None-Match": tag})
        assert polled.status_code == 200 and polled.headers["ETag"] != tag
        assert polled.json["webhook"]["attempts"] == 2 and polled.json["webhook"]["last_status"] == 200


# Long enough that four held deliveries on the detection threads (4 here) would stall any task for it.
HOLD_S = 8


def timed_run(client, images: list[bytes]) -> float:
    """Seconds from start to the end of a task of ``images``, without a callback."""
    task = client.simulate_post("/api/v1/tasks", json={}).json
    for i, data in enumerate(images):
        assert upload(client, task["id"], data, f"{i}.jpg").status_code == 201
    started = time.monotonic()
    assert client.simulate_post(f"/api/v1/tasks/{task['id']}/start").status_code == 202
    assert wait_until_final(client, task["id"])["status"] == "completed"
    return time.monotonic() - started


def test_a_small_task_beside_four_slow_receivers_finishes_about_as_fast_as_alone(
    hooked, webhook_workers, fresh_emulator
):
    images = [make_jpeg(faces=[], color=(i, 9, 9)) for i in range(8)]
    alone = timed_run(hooked, images)
    slow = [Receiver(hold_s=HOLD_S) for _ in range(4)]
    try:
        for receiver in slow:
            run_task(hooked, f"{receiver.url}/hook", [make_jpeg(faces=[], color=(1, 2, 3))])
        for receiver in slow:
            receiver.wait_for(1)  # each holds a delivery now
        beside = timed_run(hooked, images)
        still_held = sum(receiver.answered == 0 for receiver in slow)
    finally:
        for receiver in slow:
            receiver.server.shutdown()

    assert beside <= alone * 1.5 + 2, (alone, beside)
    assert still_held == 4, "the receivers let go before the small task ended: nothing was measured"
