"""``make compose-smoke``: the compose stack for real, where a Docker engine runs.

Builds the image and brings the stack up under a project of its own (``facetasks-smoke-<pid>``: its own
containers and volumes) from an env file of random passwords and free host ports, with ``docker compose``
(v2) or Debian's ``docker-compose`` (1.29), and checks what a user would:

1. every published port listens on 127.0.0.1, AMQP and PostgreSQL are not published;
2. the accounts: the console lets the admin in and refuses the application's user and ``guest``; the
   application's broker user has its vhost only; the PostgreSQL role owns the database and is no superuser;
   the superuser cannot log in over TCP; the worker runs the threads its detector calls for;
3. one task of the committed fixtures runs end to end (files byte-exact, the astronaut found, the coffee cup
   faceless);
4. the broker passwords are changed in the env file and ``up -d`` run again: healthy, the old passwords
   refused, the new ones accepted, a task runs;
5. the PostgreSQL password is changed with the commands of docs/docker-compose.md: healthy again, the old
   password refused, a task runs;

and tears everything down whatever happened. Nothing is pulled: when no Docker engine answers, no compose
is installed, or a base image is not present locally, it says so and exits 0 without running anything.

Base images other than the pinned defaults: ``PYTHON_IMAGE=… POSTGRES_IMAGE=… RABBITMQ_IMAGE=… make
compose-smoke``.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import requests

from tests.harness import free_port

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures"
BASE_IMAGES = ("PYTHON_IMAGE", "POSTGRES_IMAGE", "RABBITMQ_IMAGE")
# Seconds: building the image (dependencies from PyPI), a cold start, one task on the local detector.
BUILD_TIMEOUT_S = 1800
COMMAND_TIMEOUT_S = 600
HEALTHY_TIMEOUT_S = 300
TASK_TIMEOUT_S = 180
STARTED = time.monotonic()


class Skip(Exception):
    """The smoke test cannot run on this machine; the message says why."""


class SmokeFailure(AssertionError):
    """The stack did not do what docs/docker-compose.md says."""


def say(message: str) -> None:
    print(f"[compose-smoke {time.monotonic() - STARTED:6.1f} s] {message}", flush=True)


def check(condition: bool, message: str) -> None:
    if not condition:
        raise SmokeFailure(message)


def _run(command: list[str], timeout: float = COMMAND_TIMEOUT_S, **kwargs: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=timeout, check=False, **kwargs)


def compose_command() -> list[str]:
    """``docker compose`` (v2) if the engine's CLI has it, else Debian's ``docker-compose``; Skip if neither."""
    if shutil.which("docker") is None:
        raise Skip("no docker command on this machine")
    info = _run(["docker", "info", "--format", "{{.ServerVersion}}"], timeout=60)
    if info.returncode != 0:
        raise Skip(f"no Docker engine answers (docker info: {info.stderr.strip()[-300:]})")
    if _run(["docker", "compose", "version"], timeout=60).returncode == 0:
        return ["docker", "compose"]
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    raise Skip("neither `docker compose` nor `docker-compose` is installed")


def base_images() -> dict[str, str]:
    """The base images the stack would use: the environment's, else the defaults in docker-compose.yml."""
    text = (ROOT / "docker-compose.yml").read_text()
    images = {}
    for name in BASE_IMAGES:
        default = re.search(rf"\$\{{{name}:-([^}}]+)\}}", text)
        if default is None:
            raise SmokeFailure(f"docker-compose.yml has no default for {name}")
        images[name] = os.environ.get(name) or default.group(1)
    missing = [f"{name}={ref}" for name, ref in images.items()
               if _run(["docker", "image", "inspect", ref], timeout=60).returncode != 0]
    if missing:
        raise Skip(f"base images not present locally (nothing is pulled): {', '.join(missing)}")
    return images


def secret() -> str:
    """What ``make env`` writes (service/envfile.py)."""
    return secrets.token_urlsafe(24)


