"""7. The object store against the filesystem: upload and pipeline throughput, as ratios.

The same tasks go through the real API and workers twice: once with the images in a folder
(``STORAGE_DIR``), once in an S3 bucket (``STORAGE_URL=s3://…`` on moto's S3 server, a real HTTP
server on this machine). FaceCloud answers after ``store_latency_ms`` (200 ms), at processes x threads
of ``store_config``. The goal: the pipeline with the object store within 5 % of the filesystem's.
"""

from __future__ import annotations

import time
from typing import Any

from bench import seed
from bench.context import Context, run_span
from bench.meter import CpuMeter, per_item
from tests.object_store import CREDENTIALS, S3Server

BUCKET = "facetasks-bench"
POLL_TIMEOUT_S = 600.0


def run_store(ctx: Context, name: str, env: dict[str, str], jpegs: list[bytes], meter: CpuMeter) -> dict[str, Any]:
    sizes = ctx.sizes
    ctx.resources.truncate()
    ctx.stack.restart_api(**env)
    processes, threads = sizes.store_config
    ctx.start_workers(processes, threads, **env)
    ctx.emulator.configure(sizes.store_latency_ms)
    task_ids = [ctx.client.create_task(f"store-{name}-{i}") for i in range(sizes.store_tasks)]
    before = meter.snapshot()
    uploads = ctx.client.upload_many(task_ids, jpegs, sizes.store_images // sizes.store_tasks, sizes.upload_threads)
    uploaded = meter.snapshot()
    started = time.monotonic()
    for task_id in task_ids:
        ctx.client.start(task_id)
    final = ctx.client.wait_final(task_ids, POLL_TIMEOUT_S)
    observed_s = time.monotonic() - started
    processed = meter.snapshot()
    ctx.stop_workers()
    span = run_span(task_ids)
    return {
        "store": name,
        "images": uploads.images,
        "images_done": sum(s["progress"]["done"] for s in final.values()),
        "upload_images_per_s": round(uploads.per_second, 1),
        "pipeline_seconds": round(span, 3),
        "pipeline_seconds_observed_by_polling": round(observed_s, 3),
        "pipeline_images_per_s": round(uploads.images / span, 2),
        # Where the CPU went (2 cores, shared): the S3 server runs on this machine too.
        "upload_cpu_ms_per_image": per_item(meter.difference(before, uploaded), uploads.images),
        "pipeline_cpu_ms_per_image": per_item(meter.difference(uploaded, processed), uploads.images),
    }


def run(ctx: Context) -> dict[str, Any]:
    jpegs = seed.face_jpegs(64)
    server = S3Server(ctx.workdir / "logs" / "s3.log").start()
    try:
        server.client().create_bucket(Bucket=BUCKET)
        s3_env = {"STORAGE_URL": f"s3://{BUCKET}/images", "S3_ENDPOINT_URL": server.url, **CREDENTIALS}
        # The S3 server's processes first: they are the harness's children, which the harness's group takes.
        meter = CpuMeter({"s3_server": lambda: [server.server.pid], **ctx.meter.roots}, ctx.resources.name)
        files = run_store(ctx, "file", {}, jpegs, meter)
        s3 = run_store(ctx, "s3", s3_env, jpegs, meter)
    finally:
        ctx.stack.restart_api()
        server.stop()
    return {
        "latency_ms": ctx.sizes.store_latency_ms,
        "config": list(ctx.sizes.store_config),
        "runs": [files, s3],
        "upload_ratio": round(s3["upload_images_per_s"] / files["upload_images_per_s"], 3),
        "pipeline_ratio": round(s3["pipeline_images_per_s"] / files["pipeline_images_per_s"], 3),
    }
