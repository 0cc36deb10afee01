"""The benchmark's service: the API and the workers as subprocesses, on the database, vhost and FaceCloud
emulator of ``tests.testbed``.

Every child is started by ``service.processes`` (the helper ``make run`` and the tests use): in a
session of its own, so Ctrl-C reaches the harness only, which then stops them in order, and with a
parent-death signal, so a harness killed with SIGKILL takes its children along. The API and the
workers run the very commands ``make run`` runs (``service.run``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from bench import procs
from service.processes import Child
from service.run import api_command, worker_command
from tests.harness import Children, answers, wait_until
from tests.testbed import Resources, service_env

BENCH_NAME = "facetasks_bench"
ROOT = Path(__file__).resolve().parent.parent
# Seconds a stopped child gets before it is killed (the harness's own grace, not the service's).
STOP_GRACE_S = 30.0
READY_ATTEMPT_S = 90.0


@dataclass
class Workers:
    child: Child
    processes: int
    threads: int

    def worker_pids(self) -> list[int]:
        """The Dramatiq worker processes (the main process's first children; forks come after)."""
        return procs.children(self.child.pid)[: self.processes]


class ServiceStack:
    """The API and the workers of the service, configured for the benchmark's database and vhost."""

    def __init__(
        self, children: Children, resources: Resources, storage_dir: Path, emulator_url: str, port: int
    ) -> None:
        self.children = children
        self.resources = resources
        self.storage_dir = storage_dir
        self.emulator_url = emulator_url
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.api: Child | None = None
        self.workers: Workers | None = None

    def env(self, **extra: str) -> dict[str, str]:
        """The service's environment (tests.testbed.service_env) on the benchmark's database, vhost and port."""
        return service_env(self.resources, self.storage_dir, self.emulator_url,
                           **{"HOST": "127.0.0.1", "PORT": str(self.port), **extra})

    def start_api(self, **extra: str) -> None:
        env = self.env(**extra)
        self.api = self.children.start("api", api_command(), env)
        wait_until(lambda: answers(f"{self.url}/health"), READY_ATTEMPT_S, "API start", self.api)

    def restart_api(self, **extra: str) -> None:
        """The API again, with ``extra`` settings (another image store)."""
        if self.api is not None:
            self.children.stop(self.api, STOP_GRACE_S)
        self.start_api(**extra)

    def start_workers(self, processes: int, threads: int, **extra: str) -> Workers:
        self.stop_workers()
        env = self.env(WORKER_PROCESSES=str(processes), WORKER_THREADS=str(threads), **extra)
        child = self.children.start("workers", worker_command(), env)
        wait_until(
            lambda: child.tail(10**7).count("Worker process is ready for action") >= processes,
            READY_ATTEMPT_S, "workers start", child,
        )
        self.workers = Workers(child, processes, threads)
        return self.workers

    def stop_workers(self) -> None:
        if self.workers is not None:
            self.children.stop(self.workers.child, STOP_GRACE_S)
            self.workers = None
