"""The OpenAPI document stays true: it is a valid OpenAPI 3.1 document, it lists exactly the routes and
methods the app has, and real responses (and the requests that produced them) validate against it."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import falcon.inspect
import falcon.testing
import pytest
from openapi_core import OpenAPI
from openapi_core.testing import MockRequest, MockResponse
from openapi_spec_validator import validate

from actors.broker import make_broker
from actors.messages import Publisher
from api.openapi import document
from api.web import STATIC_DIR, SWAGGER_PREFIX, swagger_ui_dir
from tests.conftest import MAX_IMAGE_BYTES, build_client
from tests.helpers import multipart, wait_until_final
from tests.test_archives import zip_of
from tools.emulator_faces import face, make_jpeg

SPEC = document()
OPENAPI = OpenAPI.from_dict(SPEC)
METHODS = {"get", "put", "post", "delete", "patch", "head", "options", "trace"}
# Static files are not API operations: a prefix serves a folder, each file as itself.
STATIC_ROUTES = {"/static/": STATIC_DIR, f"{SWAGGER_PREFIX}/": swagger_ui_dir()}
CREDENTIALS = ("alice", "wonderland")
UNREACHABLE_BROKER = "amqp://guest:guest@127.0.0.1:1/%2F"
# (path template, method, status) of every response validated in this module.


def documented() -> set[tuple[str, str]]:
    return {(path, method.upper()) for path, item in SPEC["paths"].items() for method in item if method in METHODS}


def template(path: str) -> str:
    """The documented path template that ``path`` falls under."""
    for candidate in SPEC["paths"]:
        if re.fullmatch(re.sub(r"\{[^/]+\}", "[^/]+", candidate), path):
            return candidate
    raise AssertionError(f"{path} is not documented")


class Checked:
    """Sends requests through a TestClient and validates each response against the document; the
    request too when it is a valid one."""

    def __init__(self, client: falcon.testing.TestClient, seen: set[tuple[str, str, int]]) -> None:
        self.client = client
        self.seen = seen

    def __call__(self, method: str, path: str, expect: int, *, body: bytes | None = None,
                 content_type: str | None = None, params: dict[str, Any] | None = None,
                 headers: dict[str, str] | None = None, valid_request: bool = True) -> falcon.testing.Result:
        headers = dict(headers or {})
        if content_type:
            headers["Content-Type"] = content_type
        result = self.client.simulate_request(method, path, body=body, params=params, headers=headers)
        assert result.status_code == expect, result.text
        request = MockRequest("http://localhost", method, path, args=params, headers=headers,
                              data=body, content_type=content_type)
        if valid_request:
            OPENAPI.validate_request(request)
        response = MockResponse(result.content, result.status_code, headers=dict(result.headers),
                                content_type=result.headers.get("Content-Type"))
        OPENAPI.validate_response(request, response)
        self.seen.add((template(path), method, expect))
        return result

    def json(self, method: str, path: str, expect: int, value: Any = None, **kwargs: Any) -> Any:
        body = None if value is None else json.dumps(value).encode()
        result = self(method, path, expect, body=body, content_type="application/json" if body else None, **kwargs)
        return result.json


@pytest.fixture(scope="module")
def seen(request: pytest.FixtureRequest) -> Iterator[set[tuple[str, str, int]]]:
    """The (path, method, status) each test checked. Once every test of this module has run, every
    documented operation must be among them: an operation added to the document needs a response checked
    here. A selection of the module's tests (``-k``) proves nothing either way, so it is not judged."""
    exercised: set[tuple[str, str, int]] = set()
    yield exercised
    selected = {item.name for item in request.session.items if item.module is request.module}
    defined = {name for name in vars(request.module) if name.startswith("test_")}
    if selected == defined and not request.session.testsfailed:
        assert documented() - {(path, method) for path, method, _ in exercised} == set()


@pytest.fixture
def checked(client: falcon.testing.TestClient, seen: set[tuple[str, str, int]]) -> Checked:
    return Checked(client, seen)


def test_the_document_is_valid_openapi_3_1() -> None:
    validate(SPEC)
    assert SPEC["openapi"].startswith("3.1")


def test_every_route_of_the_app_is_documented_and_nothing_else(client: falcon.testing.TestClient) -> None:
    info = falcon.inspect.inspect_app(client.app)
    routes = {
        (re.sub(r"\{(\w+)(:[^}]*)?\}", r"{\1}", route.path), method.method)
        for route in info.routes
        for method in route.methods
        if not method.internal  # Falcon's own OPTIONS and 405 responders
    }
    assert routes == documented()
    assert {route.prefix: Path(route.directory) for route in info.static_routes} == STATIC_ROUTES
    assert not info.sinks


