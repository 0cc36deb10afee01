"""5. Worker memory: RSS summed over the Dramatiq worker processes at start and after N images.

The emulator answers at once; tasks of ``memory_task_images`` images are written straight into the
database and the store, then started through the API until each checkpoint's count has run.
"""

from __future__ import annotations

import time
from typing import Any

from bench import seed
from bench.context import Context
from bench.meter import rss_mib

SETTLE_S = 1.0


def run(ctx: Context) -> dict[str, Any]:
    sizes = ctx.sizes
    ctx.emulator.configure(0)
    workers = ctx.start_workers(*sizes.overhead_config)
    time.sleep(SETTLE_S)
    pids = workers.worker_pids()
    points = [{"images": 0, "rss_mib": rss_mib(pids)}]
    jpegs = seed.face_jpegs(64)
    done = 0
    for checkpoint in sizes.memory_checkpoints:
        tasks = []
        while done < checkpoint:
            count = min(sizes.memory_task_images, checkpoint - done)
            tasks.append(seed.forming_task(ctx.storage_dir, jpegs, count))
            done += count
        for task_id in tasks:
            ctx.client.start(task_id)
        ctx.client.wait_final(tasks, max(120.0, (checkpoint - points[-1]["images"]) / 20))
        time.sleep(SETTLE_S)
        points.append({"images": checkpoint, "rss_mib": rss_mib(pids)})
    alive = pids == workers.worker_pids()
    ctx.stop_workers()
    start, first, last = points[0]["rss_mib"], points[1]["rss_mib"], points[-1]["rss_mib"]
    return {
        "processes": workers.processes,
        "threads": workers.threads,
        "worker_pids_unchanged": alive,
        "points": points,
        "growth_pct": round((last - start) / start * 100, 1),
        "growth_after_first_checkpoint_pct": round((last - first) / first * 100, 1),
    }
