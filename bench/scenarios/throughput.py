"""1. Throughput against the physical limit: C calls in flight at latency L give at most C/L images/s.

Tasks totalling ``throughput_images`` go through the real API (upload, start, poll) with the emulator
answering after L ms, at each processes x threads of ``throughput_configs``. Uploads are timed apart;
the run is timed from the first task's start to the last task's end (the database's timestamps).
"""

from __future__ import annotations

import time
from typing import Any

from bench import seed
from bench.context import Context, run_span
from bench.meter import per_item

POLL_TIMEOUT_FLOOR_S = 120.0


def run_config(ctx: Context, processes: int, threads: int, jpegs: list[bytes]) -> dict[str, Any]:
    sizes = ctx.sizes
    latency_ms = sizes.throughput_latency_ms
    ctx.resources.truncate()
    ctx.start_workers(processes, threads)
    ctx.emulator.configure(latency_ms)
    calls_before = int(ctx.emulator.stats()["detect_calls"])  # type: ignore[call-overload]
    per_task = sizes.throughput_images // sizes.throughput_tasks
    task_ids = [ctx.client.create_task(f"throughput-{processes}x{threads}-{i}") for i in range(sizes.throughput_tasks)]
    uploads = ctx.client.upload_many(task_ids, jpegs, per_task, sizes.upload_threads)
    images = uploads.images
    concurrency = processes * threads
    limit = concurrency / (latency_ms / 1000)
    before = ctx.meter.snapshot()
    started = time.monotonic()
    for task_id in task_ids:
        ctx.client.start(task_id)
    final = ctx.client.wait_final(task_ids, max(POLL_TIMEOUT_FLOOR_S, 5 * images / limit))
    observed_s = time.monotonic() - started
    cpu = ctx.meter.difference(before, ctx.meter.snapshot())
    span = run_span(task_ids)
    ctx.stop_workers()
    rate = images / span
    done = sum(s["progress"]["done"] for s in final.values())
    calls = int(ctx.emulator.stats()["detect_calls"]) - calls_before  # type: ignore[call-overload]
    return {
        "processes": processes,
        "threads": threads,
        "concurrency": concurrency,
        "latency_ms": latency_ms,
        "images": images,
        "tasks": len(task_ids),
        "images_done": done,
        "images_failed": sum(s["progress"]["failed"] for s in final.values()),
        "detect_calls": calls,
        "seconds": round(span, 3),
        "seconds_observed_by_polling": round(observed_s, 3),
        "images_per_s": round(rate, 2),
        "limit_images_per_s": round(limit, 2),
        "ratio": round(rate / limit, 3),
        "upload_images_per_s": round(uploads.per_second, 1),
        "upload_seconds": round(uploads.seconds, 3),
        "cpu_ms": cpu,
        "cpu_ms_per_image": per_item(cpu, images),
    }


def run(ctx: Context) -> dict[str, Any]:
    jpegs = seed.face_jpegs(64)
    runs = [run_config(ctx, p, t, jpegs) for p, t in ctx.sizes.throughput_configs]
    return {"runs": runs}