def test_the_pages_and_the_document_need_no_credentials(
    storage_dir: Path, publisher: Publisher, clean_db: None, seen: set[tuple[str, str, int]]
) -> None:
    checked = Checked(build_client(storage_dir, publisher, CREDENTIALS), seen)
    assert checked("GET", "/openapi.json", 200).json == SPEC
    assert "<title>facetasks</title>" in checked("GET", "/", 200).text
    assert "/docs/assets/swagger-ui-bundle.js" in checked("GET", "/docs", 200).text
    for asset in ("/static/js/main.js", "/docs/assets/swagger-ui-bundle.js", "/docs/assets/swagger-ui.css"):
        assert checked.client.simulate_get(asset).status_code == 200, asset
    checked("GET", "/api/v1/tasks", 401)
    checked("GET", "/api/v1/tasks/00000000-0000-0000-0000-000000000000", 401)
    auth = {"Authorization": "Basic YWxpY2U6d29uZGVybGFuZA=="}
    checked("GET", "/api/v1/tasks", 200, headers=auth)


def test_task_lifecycle_responses_match(checked: Checked, workers: Any, fresh_emulator: Any) -> None:
    task = checked.json("POST", "/api/v1/tasks", 201, {"name": "wedding"})
    checked.json("POST", "/api/v1/tasks", 201)
    images = f"/api/v1/tasks/{task['id']}/images"
    faces = [face(10, 12, 30, 30, "female", 28), face(-4, 30, 20, 24, "male", 41.5), face(40, 2, 8, 8, None, 30)]
    body, content_type = multipart({"file": ("team.jpg", make_jpeg(64, 64, faces=faces)), "name": "team photo"})
    team = checked("POST", images, 201, body=body, content_type=content_type).json
    checked("POST", images, 201, body=make_jpeg(48, 32, faces=[]), content_type="image/jpeg",
            params={"name": "empty-room.jpg"})
    checked("GET", f"/api/v1/tasks/{task['id']}", 200)
    other = checked.json("POST", "/api/v1/tasks", 201)
    archive = checked("POST", f"/api/v1/tasks/{other['id']}/images", 201, body=zip_of({"a/b.jpg": make_jpeg(),
                      "c.txt": b"text"}), content_type="application/zip").json
    assert [i["name"] for i in archive["items"]] == ["a/b.jpg"] and archive["rejected"][0]["name"] == "c.txt"
    checked("POST", f"/api/v1/tasks/{task['id']}/retry", 409)
    checked("POST", f"/api/v1/tasks/{task['id']}/start", 202)
    checked("POST", images, 409, body=make_jpeg(), content_type="image/jpeg", params={"name": "late.jpg"})
    final = wait_until_final(checked.client, task["id"])
    assert final["status"] == "completed"
    read = checked("GET", f"/api/v1/tasks/{task['id']}", 200).json
    assert [len(i["faces"]) for i in read["images"]] == [3, 0]
    summary = checked("GET", f"/api/v1/tasks/{task['id']}", 200, params={"images": "false"})
    checked("GET", f"/api/v1/tasks/{task['id']}", 304, params={"images": "false"},
            headers={"If-None-Match": summary.headers["ETag"]})
    page = checked("GET", images, 200, params={"status": "done", "page": "1", "page_size": "1"})
    assert page.json["items"] == read["images"][:1]
    checked("GET", images, 304, headers={"If-None-Match": page.headers["ETag"]})
    checked("GET", f"/api/v1/tasks/{task['id']}/faces.csv", 200)
    checked("GET", f"{images}/{team['id']}/file", 200)
    checked("GET", f"{images}/{team['id']}/annotated", 200)
    checked("GET", "/api/v1/tasks", 200, params={"status": "completed", "page": "1", "page_size": "1"})
    checked("GET", "/api/v1/tasks", 200, params={"page": "99"})
    checked("DELETE", f"/api/v1/tasks/{task['id']}", 204)
    checked("GET", f"/api/v1/tasks/{task['id']}", 404)