class Stack:
    """One compose project of this run, configured by an env file it rewrites between phases."""

    def __init__(self, compose: list[str], images: dict[str, str], workdir: Path) -> None:
        self.project = f"facetasks-smoke-{os.getpid()}"
        self.env_file = workdir / "smoke.env"
        self.compose = [*compose, "-p", self.project, "--env-file", str(self.env_file),
                        "-f", str(ROOT / "docker-compose.yml")]
        self.settings = {
            **images,
            "POSTGRES_PASSWORD": secret(),
            "FACETASKS_DB_PASSWORD": secret(),
            "RABBITMQ_PASSWORD": secret(),
            "RABBITMQ_ADMIN_USER": "admin",
            "RABBITMQ_ADMIN_PASSWORD": secret(),
            "FACETASKS_BIND": "127.0.0.1",
            "FACETASKS_HTTP_PORT": str(free_port()),
            "RABBITMQ_CONSOLE_PORT": str(free_port()),
            "RABBITMQ_METRICS_PORT": str(free_port()),
            "EMULATOR_PORT": str(free_port()),
            # Two cores are plenty for one small task.
            "WORKER_PROCESSES": "1",
        }
        self.write_env()

    @property
    def api(self) -> str:
        return f"http://127.0.0.1:{self.settings['FACETASKS_HTTP_PORT']}"

    @property
    def console(self) -> str:
        return f"http://127.0.0.1:{self.settings['RABBITMQ_CONSOLE_PORT']}"

    def write_env(self) -> None:
        self.env_file.write_text("".join(f"{name}={value}\n" for name, value in self.settings.items()))

    def run(self, *args: str, timeout: float = COMMAND_TIMEOUT_S, echo: bool = False,
            allowed_failure: bool = False) -> subprocess.CompletedProcess[str]:
        if echo:  # long steps (build, up) show their progress
            done = subprocess.run([*self.compose, *args], cwd=ROOT, text=True, timeout=timeout, check=False)
        else:
            done = _run([*self.compose, *args], timeout=timeout)
        check(allowed_failure or done.returncode == 0,
              f"compose {' '.join(args[:3])} exited {done.returncode}: {done.stderr or ''}")
        return done

    def up(self) -> None:
        self.run("up", "-d", timeout=COMMAND_TIMEOUT_S, echo=True)
        wait_for(lambda: _status(f"{self.api}/health") == 200, HEALTHY_TIMEOUT_S, "the API to be healthy")

    def containers(self) -> list[dict[str, Any]]:
        ids = _run(["docker", "ps", "-q", "--filter", f"label=com.docker.compose.project={self.project}"]).stdout
        if not ids.split():
            return []
        return json.loads(_run(["docker", "inspect", *ids.split()]).stdout)

    def psql(self, sql: str, user: str = "postgres", host: str | None = None,
             password: str | None = None) -> subprocess.CompletedProcess[str]:
        """psql in the postgres container: through its socket, or over TCP to ``host`` with ``password``."""
        args = ["exec", "-T"]
        if password is not None:
            args += ["-e", f"PGPASSWORD={password}"]
        args += ["postgres", "psql", "-v", "ON_ERROR_STOP=1", "-tA", "-U", user, "-d", "postgres"]
        if host:
            args += ["-h", host]
        return _run([*self.compose, *args], input=sql)

    def down(self) -> None:
        _run([*self.compose, "--profile", "facecloud-emulator", "down", "-v", "--remove-orphans"])


def _status(url: str, **kwargs: Any) -> int | None:
    try:
        return requests.get(url, timeout=5, **kwargs).status_code
    except requests.RequestException:
        return None


