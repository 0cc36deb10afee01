"""2. Pipeline overhead: the whole pipeline (emulator at 0 ms) beside two ceilings on the same broker,
database and processes x threads:

* a no-op Dramatiq actor (``bench.ceiling_actors.NOOP``): what Dramatiq + RabbitMQ move at most;
* a raw-SQL claim-and-complete actor (``bench.ceiling_actors.CLAIM_COMPLETE``) over a task whose rows
  are inserted directly: the least any correct pipeline must do per image.

The ceilings' queues are filled before their workers open the boot gate, so they are timed from their
first to their last message; the pipeline is timed from the task's start to its end, so its figure
also holds the API publishing every message (the start request's time is reported too).
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from dramatiq import Message

from actors.broker import make_broker
from bench import seed
from bench.ceiling_actors import CLAIM_COMPLETE, FLUSH_INTERVAL_S, NOOP
from bench.context import Context, Stopwatch, run_span
from bench.meter import per_item
from bench.stack import STOP_GRACE_S
from storage.db import db
from tests.harness import wait_until

CEILING_TIMEOUT_S = 300.0
PUBLISH_THREADS = 4
CEILING_MODULE = "bench.ceiling_actors:setup"


def publish(url: str, queue: str, args: list[str]) -> float:
    """Put one message per arg on ``queue`` (with publisher confirms) from a few threads; returns messages/s."""
    broker = make_broker(url)  # one channel per thread
    slices = [args[i::PUBLISH_THREADS] for i in range(PUBLISH_THREADS)]

    def send(part: list[str]) -> None:
        for arg in part:
            broker.enqueue(Message(queue_name=queue, actor_name=queue, args=(arg,), kwargs={}, options={}))

    try:
        watch = Stopwatch()
        pool = ThreadPoolExecutor(PUBLISH_THREADS)
        try:
            list(pool.map(send, slices))
        finally:
            pool.shutdown(cancel_futures=True)
        return len(args) / watch.seconds()
    finally:
        broker.close()


def _records(marks: Path) -> list[dict[str, Any]]:
    records = []
    for path in marks.glob("*.json"):
        try:
            records.append(json.loads(path.read_text()))
        except ValueError:
            continue  # being replaced right now
    return records


def ceiling(ctx: Context, actor: str, args: list[str], module: str = CEILING_MODULE) -> dict[str, Any]:
    processes, threads = ctx.sizes.overhead_config
    marks = Path(tempfile.mkdtemp(prefix=f"marks-{actor}-", dir=ctx.workdir))
    publish_rate = publish(ctx.resources.rabbitmq_url, actor, args)
    env = ctx.stack.env(WORKER_PROCESSES=str(processes), WORKER_THREADS=str(threads), BENCH_MARKS_DIR=str(marks))
    command = [sys.executable, "-m", "dramatiq", f"--processes={processes}", f"--threads={threads}",
               module]
    child = ctx.children.start(f"ceiling-{actor}", command, env)
    try:
        wait_until(lambda: len(list(marks.glob("gate-*"))) >= processes, 90, f"{actor} workers start", child)
        ctx.worker_root = child.pid
        before = ctx.meter.snapshot()
        (marks / "go").touch()
        wait_until(lambda: sum(r["count"] for r in _records(marks)) >= len(args), CEILING_TIMEOUT_S,
                   f"{actor} run", child)
        time.sleep(2 * FLUSH_INTERVAL_S)  # one more flush of every process's record
        cpu = ctx.meter.difference(before, ctx.meter.snapshot())
        records = [r for r in _records(marks) if r["count"]]
    finally:
        ctx.children.stop(child, STOP_GRACE_S)
        ctx.worker_root = None
    span = max(r["last"] for r in records) - min(r["first"] for r in records)
    count = sum(r["count"] for r in records)
    in_process_cpu_ms = sum(r["cpu_last"] - r["cpu_first"] for r in records) * 1000
    return {
        "actor": actor,
        "processes": processes,
        "threads": threads,
        "messages": count,
        "errors": sum(r["errors"] for r in records),
        "seconds": round(span, 3),
        "messages_per_s": round((count - len(records)) / span, 1) if span > 0 else None,
        "publish_messages_per_s": round(publish_rate, 1),
        "cpu_ms": cpu,
        "cpu_ms_per_image": per_item(cpu, count),
        "worker_cpu_ms_per_image_in_process": round(in_process_cpu_ms / count, 3),
    }


def pipeline(ctx: Context, jpegs: list[bytes]) -> dict[str, Any]:
    processes, threads = ctx.sizes.overhead_config
    images = ctx.sizes.overhead_images
    ctx.emulator.configure(0)
    ctx.start_workers(processes, threads)
    task_id = seed.forming_task(ctx.storage_dir, jpegs, images)
    before = ctx.meter.snapshot()
    watch = Stopwatch()
    ctx.client.start(task_id)
    start_request_s = watch.seconds()
    final = ctx.client.wait_final([task_id], max(120.0, images / 20))[task_id]
    cpu = ctx.meter.difference(before, ctx.meter.snapshot())
    ctx.stop_workers()
    span = run_span([task_id])
    return {
        "processes": processes,
        "threads": threads,
        "images": images,
        "images_done": final["progress"]["done"],
        "seconds": round(span, 3),
        "images_per_s": round(images / span, 1),
        "start_request_s": round(start_request_s, 3),
        "cpu_ms": cpu,
        "cpu_ms_per_image": per_item(cpu, images),
    }


def run(ctx: Context) -> dict[str, Any]:
    images = ctx.sizes.overhead_images
    noop = ceiling(ctx, NOOP, [str(uuid.uuid4()) for _ in range(ctx.sizes.noop_messages)])
    claim_before = claim_complete(ctx, images)
    whole = pipeline(ctx, seed.face_jpegs(64))
    ctx.resources.truncate()
    claim_after = claim_complete(ctx, images)
    # Measured before and after the pipeline (the machine is shared): the mean is the ceiling.
    claim = {**claim_before, "runs_messages_per_s": [claim_before["messages_per_s"], claim_after["messages_per_s"]]}
    claim["messages_per_s"] = round((claim_before["messages_per_s"] + claim_after["messages_per_s"]) / 2, 1)
    return {
        "pipeline": whole,
        "noop_ceiling": noop,
        "claim_complete_ceiling": claim,
        "ratio_to_noop": round(whole["images_per_s"] / noop["messages_per_s"], 3),
        "ratio_to_claim_complete": round(whole["images_per_s"] / claim["messages_per_s"], 3),
    }


def claim_complete(ctx: Context, images: int) -> dict[str, Any]:
    """The raw-SQL ceiling over a fresh task of ``images`` queued images; checks the counter reached 0."""
    ctx.resources.truncate()
    task_id, image_ids = seed.queued_task(images)
    result = ceiling(ctx, CLAIM_COMPLETE, image_ids)
    with db.connection_context():
        cursor = db.execute_sql("SELECT remaining FROM tasks WHERE id = %s", (task_id,))
        result["remaining_after"] = cursor.fetchone()[0]
    ctx.resources.truncate()
    return result
