"""``make compose-smoke``: the compose stack for real, where a Docker engine can run it.

Brings the stack up on its own project name with random passwords, runs one task of the committed
fixtures end to end through the published API, changes the broker's application password, brings the
stack up again and runs a task again, then tears everything down (volumes included). Without a Docker
engine, its compose plugin or the pinned base images (no registry is reachable from some machines) it
says which is missing and exits 0: a skip, not a pass.
"""

from __future__ import annotations

import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
PROJECT = "facetasks-smoke"
FIXTURES = ROOT / "tests" / "fixtures"


def _run(*args: str, check: bool = True, timeout: float = 900) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=timeout, check=check)


def _base_images() -> list[str]:
    compose = (ROOT / "docker-compose.yml").read_text()
    dockerfile = (ROOT / "Dockerfile").read_text()
    images = re.findall(r"^\s+image: ((?:postgres|rabbitmq)\S+)$", compose, re.MULTILINE)
    images += re.findall(r"^ARG PYTHON_IMAGE=(\S+)$", dockerfile, re.MULTILINE)
    return images


def _why_not() -> str | None:
    if shutil.which("docker") is None:
        return "no docker CLI"
    if _run("docker", "info", check=False, timeout=30).returncode != 0:
        return "no Docker engine answers (docker info failed)"
    if _run("docker", "compose", "version", check=False, timeout=30).returncode != 0:
        return "the docker compose plugin is missing"
    missing = [i for i in _base_images() if _run("docker", "image", "inspect", i, check=False).returncode != 0]
    if missing:
        return f"base images not present locally and no registry to pull them from: {', '.join(missing)}"
    return None


def _compose(env_file: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return _run("docker", "compose", "-p", PROJECT, "--env-file", str(env_file), *args)


def _one_task(url: str) -> dict:
    api = f"{url}/api/v1"
    task = requests.post(f"{api}/tasks", json={"name": "smoke"}, timeout=30).json()
    for name in ("astronaut.jpg", "no-face.jpg"):
        files = {"file": (name, (FIXTURES / name).read_bytes(), "image/jpeg")}
        requests.post(f"{api}/tasks/{task['id']}/images", files=files, timeout=60).raise_for_status()
    requests.post(f"{api}/tasks/{task['id']}/start", timeout=30).raise_for_status()
    deadline = time.monotonic() + 300
    while True:
        summary = requests.get(f"{api}/tasks/{task['id']}", params={"images": "false"}, timeout=30).json()
        if summary["status"] in ("completed", "failed"):
            return summary
        if time.monotonic() > deadline:
            raise SystemExit(f"the task did not end: {summary}")
        time.sleep(1)


def main() -> int:
    reason = _why_not()
    if reason:
        print(f"compose-smoke skipped: {reason}")
        return 0
    with tempfile.TemporaryDirectory() as workdir:
        env_file = Path(workdir) / ".env"
        port = 18080
        passwords = {name: secrets.token_urlsafe(24) for name in
                     ("POSTGRES_PASSWORD", "FACETASKS_DB_PASSWORD", "RABBITMQ_PASSWORD", "RABBITMQ_ADMIN_PASSWORD")}
        settings = {**passwords, "FACETASKS_HTTP_PORT": str(port), "RABBITMQ_CONSOLE_PORT": "25672",
                    "RABBITMQ_METRICS_PORT": "25692"}
        env_file.write_text("".join(f"{k}={v}\n" for k, v in settings.items()))
        try:
            _compose(env_file, "up", "-d", "--build", "--wait")
            first = _one_task(f"http://127.0.0.1:{port}")
            assert first["status"] == "completed" and first["statistics"]["total_faces"] >= 1, first
            settings["RABBITMQ_PASSWORD"] = secrets.token_urlsafe(24)
            env_file.write_text("".join(f"{k}={v}\n" for k, v in settings.items()))
            _compose(env_file, "up", "-d", "--wait")
            second = _one_task(f"http://127.0.0.1:{port}")
            assert second["status"] == "completed", second
            print("compose-smoke passed: a task completed before and after the broker password changed")
        except subprocess.CalledProcessError as error:
            print(error.stdout[-3000:], error.stderr[-3000:], file=sys.stderr)
            raise
        finally:
            _compose(env_file, "down", "-v", "--remove-orphans")
    return 0


if __name__ == "__main__":
    sys.exit(main())