def wait_for(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        check(time.monotonic() < deadline, f"gave up waiting {timeout:.0f} s for {what}")
        time.sleep(1)


# ---------------------------------------------------------------------------------------------- the checks


def check_containers(stack: Stack, workers: int) -> None:
    """Up without a crash on the way (a restart would mean a boot that failed), ``workers`` worker containers."""
    containers = stack.containers()
    restarted = {c["Name"]: c["RestartCount"] for c in containers if c["RestartCount"]}
    check(restarted == {}, f"restarted on the way up: {restarted}")
    running = [c["Config"]["Labels"]["com.docker.compose.service"] for c in containers]
    check(running.count("worker") == workers, f"worker containers: {running.count('worker')}, not {workers}")


def check_bindings(stack: Stack) -> None:
    published = []
    for container in stack.containers():
        for target, bindings in (container["NetworkSettings"]["Ports"] or {}).items():
            for binding in bindings or []:
                published.append((container["Name"], target, binding["HostIp"], binding["HostPort"]))
    check(published != [], "no container publishes a port")
    check(all(host_ip == "127.0.0.1" for _, _, host_ip, _ in published), f"published beyond 127.0.0.1: {published}")
    targets = {target for _, target, _, _ in published}
    check(targets == {"8080/tcp", "15672/tcp", "15692/tcp"}, f"published: {sorted(targets)}")
    say(f"published, all on 127.0.0.1: {sorted(targets)}")


def check_accounts(stack: Stack) -> None:
    settings = stack.settings
    admin = (settings["RABBITMQ_ADMIN_USER"], settings["RABBITMQ_ADMIN_PASSWORD"])
    whoami = requests.get(f"{stack.console}/api/whoami", auth=admin, timeout=10)
    check(whoami.status_code == 200 and "administrator" in str(whoami.json().get("tags")),
          f"the console admin: {whoami.status_code} {whoami.text[:200]}")
    app = ("facetasks", settings["RABBITMQ_PASSWORD"])
    for refused in (app, ("guest", "guest")):
        status = _status(f"{stack.console}/api/whoami", auth=refused)
        check(status == 401, f"the console let {refused[0]} in: {status}")
    users = {user["name"]: user["tags"] for user in requests.get(f"{stack.console}/api/users", auth=admin,
                                                                  timeout=10).json()}
    check(set(users) == {"facetasks", admin[0]}, f"broker users: {users}")
    check(users["facetasks"] in ([], ""), f"the application's broker user has tags: {users['facetasks']}")
    permissions = requests.get(f"{stack.console}/api/users/facetasks/permissions", auth=admin, timeout=10).json()
    check([p["vhost"] for p in permissions] == ["facetasks"], f"the application's permissions: {permissions}")

    role = stack.psql("SELECT rolsuper, rolcreatedb, rolcreaterole FROM pg_roles WHERE rolname = 'facetasks';"
                      "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = 'facetasks';")
    check(role.returncode == 0 and role.stdout.split() == ["f|f|f", "facetasks"], f"the role: {role.stdout}")
    # Over the container network (the image trusts its own loopback), as remote workers would connect.
    superuser = stack.psql("SELECT 1;", host="postgres", password=settings["POSTGRES_PASSWORD"])
    check(superuser.returncode != 0 and "pg_hba.conf rejects" in superuser.stderr,
          f"the superuser over TCP: {superuser.returncode} {superuser.stderr}")
    app_role = stack.psql("SELECT current_user;", user="facetasks", host="postgres",
                          password=settings["FACETASKS_DB_PASSWORD"])
    check(app_role.stdout.strip() == "facetasks", f"the application role over TCP: {app_role.stderr}")

    cmdlines = stack.run("exec", "-T", "worker", "python", "-c",
                         "import pathlib; print('\\n'.join(p.read_text().replace('\\0', ' ') "
                         "for p in pathlib.Path('/proc').glob('[0-9]*/cmdline')))").stdout
    check("--threads=2" in cmdlines and "--processes=1" in cmdlines, f"the worker's command lines: {cmdlines}")
    say("accounts: console admin only; broker user on its vhost; database role owner, no superuser; "
        "superuser refused over TCP; worker threads 2 (local detector)")


def run_task(stack: Stack, name: str) -> dict[str, Any]:
    api = f"{stack.api}/api/v1"
    task = requests.post(f"{api}/tasks", json={"name": name}, timeout=10).json()
    uploads = {"astronaut.jpg": (FIXTURES / "astronaut.jpg").read_bytes(),
               "coffee.jpg": (FIXTURES / "no-face.jpg").read_bytes()}
    for image_name, data in uploads.items():
        added = requests.post(f"{api}/tasks/{task['id']}/images", params={"name": image_name}, data=data,
                              headers={"Content-Type": "image/jpeg"}, timeout=30)
        check(added.status_code == 201, f"upload {image_name}: {added.status_code} {added.text}")
    started = requests.post(f"{api}/tasks/{task['id']}/start", timeout=10)
    check(started.status_code == 202, f"start: {started.status_code} {started.text}")

    def finished() -> bool:
        status = requests.get(f"{api}/tasks/{task['id']}", params={"images": "false"}, timeout=10).json()["status"]
        return status in ("completed", "failed")

    wait_for(finished, TASK_TIMEOUT_S, f"task {name} to finish")
    final = requests.get(f"{api}/tasks/{task['id']}", timeout=30).json()
    check(final["status"] == "completed", f"task {name}: {final['status']} {final}")
    astronaut, coffee = final["images"]
    check(coffee["status"] == "done" and coffee["faces"] == [], f"the coffee cup: {coffee}")
    label = json.loads((FIXTURES / "labels.json").read_text())["astronaut.jpg"][0]
    x, y, w, h = label["bbox"]
    best = max(astronaut["faces"], key=lambda face: face["score"])
    box = best["bbox"]
    check(abs(box["x"] + box["width"] / 2 - (x + w / 2)) < w / 2
          and abs(box["y"] + box["height"] / 2 - (y + h / 2)) < h / 2
          and best["gender"] == "female" and type(best["age"]) is float, f"the astronaut: {astronaut}")
    for image in final["images"]:
        stored = requests.get(f"{api}/tasks/{task['id']}/images/{image['id']}/file", timeout=30).content
        check(stored == uploads[image["name"]], f"{image['name']} is not stored byte-exact")
    say(f"task {name}: completed, statistics {final['statistics']}")
    return final


def broker_accepts(stack: Stack, user: str, password: str) -> bool:
    done = stack.run("exec", "-T", "rabbitmq", "rabbitmqctl", "-q", "authenticate_user", user, password,
                     allowed_failure=True)
    return done.returncode == 0


def check_quiet_health_checks(stack: Stack) -> None:
    """The API logs requests at info, but not the health checks that passed (this script's and Docker's)."""
    logs = stack.run("logs", "--no-color", "api").stdout
    check("GET /api/v1/tasks" in logs, f"no request logged at all: {logs[-2000:]}")
    check("/health" not in logs, f"health checks logged at info: {logs[-2000:]}")
    say("the API's log has its requests and no health check")


def rotate_broker_passwords(stack: Stack) -> None:
    """Both broker passwords changed in the env file, and two worker containers asked for, then ``up -d``."""
    old_app = stack.settings["RABBITMQ_PASSWORD"]
    old_admin = (stack.settings["RABBITMQ_ADMIN_USER"], stack.settings["RABBITMQ_ADMIN_PASSWORD"])
    stack.settings["RABBITMQ_PASSWORD"] = secret()
    stack.settings["RABBITMQ_ADMIN_PASSWORD"] = secret()
    stack.settings["WORKER_REPLICAS"] = "2"
    stack.write_env()
    say("broker passwords changed and WORKER_REPLICAS=2 in the env file; up -d")
    stack.up()
    check_containers(stack, workers=2)
    check(_status(f"{stack.console}/api/whoami", auth=old_admin) == 401, "the old console password still works")
    new_admin = (old_admin[0], stack.settings["RABBITMQ_ADMIN_PASSWORD"])
    check(_status(f"{stack.console}/api/whoami", auth=new_admin) == 200, "the new console password is refused")
    check(not broker_accepts(stack, "facetasks", old_app), "the old application password still works")
    check(broker_accepts(stack, "facetasks", stack.settings["RABBITMQ_PASSWORD"]), "the new one is refused")


def rotate_postgres_password(stack: Stack) -> None:
    """docs/docker-compose.md, "Changing passwords": ALTER ROLE in the database, the new password in .env, ``up -d``."""
    new = secret()
    stack.run("exec", "-T", "postgres", "psql", "-U", "postgres", "-c", f"ALTER ROLE facetasks PASSWORD '{new}'")
    old = stack.settings["FACETASKS_DB_PASSWORD"]
    stack.settings["FACETASKS_DB_PASSWORD"] = new
    stack.write_env()
    say("PostgreSQL password changed with the commands of docs/docker-compose.md; up -d")
    stack.up()
    refused = stack.psql("SELECT 1;", user="facetasks", host="postgres", password=old)
    check(refused.returncode != 0 and "password authentication failed" in refused.stderr,
          f"the old PostgreSQL password: {refused.returncode} {refused.stderr}")


def smoke(compose: list[str], images: dict[str, str]) -> None:
    with tempfile.TemporaryDirectory(prefix="facetasks-smoke-") as workdir:
        stack = Stack(compose, images, Path(workdir))
        say(f"project {stack.project}, compose {' '.join(compose)}, base images {images}")
        try:
            stack.run("build", timeout=BUILD_TIMEOUT_S, echo=True)
            say("image built; up -d")
            stack.up()
            check_containers(stack, workers=1)
            check_bindings(stack)
            check_accounts(stack)
            first = run_task(stack, "first")
            check_quiet_health_checks(stack)
            rotate_broker_passwords(stack)
            check(run_task(stack, "after-broker-rotation")["statistics"] == first["statistics"],
                  "the statistics changed")
            rotate_postgres_password(stack)
            check_containers(stack, workers=2)  # kept by a plain `up -d`
            check(run_task(stack, "after-postgres-rotation")["statistics"] == first["statistics"],
                  "the statistics changed")
        except BaseException:
            logs = _run([*stack.compose, "logs", "--no-color", "--tail", "60"]).stdout
            print(logs, file=sys.stderr)
            raise
        finally:
            say("tearing down (containers and volumes; the image facetasks:local stays)")
            stack.down()


def main() -> int:
    try:
        compose = compose_command()
        images = base_images()
    except Skip as reason:
        say(f"skipped: {reason}")
        return 0
    try:
        smoke(compose, images)
    except SmokeFailure as failure:
        say(f"FAILED: {failure}")
        return 1
    say("passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