def test_error_responses_match(checked: Checked) -> None:
    unknown = "/api/v1/tasks/6f1c2b0e-0000-4000-8000-000000000000"
    checked("GET", unknown, 404)
    checked("DELETE", unknown, 404)
    checked("POST", f"{unknown}/start", 404)
    checked("POST", f"{unknown}/retry", 404)
    checked("POST", f"{unknown}/images", 404, body=make_jpeg(), content_type="image/jpeg", params={"name": "a.jpg"})
    checked("GET", f"{unknown}/images/6f1c2b0e-0000-4000-8000-000000000001/file", 404)
    checked("GET", f"{unknown}/images/6f1c2b0e-0000-4000-8000-000000000001/annotated", 404)
    checked("GET", "/api/v1/tasks", 400, params={"page_size": "0"}, valid_request=False)
    checked("GET", f"{unknown}/images", 404)
    checked("GET", f"{unknown}/faces.csv", 404)
    checked("POST", "/api/v1/tasks", 400, body=b"{not json", content_type="application/json", valid_request=False)

    task = checked.json("POST", "/api/v1/tasks", 201)
    images = f"/api/v1/tasks/{task['id']}/images"
    checked("POST", f"/api/v1/tasks/{task['id']}/start", 409)
    checked("GET", images, 400, params={"page_size": "1001"}, valid_request=False)
    checked("GET", f"/api/v1/tasks/{task['id']}", 400, params={"images": "maybe"}, valid_request=False)
    checked("POST", images, 400, body=make_jpeg(), content_type="image/jpeg", valid_request=False)
    checked("POST", images, 413, body=make_jpeg() + b"\0" * MAX_IMAGE_BYTES, content_type="image/jpeg",
            params={"name": "big.jpg"})
    checked("POST", images, 415, body=b"\x89PNG\r\n\x1a\n" + b"\0" * 64, content_type="image/jpeg",
            params={"name": "a.png"})
    checked("POST", images, 422, body=make_jpeg(64, 64)[:200], content_type="image/jpeg", params={"name": "cut.jpg"})


def test_service_responses_match(checked: Checked, storage_dir: Path, seen: set[tuple[str, str, int]]) -> None:
    checked("GET", "/health", 200)
    checked("GET", "/metrics", 200)
    checked("GET", "/", 200)
    checked("GET", "/docs", 200)
    down = Checked(build_client(storage_dir, Publisher(make_broker(UNREACHABLE_BROKER))), seen)
    down("GET", "/health", 503)
    task = down.json("POST", "/api/v1/tasks", 201)
    down("POST", f"/api/v1/tasks/{task['id']}/start", 503)


def test_users_keys_and_owned_tasks_responses_match(
    storage_dir: Path, publisher: Publisher, clean_db: None, seen: set[tuple[str, str, int]]
) -> None:
    checked = Checked(build_client(storage_dir, publisher, CREDENTIALS, auth_failures_per_minute=10), seen)
    admin = {"Authorization": "Basic YWxpY2U6d29uZGVybGFuZA=="}
    checked.json("POST", "/api/v1/users", 201, {"name": "bob", "role": "member"}, headers=admin)
    checked.json("POST", "/api/v1/users", 409, {"name": "bob", "role": "member"}, headers=admin)
    checked.json("POST", "/api/v1/users", 400, {"name": "b:ob", "role": "member"}, headers=admin, valid_request=False)
    assert [u["name"] for u in checked.json("GET", "/api/v1/users", 200, headers=admin)["items"]] == ["alice", "bob"]
    created = checked.json("POST", "/api/v1/keys", 201, {"name": "laptop", "user": "bob"}, headers=admin)
    bob = {"Authorization": f"Bearer {created['key']}"}
    assert checked.json("GET", "/api/v1/me", 200, headers=bob) == {"name": "bob", "role": "member",
                                                                    "key_id": created["id"]}
    checked.json("GET", "/api/v1/users", 403, headers=bob)
    checked.json("POST", "/api/v1/keys", 403, {"name": "theirs", "user": "alice"}, headers=bob)
    task = checked.json("POST", "/api/v1/tasks", 201, {"name": "mine"}, headers=bob)
    assert task["owner"] == "bob"
    assert checked.json("GET", "/api/v1/tasks", 200, params={"owner": "bob"}, headers=admin)["total"] == 1
    assert [k["id"] for k in checked.json("GET", "/api/v1/keys", 200, headers=bob)["items"]] == [created["id"]]
    checked("DELETE", f"/api/v1/keys/{created['id']}", 204, headers=bob)
    checked("DELETE", f"/api/v1/keys/{created['id']}", 404, headers=admin)
    checked("DELETE", "/api/v1/users/bob", 204, headers=admin)
    checked("DELETE", "/api/v1/users/bob", 404, headers=admin)
    checked("DELETE", "/api/v1/users/alice", 409, headers=admin)
    for _ in range(10):
        checked("GET", "/api/v1/me", 401, headers=bob)
    assert int(checked("GET", "/api/v1/me", 429, headers=bob).headers["Retry-After"]) >= 1
