"""The local detector without the service: ``LocalDetector().detect()`` in one process per core.

``python -m bench.local_raw --image F --processes P --images N`` prints JSON: images/s over N calls
shared by P processes (each takes the next call when it is free), each with its own warmed-up detector,
all starting together.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import sys
import time
from pathlib import Path
from typing import Any


def _work(image: bytes, tickets: Any, barrier: Any, results: Any) -> None:
    from detectors.local import LocalDetector

    detector = LocalDetector()
    detector.warm_up()
    faces = len(detector.detect(image))
    barrier.wait()
    started, calls = time.time(), 0
    while True:
        with tickets.get_lock():
            if tickets.value <= 0:
                break
            tickets.value -= 1
        detector.detect(image)
        calls += 1
    results.put((started, time.time(), calls, faces))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.local_raw")
    parser.add_argument("--image", type=Path, required=True)
    parser.add_argument("--processes", type=int, default=multiprocessing.cpu_count())
    parser.add_argument("--images", type=int, default=10)
    args = parser.parse_args(argv)
    image = args.image.read_bytes()
    context = multiprocessing.get_context("spawn")
    # The calls are taken from one shared counter, so no process idles while another has a backlog.
    barrier, results, tickets = context.Barrier(args.processes), context.Queue(), context.Value("i", args.images)
    workers = [context.Process(target=_work, args=(image, tickets, barrier, results)) for _ in range(args.processes)]
    for worker in workers:
        worker.start()
    done = [results.get(timeout=1200) for _ in workers]
    for worker in workers:
        worker.join(timeout=60)
    span = max(d[1] for d in done) - min(d[0] for d in done)
    calls = sum(d[2] for d in done)
    print(json.dumps({"processes": args.processes, "images": calls, "seconds": round(span, 3),
                      "images_per_s": round(calls / span, 3), "faces_found": done[0][3]}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
