"""The whole service as ``make run`` starts it (``python -m service.run``), driven over HTTP."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import requests

from tests.conftest import ROOT, free_port

FINAL = ("completed", "failed")


def children(pid: int) -> list[int]:
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except FileNotFoundError:
        return []


class ServiceProcess:
    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.port = free_port()
        self.env = {**env, "HOST": "127.0.0.1", "PORT": str(self.port)}
        self.log = log
        self.url = f"http://127.0.0.1:{self.port}"
        self.http = requests.Session()
        self.proc: subprocess.Popen | None = None

    def start(self, timeout: float = 90) -> ServiceProcess:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "service.run"], env=self.env, cwd=ROOT,
            stdout=self.log.open("ab"), stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + timeout
        while not (self._healthy() and self.worker_pids()):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the service did not start:\n{self.log.read_text()[-5000:]}")
            time.sleep(0.2)
        self.wait_for_workers()
        return self

    def _healthy(self) -> bool:
        try:
            return self.http.get(f"{self.url}/health", timeout=2).status_code == 200
        except requests.RequestException:
            return False

    def dramatiq_pid(self) -> int | None:
        for pid in children(self.proc.pid):
            if b"dramatiq" in Path(f"/proc/{pid}/cmdline").read_bytes():
                return pid
        return None

    def worker_pids(self) -> list[int]:
        """Dramatiq's worker processes (its first children; the housekeeping fork comes last)."""
        main = self.dramatiq_pid()
        return children(main)[: int(self.env.get("WORKER_PROCESSES", "1"))] if main else []

    def wait_for_workers(self, timeout: float = 60) -> None:
        """Until as many workers as configured said they are ready since the last (re)start."""
        deadline = time.monotonic() + timeout
        wanted = int(self.env.get("WORKER_PROCESSES", "1"))
        while self.log.read_text().rsplit("starting workers", 1)[-1].count("ready for action") < wanted:
            if time.monotonic() > deadline:
                raise RuntimeError(f"workers did not come up:\n{self.log.read_text()[-5000:]}")
            time.sleep(0.1)

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=60)

    # The API, as a client uses it.
    def create_task(self, images: dict[str, bytes]) -> str:
        task_id = self.http.post(f"{self.url}/api/v1/tasks", json={}).json()["id"]
        for name, data in images.items():
            response = self.http.post(f"{self.url}/api/v1/tasks/{task_id}/images", files={"file": (name, data)})
            assert response.status_code == 201, response.text
        return task_id

    def start_task(self, task_id: str) -> requests.Response:
        return self.http.post(f"{self.url}/api/v1/tasks/{task_id}/start")

    def task(self, task_id: str) -> requests.Response:
        return self.http.get(f"{self.url}/api/v1/tasks/{task_id}")

    def wait_until_final(self, task_id: str, timeout: float = 60) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            body = self.task(task_id).json()
            if body["status"] in FINAL or time.monotonic() > deadline:
                return body
            time.sleep(0.1)


def kill(pid: int) -> None:
    os.kill(pid, signal.SIGKILL)
