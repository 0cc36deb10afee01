"""Errors are JSON with a title and a description; auth guards /api/v1 when configured."""

from __future__ import annotations

import base64
import logging
import re
import uuid
from datetime import UTC

import pytest
from falcon import inspect

from storage.db import db, init_db
from storage.housekeeping import last_sweep, record_sweep
from tests.conftest import DATABASE_URL, build_client
from tests.harness import free_port


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


def test_health_reports_every_dependency_and_the_last_housekeeping_sweep(client):
    with db.connection_context():
        record_sweep()
        swept = last_sweep()

    result = client.simulate_get("/health")

    assert result.status_code == 200
    assert result.json == {
        "status": "ok", "postgres": "ok", "rabbitmq": "ok", "store": "ok",
        "housekeeping_last_sweep_at": swept.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }


@pytest.fixture
def postgres_gone(client):
    """The client, its database moved to a port nothing listens on until the test ends."""
    init_db(f"postgresql://postgres@127.0.0.1:{free_port('127.0.0.1')}/facetasks_gone")
    yield client
    init_db(DATABASE_URL, max_connections=16)


def test_an_unreachable_postgresql_is_a_503_database_unavailable(postgres_gone):
    result = postgres_gone.simulate_get("/api/v1/tasks")

    assert result.status_code == 503
    assert result.json == {
        "title": "Database unavailable", "description": "PostgreSQL is unreachable; try again shortly."
    }


def test_health_says_postgresql_is_unavailable_in_its_own_words(postgres_gone):
    result = postgres_gone.simulate_get("/health")

    assert result.status_code == 503
    assert result.json["postgres"] == "unavailable" and result.json["housekeeping_last_sweep_at"] is None
    assert re.fullmatch(r"Unreachable: postgres\. PostgreSQL: \S.*\.", result.json["description"])


@pytest.fixture
def guarded(clean_db, storage_dir, publisher):
    return build_client(storage_dir, publisher, ("alice", "wonder:land"))


def responders(app) -> list[tuple[str, str]]:
    """(method, path) of every responder ``falcon.inspect`` finds (not Falcon's own OPTIONS and 405
    ones), with each path's placeholders filled by a fresh UUID."""
    return [
        (method.method, re.sub(r"\{[^}]+\}", lambda _: str(uuid.uuid4()), route.path))
        for route in inspect.inspect_app(app).routes
        for method in route.methods if not method.internal
    ]


def protected(path: str) -> bool:
    return path == "/api/v1" or path.startswith("/api/v1/")


def test_every_api_route_falcon_knows_needs_credentials_and_opens_with_the_right_ones(guarded):
    api = [(method, path) for method, path in responders(guarded.app) if protected(path)]
    # Every route of the contract is among them (a new route is walked as soon as it exists).
    templates = {(m, re.sub(r"[0-9a-f-]{36}", "{id}", p)) for m, p in api}
    assert templates >= {
        ("GET", "/api/v1/tasks"), ("POST", "/api/v1/tasks"), ("GET", "/api/v1/tasks/{id}"),
        ("DELETE", "/api/v1/tasks/{id}"), ("POST", "/api/v1/tasks/{id}/start"), ("POST", "/api/v1/tasks/{id}/retry"),
        ("GET", "/api/v1/tasks/{id}/images"), ("POST", "/api/v1/tasks/{id}/images"),
        ("GET", "/api/v1/tasks/{id}/images/{id}/file"), ("GET", "/api/v1/tasks/{id}/faces.csv"),
    }
    for method, path in [*api, ("GET", "/api/v1/unknown"), ("GET", "/api/v1")]:
        for headers in ({}, _basic("alice", "wrong"), _basic("bob", "wonder:land"), {"Authorization": "Bearer x"}):
            result = guarded.simulate_request(method, path, headers=headers)
            assert result.status_code == 401, (method, path, headers)
            assert result.headers["WWW-Authenticate"] == 'Basic realm="facetasks", charset="UTF-8"'
            assert result.json == {"title": "Authentication required",
                                   "description": "Send valid HTTP Basic credentials (Authorization: Basic …)."}
        # The right credentials get past auth: what answers is the route itself (an unknown task).
        opened = guarded.simulate_request(method, path, headers=_basic("alice", "wonder:land"))
        assert opened.status_code != 401, (method, path)


def test_the_web_page_gets_no_basic_challenge_so_the_browser_shows_no_prompt(guarded):
    # The page marks its requests with X-Requested-With and shows a sign-in form of its own;
    # curl and the CLI (without the header) are still challenged.
    for headers in ({}, _basic("alice", "wrong"), {"Authorization": "Bearer ft_0_0"}):
        page = guarded.simulate_get("/api/v1/tasks", headers={**headers, "X-Requested-With": "XMLHttpRequest"})
        assert page.status_code == 401
        assert "WWW-Authenticate" not in page.headers
        assert page.json["title"] == "Authentication required"
        other = guarded.simulate_get("/api/v1/tasks", headers={**headers, "X-Requested-With": "something-else"})
        assert other.headers["WWW-Authenticate"] == 'Basic realm="facetasks", charset="UTF-8"'
    signed_in = guarded.simulate_get("/api/v1/tasks", headers={**_basic("alice", "wonder:land"),
                                                             "X-Requested-With": "XMLHttpRequest"})
    assert signed_in.status_code == 200


def test_the_routes_outside_the_api_need_no_credentials(guarded):
    others = [(method, path) for method, path in responders(guarded.app) if not protected(path)]

    assert {path for _, path in others} >= {"/health", "/metrics", "/", "/docs", "/openapi.json"}
    for method, path in others:
        assert guarded.simulate_request(method, path).status_code == 200, (method, path)



def test_health_probes_are_logged_at_debug_and_other_requests_at_info(client, caplog):
    caplog.set_level(logging.DEBUG, logger="api.requests")

    client.simulate_get("/health")
    client.simulate_get("/api/v1/tasks")

    levels = {record.getMessage().split()[1]: record.levelno for record in caplog.records
              if record.name == "api.requests"}
    assert levels == {"/health": logging.DEBUG, "/api/v1/tasks": logging.INFO}
