"""The whole service as ``make run`` starts it (``python -m service.run``), driven over HTTP."""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import requests

from bench.procs import children
from facetasks_client.api import Api
from service.processes import Child
from storage.statuses import FINAL
from tests.conftest import ROOT
from tests.harness import answers, free_port, wait_until


class ServiceProcess:
    """``python -m service.run`` in a session of its own, as a terminal runs a foreground job; or, with
    ``command``, another entry point that serves the API alone (no workers to wait for)."""

    def __init__(self, env: dict[str, str], log: Path, command: list[str] | None = None, cwd: Path = ROOT) -> None:
        self.port = free_port()
        self.env = {**env, "HOST": "127.0.0.1", "PORT": str(self.port)}
        self.log = log
        self.url = f"http://127.0.0.1:{self.port}"
        # The shared REST client without retries (a test sees every 503); its session serves the tests' own
        # requests too, so credentials set on ``http`` hold for both.
        self.api = Api(self.url, retries=0)
        self.http = self.api.http
        self.with_workers = command is None
        self.supervisor = Child("service", command or [sys.executable, "-m", "service.run"], self.env, log, cwd=cwd)

    @property
    def proc(self):  # type: ignore[no-untyped-def]
        return self.supervisor.process

    def start(self, timeout: float = 90) -> ServiceProcess:
        self.supervisor.start()
        try:
            wait_until(lambda: answers(f"{self.url}/health") and (self.worker_pids() or not self.with_workers),
                       timeout, "the service start", self.supervisor, poll_s=0.2)
            if self.with_workers:
                self.wait_for_workers()
        except BaseException:
            self.supervisor.stop(grace_s=30)
            raise
        return self

    def child_pid(self, module: str) -> int | None:
        """The supervisor's child running ``python -m <module>``."""
        for pid in children(self.proc.pid):
            try:
                if f"-m\0{module}\0".encode() in Path(f"/proc/{pid}/cmdline").read_bytes():
                    return pid
            except FileNotFoundError:
                continue
        return None

    def worker_pids(self) -> list[int]:
        """Dramatiq's worker processes (its first children; the housekeeping fork comes last)."""
        main = self.child_pid("dramatiq")
        return children(main)[: int(self.env.get("WORKER_PROCESSES", "1"))] if main else []

    def wait_for_workers(self, timeout: float = 60) -> None:
        """Until as many workers as configured said they are ready since the last (re)start."""
        wanted = int(self.env.get("WORKER_PROCESSES", "1"))
        wait_until(lambda: self.log.read_text().rsplit("starting workers", 1)[-1].count("ready for action") >= wanted,
                   timeout, "workers ready", self.supervisor)

    def interrupt(self) -> None:
        """Ctrl-C as a terminal sends it: SIGINT to the whole foreground process group."""
        os.killpg(self.proc.pid, signal.SIGINT)

    def stop(self) -> int:
        """SIGTERM, and the supervisor's exit code once it has stopped everything."""
        return self.supervisor.stop(grace_s=90)

    # The API, as a client uses it.
    def create_task(self, images: dict[str, bytes]) -> str:
        task_id = self.api.create_task(None)["id"]
        for name, data in images.items():
            self.api.upload_image(task_id, name, data)
        return task_id

    def start_task(self, task_id: str) -> requests.Response:
        return self.http.post(f"{self.url}/api/v1/tasks/{task_id}/start")

    def task(self, task_id: str) -> requests.Response:
        return self.http.get(f"{self.url}/api/v1/tasks/{task_id}")

    def wait_until_final(self, task_id: str, timeout: float = 60) -> dict[str, Any]:
        return wait_until(lambda: self.task(task_id).json(), timeout, f"task {task_id} to end", poll_s=0.1,
                          until=lambda body: body["status"] in FINAL)


def kill(pid: int) -> None:
    os.kill(pid, signal.SIGKILL)


@contextmanager
def serving(env: dict[str, str], folder: Path) -> Iterator[ServiceProcess]:
    """The service started with ``env`` (its log in ``folder``) for a test module; it must stop cleanly."""
    running = ServiceProcess(env, folder / "service.log").start()
    yield running
    assert running.stop() == 0
