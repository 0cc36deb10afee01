"""4. API latency under load: GET of a task of 1,000 images x 3 faces, and uploads of a ~100 KB JPEG.

The load comes from a separate process (``bench.load``): N threads sending one request after another
for a fixed time; every request's latency is recorded there. The workers are not running.
"""

from __future__ import annotations

from typing import Any

import requests

from bench import seed
from bench.context import Context
from bench.load import run_in_process

WARM_UP_REQUESTS = 3


def run(ctx: Context) -> dict[str, Any]:
    sizes = ctx.sizes
    api = f"{ctx.stack.url}/api/v1"
    task_id = seed.completed_task(sizes.latency_images, sizes.latency_faces)
    task_url = f"{api}/tasks/{task_id}"
    body_bytes = 0
    for _ in range(WARM_UP_REQUESTS):
        response = requests.get(task_url, timeout=60)
        response.raise_for_status()
        body_bytes = len(response.content)
    jpeg = seed.noise_jpeg()
    jpeg_file = ctx.workdir / "upload.jpg"
    jpeg_file.write_bytes(jpeg)
    upload_task = ctx.client.create_task("latency-uploads")
    upload_url = f"{api}/tasks/{upload_task}/images"
    duration, cap = sizes.latency_duration_s, sizes.latency_max_requests
    gets, uploads = [], []
    for threads in sizes.latency_threads:
        gets.append(run_in_process(task_url, "get", threads, duration, cap))
    for threads in sizes.latency_threads:
        uploads.append(run_in_process(upload_url, "upload", threads, duration, cap, jpeg_file))
    return {
        "get_task": {"images": sizes.latency_images, "faces_per_image": sizes.latency_faces,
                     "response_bytes": body_bytes, "runs": gets},
        "upload": {"jpeg_bytes": len(jpeg), "runs": uploads},
    }
