"""3. Local detector: the service with ``DETECTOR=local`` beside the raw library, on the fixtures.

Skipped when ``detectors.local`` cannot be imported. The raw figure is ``LocalDetector().detect()``
called in one process per core (``bench.local_raw``), twice, averaged; the service runs one worker process
per core with the service's default threads for the local detector.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

from bench import seed
from bench.context import Context, run_span
from bench.stack import ROOT

FIXTURES = ROOT / "tests" / "fixtures"
# The raw library is measured this many times and averaged: the machine is shared, so one run is noisy.
RAW_REPEATS = 2


def _import_error() -> str | None:
    done = subprocess.run([sys.executable, "-c", "import detectors.local"], cwd=ROOT, capture_output=True,
                          text=True, timeout=120, check=False)
    return None if done.returncode == 0 else (done.stderr.strip().splitlines() or ["?"])[-1]


def raw(path: str, processes: int, images: int) -> dict[str, Any]:
    command = [sys.executable, "-m", "bench.local_raw", "--image", path, "--processes", str(processes),
               "--images", str(images)]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=1200, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"bench.local_raw failed: {done.stderr[-2000:]}")
    return json.loads(done.stdout)


def run(ctx: Context) -> dict[str, Any]:
    error = _import_error()
    if error is not None:
        return {"skipped": f"detectors.local cannot be imported: {error}"}
    cores = os.cpu_count() or 1
    results = []
    ctx.start_workers(cores, ctx.sizes.local_threads, DETECTOR="local")
    try:
        for name, images in ctx.sizes.local_images:
            path = FIXTURES / name
            task_id = seed.forming_task(ctx.storage_dir, [path.read_bytes()], images)
            ctx.client.start(task_id)
            final = ctx.client.wait_final([task_id], max(300.0, images * 10.0))[task_id]
            span = run_span([task_id])
            results.append({"fixture": name, "images": images, "service_seconds": round(span, 3),
                            "service_images_per_s": round(images / span, 3), "images_done": final["progress"]["done"]})
    finally:
        ctx.stop_workers()
    for entry in results:
        entry["raw"] = [raw(str(FIXTURES / entry["fixture"]), cores, entry["images"]) for _ in range(RAW_REPEATS)]
        rates = [measured["images_per_s"] for measured in entry["raw"]]
        entry["raw_images_per_s"] = round(sum(rates) / len(rates), 3)
        entry["ratio"] = round(entry["service_images_per_s"] / entry["raw_images_per_s"], 3)
    return {"worker_processes": cores, "worker_threads": ctx.sizes.local_threads, "runs": results}
