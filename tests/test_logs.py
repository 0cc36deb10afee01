"""Logs: a request id on every API line and response, JSON lines, and debug-raw never leaks secrets."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import pytest

from tests.conftest import EMULATOR_PASSWORD, service_env
from tests.service_process import ServiceProcess
from tools.emulator_faces import face, make_jpeg

API_PASSWORD = "api-pa55word-not-for-logs"


@pytest.fixture(scope="module")
def raw_service(database, vhost, storage_dir, emulator, tmp_path_factory) -> Iterator[ServiceProcess]:
    folder = tmp_path_factory.mktemp("logs")
    env = service_env(
        storage_dir, emulator,
        LOG_LEVEL="debug-raw", LOG_FORMAT="json", LOG_FILE=str(folder / "facetasks.log"),
        API_USERNAME="ops", API_PASSWORD=API_PASSWORD, WORKER_PROCESSES="1", WORKER_THREADS="2",
    )
    service = ServiceProcess(env, folder / "console.log")
    service.http.auth = ("ops", API_PASSWORD)
    yield service.start()
    service.stop()


def log_lines(service: ServiceProcess) -> list[dict]:
    return [json.loads(line) for line in (service.log.parent / "facetasks.log").read_text().splitlines()]


def test_debug_raw_logs_bodies_but_never_a_password_or_a_token(raw_service, emulator):
    emulator.configure(revoke_tokens=True)  # force a fresh login during this test
    task_id = raw_service.create_task({"a.jpg": make_jpeg(faces=[face(3, 4, 20, 20, "female", 33.5)])})
    raw_service.start_task(task_id)
    assert raw_service.wait_until_final(task_id)["status"] == "completed"
    summary = raw_service.http.get(f"{raw_service.url}/api/v1/tasks/{task_id}", params={"images": "false"},
                                   headers={"X-Request-ID": "final-summary"})

    lines = log_lines(raw_service)
    raw = [line["message"] for line in lines if line["logger"] == "api.raw"]
    logged = [line["message"] for line in lines
              if line["logger"] == "api.raw" and line["context"] == "req=final-summary"]
    detect = [line["message"] for line in lines if line["logger"] == "detectors.facecloud.raw"]
    # JSON bodies are there, whole …
    assert [json.loads(message.removeprefix("response body: ")) for message in logged] == [summary.json()]
    assert summary.json()["status"] == "completed"
    answers = [json.loads(message.removeprefix("FaceCloud detect response: ")) for message in detect]
    assert [item["demographics"]["age"]["mean"] for answer in answers for item in answer["data"]] == [33.5]
    # … images only by their size and type.
    assert any(re.fullmatch(r"request body: <\d+ bytes of multipart/form-data; boundary=\w+>", m) for m in raw), raw
    text = (raw_service.log.parent / "facetasks.log").read_text()
    console = raw_service.log.read_text()
    for secret in (API_PASSWORD, EMULATOR_PASSWORD, *emulator.issued_tokens()):
        assert secret not in text and secret not in console


def test_every_response_has_a_request_id_that_every_api_line_names(raw_service):
    response = raw_service.http.get(f"{raw_service.url}/api/v1/tasks", headers={"X-Request-ID": "trace-42"})
    generated = raw_service.http.get(f"{raw_service.url}/api/v1/tasks").headers["X-Request-ID"]

    assert response.headers["X-Request-ID"] == "trace-42"
    assert len(generated) == 32
    lines = log_lines(raw_service)
    mine = [line for line in lines if line["context"] == "req=trace-42"]
    assert {line["logger"] for line in mine} >= {"api.requests", "api.raw"}
    assert any(line["message"].startswith("GET /api/v1/tasks 200") for line in mine)
    assert all(set(line) >= {"time", "level", "logger", "process", "context", "message"} for line in lines)
