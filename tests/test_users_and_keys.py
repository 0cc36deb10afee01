"""Users, API keys and task ownership, on two real API processes (waitress, PostgreSQL, RabbitMQ) that share
one database: who reaches which route, a member's limits, revocation seen by the other process at once, and
no key secret in the database or the log."""

from __future__ import annotations

import base64
import logging
import re
import subprocess
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import falcon.inspect
import pytest
import requests

from api.ratelimit import FailureLimit
from service.processes import Child
from service.run import api_command
from tests.conftest import DATABASE_URL, Workers, build_client, service_env
from tests.harness import free_port, wait_until
from tests.test_webhooks import ALLOW, ALLOWED, SECRET, Receiver, verify
from tools.emulator import Emulator
from tools.emulator_faces import make_jpeg

ROOT_PAIR = ("root", "bootstrap-pass-1")
JPEG = make_jpeg(32, 32)


def basic(name: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{name}:{password}".encode()).decode()}


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


class Api:
    """One API process (``python -m service.api_server``) and a way to call it."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log
        self.child = Child("api", api_command(), {**env, "HOST": "127.0.0.1", "PORT": str(self.port)}, log)
        self.http = requests.Session()

    def start(self) -> Api:
        self.child.start()
        wait_until(lambda: self._answers(), 60, "the API answers", self.child)
        return self

    def _answers(self) -> bool:
        try:
            return self.http.get(f"{self.url}/health", timeout=2).status_code == 200
        except requests.ConnectionError:
            return False

    def call(self, method: str, path: str, headers: dict[str, str] | None = None, **kwargs: Any) -> requests.Response:
        return self.http.request(method, f"{self.url}{path}", headers=headers or {}, timeout=30, **kwargs)

    def stop(self) -> None:
        self.child.stop(grace_s=30)


@pytest.fixture(scope="module")
def apis(database: None, vhost: str, storage_dir: Path, emulator: Emulator, tmp_path_factory) -> Iterator[list[Api]]:
    folder = tmp_path_factory.mktemp("apis")
    # debug-raw logs request and response bodies: the harshest test of "no secret in the log".
    # The matrix fails on purpose 38 times from one address: the limit is tested on its own below.
    env = service_env(storage_dir, emulator, API_USERNAME=ROOT_PAIR[0], API_PASSWORD=ROOT_PAIR[1],
                      LOG_LEVEL="debug-raw", AUTH_FAILURES_PER_MINUTE="1000")
    running = [Api(env, folder / f"api-{n}.log").start() for n in (1, 2)]
    yield running
    for api in running:
        api.stop()


@pytest.fixture
def api(apis: list[Api], clean_db: None) -> Api:
    return apis[0]


@dataclass
class Team:
    """The principals of the matrix, as the headers each sends."""

    api: Api
    keys: dict[str, dict[str, Any]]

    def headers(self, principal: str) -> dict[str, str]:
        return PRINCIPALS[principal](self)


def _key(api: Api, user: str, name: str = "laptop") -> dict[str, Any]:
    made = api.call("POST", "/api/v1/keys", basic(*ROOT_PAIR), json={"name": name, "user": user})
    assert made.status_code == 201, made.text
    return made.json()


@pytest.fixture
def team(api: Api) -> Team:
    for name, role in (("ada", "admin"), ("amy", "member"), ("ben", "member")):
        made = api.call("POST", "/api/v1/users", basic(*ROOT_PAIR), json={"name": name, "role": role})
        assert made.status_code == 201, made.text
    keys = {user: _key(api, user) for user in ("ada", "amy", "ben")}
    keys["revoked"] = _key(api, "amy", "old laptop")
    assert api.call("DELETE", f"/api/v1/keys/{keys['revoked']['id']}", basic(*ROOT_PAIR)).status_code == 204
    return Team(api, keys)


def _wrong_secret(team: Team) -> dict[str, str]:
    key = team.keys["amy"]["key"]
    return basic("amy", key[:-4] + ("0000" if not key.endswith("0000") else "1111"))


PRINCIPALS: dict[str, Callable[[Team], dict[str, str]]] = {
    "bootstrap admin": lambda team: basic(*ROOT_PAIR),
    "admin key": lambda team: bearer(team.keys["ada"]["key"]),
    "member A": lambda team: basic("amy", team.keys["amy"]["key"]),
    "member B": lambda team: bearer(team.keys["ben"]["key"]),
    "revoked key": lambda team: basic("amy", team.keys["revoked"]["key"]),
    "wrong secret": _wrong_secret,
    "no credentials": lambda team: {},
}
ADMINS = ("bootstrap admin", "admin key")


@dataclass
class Target:
    """What a route is called on: member A's task with one image, a throwaway user, a key of member A's."""

    task: str
    image: str
    user: str
    key: str


def _target(team: Team) -> Target:
    amy = PRINCIPALS["member A"](team)
    task = team.api.call("POST", "/api/v1/tasks", amy, json={"name": "amy's"}).json()["id"]
    image = team.api.call("POST", f"/api/v1/tasks/{task}/images", {**amy, "Content-Type": "image/jpeg"},
                          params={"name": "a.jpg"}, data=JPEG)
    assert image.status_code == 201, image.text
    user = f"tmp-{uuid.uuid4().hex[:8]}"
    assert team.api.call("POST", "/api/v1/users", basic(*ROOT_PAIR), json={"name": user, "role": "member"}).ok
    return Target(task, image.json()["id"], user, _key(team.api, "amy", "spare")["id"])


# Every route with a request that succeeds for whoever may use it: (method, path, request options, success).
def _requests(t: Target) -> dict[tuple[str, str], tuple[str, dict[str, Any], int]]:
    task = f"/api/v1/tasks/{t.task}"
    return {
        ("GET", "/api/v1/tasks"): ("/api/v1/tasks", {}, 200),
        ("POST", "/api/v1/tasks"): ("/api/v1/tasks", {"json": {"name": "n"}}, 201),
        ("GET", "/api/v1/tasks/{task_id}"): (task, {}, 200),
        ("DELETE", "/api/v1/tasks/{task_id}"): (task, {}, 204),
        ("POST", "/api/v1/tasks/{task_id}/start"): (f"{task}/start", {}, 202),
        ("POST", "/api/v1/tasks/{task_id}/retry"): (f"{task}/retry", {}, 409),  # forming: reached, wrong state
        ("GET", "/api/v1/tasks/{task_id}/images"): (f"{task}/images", {}, 200),
        ("POST", "/api/v1/tasks/{task_id}/images"): (
            f"{task}/images", {"params": {"name": "b.jpg"}, "data": JPEG, "content_type": "image/jpeg"}, 201),
        ("GET", "/api/v1/tasks/{task_id}/images/{image_id}/file"): (f"{task}/images/{t.image}/file", {}, 200),
        ("GET", "/api/v1/tasks/{task_id}/images/{image_id}/annotated"): (
            f"{task}/images/{t.image}/annotated", {}, 200),
        ("GET", "/api/v1/tasks/{task_id}/faces.csv"): (f"{task}/faces.csv", {}, 200),
        ("POST", "/api/v1/users"): (
            "/api/v1/users", {"json": {"name": f"new-{uuid.uuid4().hex[:8]}", "role": "member"}}, 201),
        ("GET", "/api/v1/users"): ("/api/v1/users", {}, 200),
        ("DELETE", "/api/v1/users/{name}"): (f"/api/v1/users/{t.user}", {}, 204),
        ("POST", "/api/v1/keys"): ("/api/v1/keys", {"json": {"name": "own"}}, 201),
        ("GET", "/api/v1/keys"): ("/api/v1/keys", {}, 200),
        ("DELETE", "/api/v1/keys/{key_id}"): (f"/api/v1/keys/{t.key}", {}, 204),
        ("GET", "/api/v1/me"): ("/api/v1/me", {}, 200),
    }


ADMIN_ROUTES = {("POST", "/api/v1/users"), ("GET", "/api/v1/users"), ("DELETE", "/api/v1/users/{name}")}
# Routes on member A's task or key: member B is told they do not exist.
A_S_THINGS = {route for route in _requests(Target("t", "i", "u", "k")) if "{task_id}" in route[1]} | {
    ("DELETE", "/api/v1/keys/{key_id}")}


def expected(principal: str, route: tuple[str, str], success: int) -> int:
    if principal in ("revoked key", "wrong secret", "no credentials"):
        return 401
    if principal in ADMINS or (principal == "member A" and route not in ADMIN_ROUTES):
        return success
    if route in ADMIN_ROUTES:
        return 403
    return 404 if route in A_S_THINGS else success


def api_routes(storage_dir: Path, publisher: Any) -> set[tuple[str, str]]:
    app = build_client(storage_dir, publisher).app
    return {
        (method.method, route.path.replace(":uuid", ""))
        for route in falcon.inspect.inspect_app(app).routes if route.path.startswith("/api/v1")
        for method in route.methods if method.internal is False
    }


def test_every_principal_gets_the_exact_status_on_every_api_route(team: Team, storage_dir: Path, publisher) -> None:
    routes = _requests(Target("t", "i", "u", "k"))
    assert set(routes) == api_routes(storage_dir, publisher)
    got, want = {}, {}
    for principal in PRINCIPALS:
        for route in routes:
            path, options, success = _requests(_target(team))[route]
            headers = team.headers(principal)
            if "content_type" in options:
                headers = {**headers, "Content-Type": options["content_type"]}
            options = {k: v for k, v in options.items() if k != "content_type"}
            response = team.api.call(route[0], path, headers, **options)
            got[principal, route] = response.status_code
            want[principal, route] = expected(principal, route, success)
    assert got == want


def test_a_member_sees_and_lists_only_their_own_tasks_and_admins_filter_by_owner(team: Team) -> None:
    api, amy, ben = team.api, team.headers("member A"), team.headers("member B")
    mine = api.call("POST", "/api/v1/tasks", amy, json={"name": "amy's"}).json()
    theirs = api.call("POST", "/api/v1/tasks", ben, json={"name": "ben's"}).json()
    root = api.call("POST", "/api/v1/tasks", basic(*ROOT_PAIR)).json()
    assert (mine["owner"], theirs["owner"], root["owner"]) == ("amy", "ben", "root")
    assert list(mine)[:3] == ["id", "name", "owner"]

    listed = api.call("GET", "/api/v1/tasks", amy).json()
    assert [t["id"] for t in listed["items"]] == [mine["id"]] and listed["total"] == 1
    assert api.call("GET", "/api/v1/tasks", amy, params={"owner": "ben"}).json()["items"] == []
    everyone = api.call("GET", "/api/v1/tasks", team.headers("admin key")).json()
    assert [t["owner"] for t in everyone["items"]] == ["root", "ben", "amy"]
    by_ben = api.call("GET", "/api/v1/tasks", basic(*ROOT_PAIR), params={"owner": "ben"}).json()
    assert [t["id"] for t in by_ben["items"]] == [theirs["id"]]
    assert api.call("GET", f"/api/v1/tasks/{theirs['id']}", amy).json() == {
        "title": "Task not found", "description": f"There is no task {theirs['id']}."}


def test_a_members_key_cannot_make_users_or_keys_for_others(team: Team) -> None:
    api, ben = team.api, team.headers("member B")
    refused = api.call("POST", "/api/v1/keys", ben, json={"name": "sneaky", "user": "amy"})
    assert refused.status_code == 403
    assert refused.json() == {"title": "Not yours", "description": "A member may create keys for themself only."}
    assert api.call("POST", "/api/v1/users", ben, json={"name": "mallory", "role": "admin"}).status_code == 403
    assert api.call("DELETE", f"/api/v1/keys/{team.keys['amy']['id']}", ben).status_code == 404
    own = api.call("GET", "/api/v1/keys", ben).json()["items"]
    assert [(k["id"], k["user"]) for k in own] == [(team.keys["ben"]["id"], "ben")]
    users = api.call("GET", "/api/v1/users", basic(*ROOT_PAIR)).json()["items"]
    assert [u["name"] for u in users] == ["root", "ada", "amy", "ben"]


def test_a_key_revoked_on_one_api_process_is_refused_by_the_other_at_once(apis: list[Api], team: Team) -> None:
    first, second = apis
    key = team.keys["amy"]
    me = second.call("GET", "/api/v1/me", bearer(key["key"]))
    assert me.json() == {"name": "amy", "role": "member", "key_id": key["id"]}
    assert first.call("DELETE", f"/api/v1/keys/{key['id']}", basic(*ROOT_PAIR)).status_code == 204
    assert second.call("GET", "/api/v1/me", bearer(key["key"])).status_code == 401
    assert second.call("GET", "/api/v1/me", basic("amy", key["key"])).status_code == 401


def test_removing_a_user_stops_their_keys_and_keeps_their_tasks_for_admins(apis: list[Api], team: Team) -> None:
    first, second = apis
    task = first.call("POST", "/api/v1/tasks", team.headers("member B"), json={"name": "kept"}).json()
    assert first.call("DELETE", "/api/v1/users/ben", team.headers("admin key")).status_code == 204
    assert second.call("GET", "/api/v1/tasks", team.headers("member B")).status_code == 401
    kept = second.call("GET", f"/api/v1/tasks/{task['id']}", basic(*ROOT_PAIR), params={"images": "false"}).json()
    assert (kept["name"], kept["owner"]) == ("kept", "ben")
    assert [k["user"] for k in first.call("GET", "/api/v1/keys", basic(*ROOT_PAIR)).json()["items"]] == ["ada", "amy"]


def test_no_key_secret_is_in_the_database_or_the_log(apis: list[Api], team: Team) -> None:
    secrets = [made["key"] for made in team.keys.values()]
    for api in apis:
        for key in secrets[:3]:
            api.call("GET", "/api/v1/me", bearer(key))
    dump = subprocess.run(["pg_dump", "--data-only", DATABASE_URL], capture_output=True, text=True, check=True,
                          timeout=60).stdout
    logs = "".join(api.log.read_text() for api in apis)
    assert "POST /api/v1/keys 201" in logs and "user=ada key=" + team.keys["ada"]["id"] in logs
    for key in secrets:
        secret = key.rsplit("_", 1)[1]
        assert secret not in dump and secret not in logs
        assert team.keys["ada"]["id"] in dump  # the search would have found the key by its id


def test_repeated_failed_authentication_from_one_address_gets_429_logged_once(
    storage_dir: Path, publisher: Any, clean_db: None, caplog: pytest.LogCaptureFixture
) -> None:
    client = build_client(storage_dir, publisher, ROOT_PAIR, auth_failures_per_minute=3)
    wrong = basic("root", "guess")
    # No credentials at all is no guess: it does not count.
    assert [client.simulate_get("/api/v1/me").status_code for _ in range(5)] == [401] * 5
    assert [client.simulate_get("/api/v1/me", headers=wrong).status_code for _ in range(3)] == [401] * 3
    with caplog.at_level(logging.WARNING, logger="api.ratelimit"):
        refused = [client.simulate_get("/api/v1/me", headers=h) for h in (wrong, basic(*ROOT_PAIR), wrong)]
    assert [r.status_code for r in refused] == [429, 429, 429]
    assert 55 <= int(refused[0].headers["Retry-After"]) <= 60
    assert refused[0].json["title"] == "Too many failed authentications"
    assert [r.getMessage() for r in caplog.records] == [
        "127.0.0.1: 3 failed authentications within 60 s; refused (429) until the window ends"]
    other = client.simulate_get("/api/v1/me", headers=basic(*ROOT_PAIR), remote_addr="10.0.0.7")
    assert other.status_code == 200 and other.json["name"] == "root"


def test_the_failure_limit_counts_exactly_across_threads_and_forgets_an_ended_window() -> None:
    now = [1000.0]
    limit = FailureLimit(400, window_s=60, clock=lambda: now[0])
    threads = [threading.Thread(target=lambda: [limit.failed("10.0.0.1") for _ in range(50)]) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert limit.retry_after("10.0.0.1") == 60  # exactly 400 counted: the limit is reached
    limit.failed("10.0.0.2")
    assert limit.retry_after("10.0.0.2") is None
    now[0] += 59.5
    assert limit.retry_after("10.0.0.1") == 1
    now[0] += 0.5
    assert limit.retry_after("10.0.0.1") is None


def test_an_api_without_pair_or_users_is_open_says_so_and_its_first_key_closes_it(
    database: None, vhost: str, storage_dir: Path, emulator: Emulator, tmp_path: Path, clean_db: None
) -> None:
    api = Api(service_env(storage_dir, emulator), tmp_path / "api.log").start()
    try:
        assert re.search(r"WARNING .*api.app -: the API is open: no API_USERNAME/API_PASSWORD", api.log.read_text())
        task = api.call("POST", "/api/v1/tasks", json={"name": "before"}).json()
        assert "owner" not in task
        made = api.call("POST", "/api/v1/keys", json={"name": "first"}).json()  # the bootstrap admin's own key
        # Its name: "admin" from the migration, or the last pair's (this module's other API processes had one).
        bootstrap = made["user"]
        assert bootstrap in ("admin", ROOT_PAIR[0])
        assert api.call("GET", "/api/v1/tasks").status_code == 401
        me = api.call("GET", "/api/v1/me", bearer(made["key"])).json()
        assert me == {"name": bootstrap, "role": "admin", "key_id": made["id"]}
        listed = api.call("GET", "/api/v1/tasks", basic(bootstrap, made["key"])).json()["items"]
        assert [(t["id"], t["owner"]) for t in listed] == [(task["id"], bootstrap)]
        # Revoking the only key locks the door rather than opening it again.
        assert api.call("DELETE", f"/api/v1/keys/{made['id']}", bearer(made["key"])).status_code == 204
        assert api.call("GET", "/api/v1/tasks").status_code == 401
    finally:
        api.stop()


@pytest.fixture(scope="module")
def paired_workers(database: None, vhost: str, storage_dir: Path, emulator: Emulator, tmp_path_factory):
    env = service_env(storage_dir, emulator, WEBHOOK_SECRET=SECRET, WEBHOOK_ALLOWED_HOSTS=ALLOW,
                      API_USERNAME=ROOT_PAIR[0], API_PASSWORD=ROOT_PAIR[1])
    with Workers(env, tmp_path_factory.mktemp("paired") / "workers.log", processes=1, threads=2) as running:
        yield running


def test_a_members_webhook_names_them_as_owner_like_the_summary_they_read(
    storage_dir: Path, publisher: Any, clean_db: None, paired_workers: Workers, fresh_emulator: Emulator
) -> None:
    client = build_client(storage_dir, publisher, ROOT_PAIR, webhook_hosts=ALLOWED)
    assert client.simulate_post("/api/v1/users", json={"name": "amy", "role": "member"},
                                headers=basic(*ROOT_PAIR)).status_code == 201
    key = client.simulate_post("/api/v1/keys", json={"name": "hooks", "user": "amy"}, headers=basic(*ROOT_PAIR))
    amy = bearer(key.json["key"])
    receiver = Receiver()
    try:
        created = client.simulate_post("/api/v1/tasks", json={"name": "hooked", "callback_url": receiver.url},
                                       headers=amy)
        task_id = created.json["id"]
        added = client.simulate_post(f"/api/v1/tasks/{task_id}/images", params={"name": "a.jpg"}, body=JPEG,
                                     headers={**amy, "Content-Type": "image/jpeg"})
        assert added.status_code == 201
        assert client.simulate_post(f"/api/v1/tasks/{task_id}/start", headers=amy).status_code == 202
        (request,) = receiver.wait_for(1)
    finally:
        receiver.server.shutdown()
    body = verify(request)
    summary = client.simulate_get(f"/api/v1/tasks/{task_id}", params={"images": "false"}, headers=amy).json
    assert body["owner"] == summary["owner"] == "amy"
    assert list(body)[:3] == ["id", "name", "owner"]
    assert {k: v for k, v in body.items() if k != "webhook"} == {k: v for k, v in summary.items() if k != "webhook"}
