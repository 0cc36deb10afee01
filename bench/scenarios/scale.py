"""6. Tasks of any size: reads that cost the same at 100 and at 100,000 images, start, fairness.

* Reads (workers stopped): a 100-image and a big task of 3 faces per image, rows seeded straight
  into storage; p50/p99 of the summary, of page 1 and of the last page of images (100 a page),
  of the list of 100 tasks with the small one among them, and of a /metrics scrape, then with
  the big one; the ratio big : small of each (flat means 1).
* The whole big task streamed, and its faces as CSV: seconds, and the API's peak RSS growth (VmHWM).
* ``POST …/start`` of a forming big task (rows only): latency, then the queues' depths.
* Fairness: with the emulator at ``scale_latency_ms`` and 2 x 8 workers, a 10-image task alone,
  then the same while a ``scale_running_images``-image task runs: seconds from its start to its end.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import requests

from actors.messages import AGGREGATE_QUEUE, DETECT_QUEUE
from bench import seed
from bench.context import Context
from bench.load import run_in_process
from storage.db import db

REQUESTS_S = 3.0
MAX_REQUESTS = 400
PAGE_SIZE = 100


def _peak_rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmHWM for {pid}")


def _reads(base: str, task_id: str, images: int) -> dict[str, Any]:
    last = max(1, -(-images // PAGE_SIZE))
    api = f"{base}/api/v1"
    urls = {
        "summary": f"{api}/tasks/{task_id}?images=false",
        "page_1": f"{api}/tasks/{task_id}/images?page=1&page_size={PAGE_SIZE}",
        "last_page": f"{api}/tasks/{task_id}/images?page={last}&page_size={PAGE_SIZE}",
        "list_100": f"{api}/tasks?page_size=100",
        # A Prometheus scrape: tasks and images by status, whatever the number of images kept.
        "metrics": f"{base}/metrics",
    }
    return {name: run_in_process(url, "get", 1, REQUESTS_S, MAX_REQUESTS) for name, url in urls.items()}


def _ratios(small: dict[str, Any], big: dict[str, Any]) -> dict[str, Any]:
    return {
        name: {p: round(big[name][p] / small[name][p], 2) if small[name][p] else None for p in ("p50_ms", "p99_ms")}
        for name in small
    }


def _stream(ctx: Context, url: str) -> dict[str, Any]:
    pid = ctx.stack.api.pid
    before = _peak_rss_mib(pid)
    started = time.perf_counter()
    received = 0
    with requests.get(url, stream=True, timeout=600) as response:
        response.raise_for_status()
        for chunk in response.iter_content(1 << 16):
            received += len(chunk)
    seconds = time.perf_counter() - started
    return {"seconds": round(seconds, 2), "bytes": received,
            "api_peak_rss_growth_mib": round(_peak_rss_mib(pid) - before, 1)}


def _queue_depths(ctx: Context) -> dict[str, int]:
    from actors.broker import make_broker

    broker = make_broker(ctx.resources.rabbitmq_url)
    try:
        return {queue: broker.get_queue_message_counts(queue)[0] for queue in (DETECT_QUEUE, AGGREGATE_QUEUE)}
    finally:
        broker.close()


def _span(task_id: str) -> float:
    with db.connection_context():
        return float(db.execute_sql(
            "SELECT extract(epoch FROM finished_at - started_at) FROM tasks WHERE id = %s", (task_id,)
        ).fetchone()[0])


def _small_task_seconds(ctx: Context, images: list[bytes]) -> float:
    task_id = seed.forming_task(ctx.storage_dir, images, len(images))
    ctx.client.start(task_id)
    ctx.client.wait_final([task_id], timeout_s=120)
    return _span(task_id)


def _fairness(ctx: Context) -> dict[str, Any]:
    sizes = ctx.sizes
    ctx.emulator.configure(sizes.scale_latency_ms)
    ctx.start_workers(2, 8)
    small = seed.face_jpegs(10, seed=11)
    alone = _small_task_seconds(ctx, small)
    running = seed.forming_task(ctx.storage_dir, seed.face_jpegs(200, seed=12), sizes.scale_running_images)
    ctx.client.start(running)
    time.sleep(2.0)  # the big task is well under way: its window is full
    beside = _small_task_seconds(ctx, small)
    calls_before = ctx.emulator.stats()["detect_calls"]
    deleted = ctx.client.http.delete(f"{ctx.stack.url}/api/v1/tasks/{running}", timeout=30)
    deleted.raise_for_status()
    at_delete = ctx.emulator.stats()["detect_calls"]
    time.sleep(2.0)
    after_delete = ctx.emulator.stats()["detect_calls"]
    ctx.stop_workers()
    return {
        "latency_ms": sizes.scale_latency_ms, "running_images": sizes.scale_running_images, "workers": "2x8",
        "small_task_alone_s": round(alone, 2), "small_task_beside_big_s": round(beside, 2),
        "extra_s": round(beside - alone, 2),
        "detector_calls_within_2s_after_delete": after_delete - at_delete,
        "detector_calls_before_delete": calls_before,
    }


def run(ctx: Context) -> dict[str, Any]:
    sizes = ctx.sizes
    api = f"{ctx.stack.url}/api/v1"
    for _ in range(98):
        seed.completed_task(1, 3)
    small = seed.completed_task(100, 3)
    requests.get(f"{api}/tasks/{small}", timeout=60).raise_for_status()
    small_reads = _reads(ctx.stack.url, small, 100)
    big = seed.completed_task(sizes.scale_images, 3)
    big_reads = _reads(ctx.stack.url, big, sizes.scale_images)
    stream = _stream(ctx, f"{api}/tasks/{big}")
    csv_stream = _stream(ctx, f"{api}/tasks/{big}/faces.csv")

    forming = seed.forming_rows(sizes.scale_images)
    started = time.perf_counter()
    ctx.client.start(forming)
    start_ms = (time.perf_counter() - started) * 1000
    depths = _queue_depths(ctx)
    ctx.client.http.delete(f"{api}/tasks/{forming}", timeout=60).raise_for_status()

    return {
        "images": {"small": 100, "big": sizes.scale_images, "faces_per_image": 3},
        "reads_small": small_reads,
        "reads_big": big_reads,
        "ratio_big_to_small": _ratios(small_reads, big_reads),
        "stream_big": stream,
        "csv_big": csv_stream,
        "start_big": {"latency_ms": round(start_ms, 1), "queue_depth_after": depths},
        "fairness": _fairness(ctx),
    }
