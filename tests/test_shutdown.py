"""SIGTERM stops gracefully: the API answers the requests it started, workers finish their
images and leave the rest queued; nothing is lost or counted twice."""

from __future__ import annotations

import hashlib
import signal
import socket
import subprocess
import sys
import time

import requests

from detectors.emulator_faces import face, make_jpeg
from tests.conftest import ROOT, Workers, free_port, service_env
from tests.helpers import create_task, upload, wait_until_final


def test_sigterm_lets_the_api_answer_an_upload_that_was_in_flight(client, storage_dir, emulator, tmp_path):
    port = free_port()
    env = service_env(storage_dir, emulator, HOST="127.0.0.1", PORT=str(port))
    log = tmp_path / "api.log"
    server = subprocess.Popen([sys.executable, "-m", "service.api_server"], env=env, cwd=ROOT,
                              stdout=log.open("wb"), stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                requests.get(f"http://127.0.0.1:{port}/health", timeout=1)
                break
            except requests.ConnectionError:
                assert time.monotonic() < deadline, log.read_text()
                time.sleep(0.1)
        task = create_task(client)
        body = make_jpeg(faces=[])
        head = (f"POST /api/v1/tasks/{task['id']}/images?name=slow.jpg HTTP/1.1\r\nHost: x\r\n"
                f"Content-Type: image/jpeg\r\nContent-Length: {len(body)}\r\n\r\n").encode()
        conn = socket.create_connection(("127.0.0.1", port))
        conn.sendall(head + body[:100])
        time.sleep(0.3)

        server.send_signal(signal.SIGTERM)
        time.sleep(0.5)
        refused = False
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
        except OSError:
            refused = True
        conn.sendall(body[100:])
        answer = conn.recv(65536).decode()
        conn.close()

        assert refused, "a stopping API must not accept new connections"
        assert answer.startswith("HTTP/1.1 201"), answer
        assert server.wait(timeout=30) == 0
        images = client.simulate_get(f"/api/v1/tasks/{task['id']}").json["images"]
        assert [i["name"] for i in images] == ["slow.jpg"]
    finally:
        if server.poll() is None:
            server.kill()


def test_sigterm_mid_task_finishes_images_in_flight_and_a_restart_completes_the_rest(
    client, database, vhost, storage_dir, fresh_emulator, tmp_path
):
    fresh_emulator.configure(latency_ms=300)
    images = {f"{i}.jpg": make_jpeg(faces=[face(i, i, 9, 9, "female", 30.0 + i)], color=(i, 7, 7)) for i in range(10)}
    task = create_task(client)
    for name, data in images.items():
        upload(client, task["id"], data, name)
    env = service_env(storage_dir, fresh_emulator)
    first = Workers(env, tmp_path / "first.log", processes=1, threads=2).start()
    client.simulate_post(f"/api/v1/tasks/{task['id']}/start")
    while fresh_emulator.stats()["detect_calls"] < 3:
        time.sleep(0.05)

    first.proc.send_signal(signal.SIGTERM)
    assert first.proc.wait(timeout=30) == 0
    stopped = client.simulate_get(f"/api/v1/tasks/{task['id']}").json
    statuses = sorted(i["status"] for i in stopped["images"])
    assert stopped["status"] == "processing"
    assert "processing" not in statuses and "queued" in statuses  # finished what it had, left the rest
    second = Workers(env, tmp_path / "second.log", processes=1, threads=2).start()
    try:
        final = wait_until_final(client, task["id"], timeout=60)
    finally:
        second.stop()

    assert final["status"] == "completed"
    assert final["statistics"]["total_females"] == 10
    assert final["statistics"]["mean_age_female"] == sum(30.0 + i for i in range(10)) / 10
    calls = fresh_emulator.stats()["detect_calls_by_sha256"]
    assert [calls[hashlib.sha256(d).hexdigest()] for d in images.values()] == [1] * 10
