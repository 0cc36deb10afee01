"""Choose the local detector's score threshold (``LOCAL_MIN_SCORE``) on the package evaluation set.

Usage: ``python -m tools.thresholds [--thresholds 0.3,0.4,0.5,0.6]``

The detector runs once over every variant of the set (:mod:`tools.evaluate`) keeping every detection
scoring at least the lowest threshold, each one below the highest scored after its second look (the
better of both scores, :mod:`detectors.second_look`); each threshold then keeps the detections at or above
it, exactly those a detector with that ``min_score`` keeps. Printed:
per threshold and variant, recall and false positives; then the lowest score of a found face per variant
and the highest score of a false positive, i.e. the margin a threshold has to fall into.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from typing import Any

from detectors.base import Face
from tools.evaluate import evaluate_package_set


class _Recorded:
    """A detector that answers what another one found, without its detections below ``threshold``."""

    def __init__(self, detector: Any) -> None:
        self.model = detector.model
        self._detector = detector
        self._seen: dict[bytes, list[Face]] = {}
        self.threshold = 0.0

    def detect(self, image: bytes, began: Callable[[], None] | None = None) -> list[Face]:
        if image not in self._seen:
            self._seen[image] = self._detector.detect(image)
        return [face for face in self._seen[image] if face.score >= self.threshold]


def margins(variants: dict[str, dict[str, Any]]) -> dict[str, float | None]:
    """The lowest score of a found face per variant, and under ``"false positives"`` the highest score of a
    detection that matched nothing."""
    lowest: dict[str, float | None] = {}
    false: list[float] = []
    for variant, evaluated in variants.items():
        faces = [face for row in evaluated["images"] for face in row["faces"]]
        lowest[variant] = min((face["score"] for face in faces if face["matched"]), default=None)
        false.extend(face["score"] for face in faces if face["matched"] is False)
    lowest["false positives"] = max(false, default=None)
    return lowest


def sweep(thresholds: Sequence[float]) -> dict[float, dict[str, dict[str, Any]]]:
    """``{threshold: {variant: {"images": rows, "summary": ...}}}`` over the package set."""
    from detectors.local import LocalDetector

    base = LocalDetector(min_score=min(thresholds), look_below=max(thresholds))
    base.warm_up()
    recorded = _Recorded(base)
    results = {}
    for threshold in sorted(thresholds):
        recorded.threshold = threshold
        results[threshold] = evaluate_package_set(recorded)
    return results


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point; returns the process exit status."""
    parser = argparse.ArgumentParser(prog="python -m tools.thresholds", description=__doc__.splitlines()[0])
    parser.add_argument("--thresholds", default="0.3,0.4,0.5,0.55,0.6,0.65,0.7", help="comma-separated, 0..1")
    args = parser.parse_args(argv)
    results = sweep([float(value) for value in args.thresholds.split(",")])
    print("| threshold | " + " | ".join(f"{variant} recall / FP" for variant in next(iter(results.values()))) + " |")
    print("|---" * (1 + len(next(iter(results.values())))) + "|")
    for threshold, variants in results.items():
        cells = [f"{v['summary']['recall'] or 0:.3f} / {v['summary']['false_positives']}" for v in variants.values()]
        print(f"| {threshold} | " + " | ".join(cells) + " |")
    print()
    lowest = margins(results[min(results)])
    print(
        "lowest score of a found face: "
        + ", ".join(
            f"{variant} {score:.3f}" for variant, score in lowest.items() if variant != "false positives" and score
        )
    )
    highest = lowest["false positives"]
    print("highest score of a false positive: " + ("none" if highest is None else f"{highest:.3f}"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
