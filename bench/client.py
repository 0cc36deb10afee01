"""The service's REST API as the benchmark drives it: create, upload, start, wait for the end.

The calls go through the command line's client (facetasks_client.api), whose retries (a 503 while a
dependency restarts: the machine is shared) are counted here and reported beside the figures, never hidden.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import requests

from facetasks_client.api import Api

FINAL = ("completed", "failed")
POLL_INTERVAL_S = 0.2


@dataclass(frozen=True)
class Uploads:
    images: int
    seconds: float
    latencies_ms: list[float]

    @property
    def per_second(self) -> float:
        return self.images / self.seconds if self.seconds else 0.0


class ApiClient:
    def __init__(self, base_url: str, threads: int) -> None:
        """``threads``: the most that call at once, each keeping a connection of its own."""
        self.retries = 0
        self._lock = threading.Lock()
        self.api = Api(base_url, on_retry=self._count, connections=threads)

    def _count(self, _said: str) -> None:
        with self._lock:
            self.retries += 1

    @property
    def http(self) -> requests.Session:
        """The session, for the calls the client has no method for (its retries counted all the same)."""
        return self.api.http

    def create_task(self, name: str | None = None) -> str:
        return self.api.create_task(name)["id"]

    def upload(self, task_id: str, name: str, data: bytes) -> float:
        """Upload one image (multipart); returns the request's latency in ms."""
        started = time.perf_counter()
        self.api.upload_image(task_id, name, data)
        return (time.perf_counter() - started) * 1000

    def upload_many(self, task_ids: Sequence[str], images: Sequence[bytes], per_task: int, threads: int) -> Uploads:
        """``per_task`` images into each task, cycling through ``images``, from ``threads`` threads."""
        jobs = [(t, i) for t in task_ids for i in range(per_task)]
        started = time.perf_counter()
        pool = ThreadPoolExecutor(threads)
        try:
            latencies = list(pool.map(lambda job: self.upload(job[0], f"img-{job[1]:05d}.jpg",
                                                              images[job[1] % len(images)]), jobs))
        finally:
            pool.shutdown(cancel_futures=True)  # on Ctrl-C, do not send what is left
        return Uploads(len(jobs), time.perf_counter() - started, latencies)

    def start(self, task_id: str) -> None:
        self.api.start(task_id)

    def summaries(self, task_ids: Sequence[str]) -> dict[str, dict]:
        """Task summaries (no images) of ``task_ids``, from the list route: one light request."""
        wanted, found = set(task_ids), {}
        for item in self.api.tasks(None):
            if item["id"] in wanted:
                found[item["id"]] = item
                if len(found) == len(wanted):
                    break
        return found

    def wait_final(self, task_ids: Sequence[str], timeout_s: float) -> dict[str, dict]:
        """Poll until every task is completed or failed; raises TimeoutError with the progress seen."""
        deadline = time.monotonic() + timeout_s
        while True:
            seen = self.summaries(task_ids)
            if len(seen) == len(task_ids) and all(s["status"] in FINAL for s in seen.values()):
                return seen
            if time.monotonic() > deadline:
                progress = {t: (s["status"], s["progress"]) for t, s in seen.items()}
                raise TimeoutError(f"tasks not finished within {timeout_s:.0f} s: {progress}")
            time.sleep(POLL_INTERVAL_S)
