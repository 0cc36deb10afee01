"""The service's REST API as the benchmark drives it: create, upload, start, wait for the end."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import requests

FINAL = ("completed", "failed")
POLL_INTERVAL_S = 0.2
RETRIES_ON_503 = 10
RETRY_PAUSE_S = 1.0


@dataclass(frozen=True)
class Uploads:
    images: int
    seconds: float
    latencies_ms: list[float]

    @property
    def per_second(self) -> float:
        return self.images / self.seconds if self.seconds else 0.0


class ApiClient:
    """Answers 503 (a dependency restarting: the machine is shared) are retried a few times, and counted."""

    def __init__(self, base_url: str) -> None:
        self.api = f"{base_url}/api/v1"
        self._local = threading.local()
        self.retries = 0
        self._lock = threading.Lock()

    def _send(self, method: str, url: str, **kwargs: Any) -> requests.Response:
        for attempt in range(RETRIES_ON_503 + 1):
            response = self.http.request(method, url, **kwargs)
            if response.status_code != 503 or attempt == RETRIES_ON_503:
                return response
            with self._lock:
                self.retries += 1
            time.sleep(RETRY_PAUSE_S)
        raise AssertionError("unreachable")

    @property
    def http(self) -> requests.Session:
        session = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = requests.Session()
        return session

    def create_task(self, name: str | None = None) -> str:
        response = self._send("POST", f"{self.api}/tasks", json={"name": name} if name else {}, timeout=30)
        response.raise_for_status()
        return response.json()["id"]

    def upload(self, task_id: str, name: str, data: bytes) -> float:
        """Upload one image (multipart); returns the request's latency in ms."""
        started = time.perf_counter()
        response = self._send(
            "POST", f"{self.api}/tasks/{task_id}/images", files={"file": (name, data, "image/jpeg")}, timeout=60
        )
        elapsed = (time.perf_counter() - started) * 1000
        if response.status_code != 201:
            raise RuntimeError(f"upload answered {response.status_code}: {response.text[:300]}")
        return elapsed

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
        response = self._send("POST", f"{self.api}/tasks/{task_id}/start", timeout=120)
        if response.status_code != 202:
            raise RuntimeError(f"start answered {response.status_code}: {response.text[:300]}")

    def task(self, task_id: str) -> dict:
        response = self._send("GET", f"{self.api}/tasks/{task_id}", timeout=60)
        response.raise_for_status()
        return response.json()

    def summaries(self, task_ids: Sequence[str]) -> dict[str, dict]:
        """Task summaries (no images) of ``task_ids``, from the list route: one light request."""
        found: dict[str, dict] = {}
        page = 1
        wanted = set(task_ids)
        while wanted - set(found):
            response = self._send("GET", f"{self.api}/tasks", params={"page": page, "page_size": 100}, timeout=60)
            response.raise_for_status()
            items = response.json()["items"]
            found.update({item["id"]: item for item in items if item["id"] in wanted})
            if len(items) < 100:
                break
            page += 1
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
