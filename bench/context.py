"""What every scenario is handed: the sizes, the running stack and the meters."""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.client import ApiClient
from bench.config import Sizes
from bench.meter import CpuMeter
from bench.stack import ServiceStack
from storage.db import db
from tests.harness import Children
from tests.testbed import EmulatorProcess, Resources


@dataclass
class Context:
    sizes: Sizes
    children: Children
    resources: Resources
    emulator: EmulatorProcess
    stack: ServiceStack
    client: ApiClient
    workdir: Path
    storage_dir: Path
    # The root pid of whatever plays "the workers" now (the service's or a ceiling's Dramatiq).
    worker_root: int | None = None
    meter: CpuMeter = field(default_factory=CpuMeter)

    def __post_init__(self) -> None:
        self.meter = CpuMeter(
            {
                "api": lambda: [self.stack.api.pid] if self.stack.api else [],
                "workers": lambda: [self.worker_root] if self.worker_root else [],
                "emulator": lambda: [self.emulator.child.pid] if self.emulator.child else [],
                "harness": lambda: [os.getpid()],
            },
            database=self.resources.name,
        )

    def start_workers(self, processes: int, threads: int, **env: str) -> Any:
        workers = self.stack.start_workers(processes, threads, **env)
        self.worker_root = workers.child.pid
        return workers

    def stop_workers(self) -> None:
        self.stack.stop_workers()
        self.worker_root = None


def run_span(task_ids: Sequence[str]) -> float:
    """Seconds from the first task's start to the last one's end, from the database's own clock."""
    with db.connection_context():
        cursor = db.execute_sql(
            "SELECT extract(epoch FROM max(finished_at) - min(started_at)) FROM tasks WHERE id = ANY(%s::uuid[])",
            (list(task_ids),),
        )
        return float(cursor.fetchone()[0])


class Stopwatch:
    def __init__(self) -> None:
        self.started = time.perf_counter()

    def seconds(self) -> float:
        return time.perf_counter() - self.started
