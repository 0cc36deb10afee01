"""Errors are JSON with a title and a description; auth guards /api/v1 when configured."""

from __future__ import annotations

import base64
import logging
from datetime import UTC

import pytest

from storage.db import db
from storage.housekeeping import last_sweep, record_sweep
from tests.conftest import build_client


def _basic(user: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


def test_an_unknown_route_is_a_json_404_with_a_description(client):
    for path in ("/nothing", "/api/v1/nothing", "/api/v2/tasks"):
        result = client.simulate_get(path)
        assert result.status_code == 404
        assert result.headers["Content-Type"].startswith("application/json")
        assert result.json["title"] and result.json["description"]


def test_a_wrong_method_is_a_json_405(client):
    result = client.simulate_put("/api/v1/tasks")

    assert result.status_code == 405
    assert result.json["title"] and result.json["description"]


def test_health_reports_both_dependencies_and_the_last_housekeeping_sweep(client):
    with db.connection_context():
        record_sweep()
        swept = last_sweep()

    result = client.simulate_get("/health")

    assert result.status_code == 200
    assert result.json == {
        "status": "ok", "postgres": "ok", "rabbitmq": "ok",
        "housekeeping_last_sweep_at": swept.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }


@pytest.fixture
def guarded(clean_db, storage_dir, pipeline):
    return build_client(storage_dir, pipeline, ("alice", "wonder:land"))


def test_without_credentials_every_api_route_is_a_401_with_a_basic_challenge(guarded):
    for method, path in (("GET", "/api/v1/tasks"), ("POST", "/api/v1/tasks"), ("GET", "/api/v1/unknown")):
        result = guarded.simulate_request(method, path)
        assert result.status_code == 401, path
        assert result.headers["WWW-Authenticate"].startswith("Basic")
        assert result.json["title"] and result.json["description"]


def test_wrong_credentials_are_a_401(guarded):
    for headers in (_basic("alice", "wrong"), _basic("bob", "wonder:land"), {"Authorization": "Basic !!"},
                    {"Authorization": "Bearer x"}):
        assert guarded.simulate_get("/api/v1/tasks", headers=headers).status_code == 401


def test_right_credentials_open_the_api_and_health_needs_none(guarded):
    assert guarded.simulate_get("/api/v1/tasks", headers=_basic("alice", "wonder:land")).status_code == 200
    assert guarded.simulate_get("/health").status_code == 200


def test_health_probes_are_logged_at_debug_and_other_requests_at_info(client, caplog):
    caplog.set_level(logging.DEBUG, logger="api.requests")

    client.simulate_get("/health")
    client.simulate_get("/api/v1/tasks")

    levels = {record.getMessage().split()[1]: record.levelno for record in caplog.records
              if record.name == "api.requests"}
    assert levels == {"/health": logging.DEBUG, "/api/v1/tasks": logging.INFO}
