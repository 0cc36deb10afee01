"""8. Where one task's time goes at L ms: start to the first detector call, each image's phases on
its worker thread, the gap between a thread's call ending and its next call beginning, and the tail.

One task of ``breakdown_images`` runs with the workers at ``LOG_LEVEL=debug``, so each detect
message writes its ``actors.timeline`` line (wall-clock marks; see that module). Debug logging costs
the workers a little CPU, so this run's own C/L is printed beside the figures, not used as the
throughput figure (scenario 1 is).
"""

from __future__ import annotations

import itertools
import re
import statistics
from typing import Any

from actors.messages import DETECT_ACTOR, DISPATCH_ACTOR
from bench import seed
from bench.context import Context
from storage.db import db

# Thread names repeat in each worker process: the process id tells them apart.
_LINE = re.compile(r"\[(\d+)\] actors\.timeline [^:]*: timeline (\S+) thread=(\S+) (.*)$", re.MULTILINE)
# (label, from mark, to mark): the phases of one detect message, in the order they happen.
PHASES = (
    ("claim and hold task", "begin", "claimed"),
    ("read image", "claimed", "read"),
    ("send request", "read", "sent"),
    ("await answer", "sent", "detected"),
    ("end statement", "detected", "ended"),
    ("publish next", "ended", "published"),
    ("mark sent", "published", "marked"),
    ("hand next over", "ended", "handed"),
)


def parse(log: str, actor: str) -> list[tuple[str, dict[str, float]]]:
    """The timeline lines of ``actor`` in the workers' ``log``: ("pid:thread", {mark: seconds})."""
    return [
        (f"{pid}:{thread}", {k: float(v) for k, v in (pair.split("=", 1) for pair in marks.split())})
        for pid, name, thread, marks in _LINE.findall(log)
        if name == actor
    ]


def _ms(values: list[float]) -> dict[str, float]:
    if not values:
        return {"n": 0}
    ordered = sorted(values)
    return {
        "n": len(values),
        "mean_ms": round(1000 * statistics.fmean(values), 2),
        "p50_ms": round(1000 * ordered[len(ordered) // 2], 2),
        "p95_ms": round(1000 * ordered[int(len(ordered) * 0.95)], 2),
    }


def summarize(
    messages: list[tuple[str, dict[str, float]]], dispatch: dict[str, float], started: float, finished: float
) -> dict[str, Any]:
    """The breakdown of one run from its timeline lines (detect messages, the run's dispatch message) and
    the task's start and end (epoch seconds)."""
    phases = {
        label: _ms([m[b] - m[a] for _, m in messages if a in m and b in m]) for label, a, b in PHASES
    }
    phases["rest of message"] = _ms([m["end"] - max(t for k, t in m.items() if k != "end") for _, m in messages])
    # A thread's gap: its call's answer to its next request sent, whatever happened between.
    by_thread: dict[str, list[dict[str, float]]] = {}
    for thread, marks in messages:
        by_thread.setdefault(thread, []).append(marks)
    gaps, between = [], []
    for runs in by_thread.values():
        runs.sort(key=lambda m: m["begin"])
        for previous, following in itertools.pairwise(runs):
            if "detected" in previous and "sent" in following:
                gaps.append(following["sent"] - previous["detected"])
                between.append(following["begin"] - previous["end"])
    first = min((m for _, m in messages if "sent" in m), key=lambda m: m["sent"])
    answers = [m["detected"] for _, m in messages if "detected" in m]
    return {
        "start_to_first_call_ms": round(1000 * (first["sent"] - started), 1),
        "start": {
            "start_to_dispatch_ms": round(1000 * (dispatch["begin"] - started), 1),
            "dispatch_ms": round(1000 * (dispatch["end"] - dispatch["begin"]), 1),
            "dispatch_to_first_message_ms": round(1000 * (first["begin"] - dispatch["end"]), 1),
            "first_message_to_call_ms": round(1000 * (first["sent"] - first["begin"]), 1),
        },
        "last_answer_to_task_end_ms": round(1000 * (finished - max(answers)), 1) if answers else None,
        "phases": phases,
        "thread_gap": _ms(gaps),
        "between_messages": _ms(between),
    }


def run(ctx: Context) -> dict[str, Any]:
    sizes = ctx.sizes
    processes, threads = sizes.breakdown_config
    latency_ms = sizes.breakdown_latency_ms
    ctx.resources.truncate()
    workers = ctx.start_workers(processes, threads, LOG_LEVEL="debug")
    ctx.emulator.configure(latency_ms)
    task_id = ctx.client.create_task("breakdown")
    ctx.client.upload_many([task_id], seed.face_jpegs(64), sizes.breakdown_images, sizes.upload_threads)
    ctx.client.start(task_id)
    ctx.client.wait_final([task_id], 120.0 + 5 * sizes.breakdown_images * latency_ms / 1000 / (processes * threads))
    with db.connection_context():
        started, finished = db.execute_sql(
            "SELECT extract(epoch FROM started_at), extract(epoch FROM finished_at) FROM tasks WHERE id = %s",
            (task_id,),
        ).fetchone()
    log = workers.child.tail(10**9)
    ctx.stop_workers()
    messages = parse(log, DETECT_ACTOR)
    dispatch = parse(log, DISPATCH_ACTOR)[0][1]
    span = float(finished) - float(started)
    ideal = sizes.breakdown_images * latency_ms / 1000 / (processes * threads)
    return {
        "processes": processes,
        "threads": threads,
        "latency_ms": latency_ms,
        "images": sizes.breakdown_images,
        "messages_timed": len(messages),
        "seconds": round(span, 3),
        "ratio_at_debug_level": round(ideal / span, 3),
        **summarize(messages, dispatch, float(started), float(finished)),
    }
