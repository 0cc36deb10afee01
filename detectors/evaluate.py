"""Accuracy check of the local detector over labelled photos.

Usage: ``python -m detectors.evaluate LABELS.json [--images-dir DIR] [--json]``

``LABELS.json`` maps image file names (in ``--images-dir``, default: the labels file's folder) to their
labelled faces: ``{"team.jpg": [{"gender": "female", "age": 42, "bbox": [x, y, w, h]}], "room.jpg": []}``.
Boxes are in pixels of the image as displayed (EXIF orientation applied), like the detector's; ``gender``
and ``age`` may be left out of a face.

A labelled face is found when a detection overlaps it with IoU >= 0.3 (matched greedily, best overlap
first, each detection used once). Reported: recall (found / labelled), false positives (detections that
match no labelled face), gender accuracy over found faces with a labelled gender (``unknown`` counts as
wrong), age mean absolute error in years over found faces with a labelled age, and wall time per image
in ms (decode included, after a warm-up).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from detectors.base import Detector, Face

MIN_IOU = 0.3


def iou(a: Sequence[float], b: Sequence[float]) -> float:
    """Intersection over union of two ``[x, y, width, height]`` boxes (0.0 when disjoint)."""
    width = min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0])
    height = min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1])
    if width <= 0 or height <= 0:
        return 0.0
    intersection = width * height
    return intersection / (a[2] * a[3] + b[2] * b[3] - intersection)


def match(labelled: list[dict[str, Any]], faces: list[Face]) -> list[tuple[dict[str, Any], Face]]:
    """Pair labelled faces with detections of IoU >= 0.3, best overlaps first, one-to-one."""
    candidates = sorted(
        (
            (iou(label["bbox"], (face.x, face.y, face.width, face.height)), i, j)
            for i, label in enumerate(labelled)
            for j, face in enumerate(faces)
        ),
        reverse=True,
    )
    pairs, used_labels, used_faces = [], set(), set()
    for overlap, i, j in candidates:
        if overlap < MIN_IOU:
            break
        if i not in used_labels and j not in used_faces:
            used_labels.add(i)
            used_faces.add(j)
            pairs.append((labelled[i], faces[j]))
    return pairs


def _face_json(face: Face) -> dict[str, Any]:
    return {
        "bbox": [face.x, face.y, face.width, face.height],
        "gender": face.gender,
        "age": face.age,
        "score": face.score,
    }


def evaluate(labels: dict[str, list[dict[str, Any]]], images_dir: Path, detector: Detector) -> dict[str, Any]:
    """Run ``detector`` over every labelled image and return per-image rows and the summary."""
    rows, pairs = [], []
    for name, labelled in labels.items():
        data = (images_dir / name).read_bytes()
        started = time.perf_counter()
        faces = detector.detect(data)
        elapsed_ms = (time.perf_counter() - started) * 1000
        matched = match(labelled, faces)
        pairs.extend(matched)
        rows.append(
            {
                "image": name,
                "labelled": len(labelled),
                "found": len(matched),
                "false_positives": len(faces) - len(matched),
                "ms": round(elapsed_ms, 1),
                "faces": [_face_json(face) for face in faces],
            }
        )
    labelled_total = sum(row["labelled"] for row in rows)
    gendered = [(label["gender"], face.gender) for label, face in pairs if "gender" in label]
    aged = [abs(label["age"] - face.age) for label, face in pairs if "age" in label]
    times = [row["ms"] for row in rows]
    summary = {
        "images": len(rows),
        "labelled_faces": labelled_total,
        "found": len(pairs),
        "recall": len(pairs) / labelled_total if labelled_total else None,
        "false_positives": sum(row["false_positives"] for row in rows),
        "gender_accuracy": sum(want == got for want, got in gendered) / len(gendered) if gendered else None,
        "age_mae": statistics.fmean(aged) if aged else None,
        "ms_per_image_mean": round(statistics.fmean(times), 1) if times else None,
        "ms_per_image_max": max(times, default=None),
    }
    return {"images": rows, "summary": summary}


def _format(value: float | None, digits: int = 3) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point; returns the process exit status."""
    parser = argparse.ArgumentParser(prog="python -m detectors.evaluate", description=__doc__.splitlines()[0])
    parser.add_argument("labels", type=Path, help="labels JSON file")
    parser.add_argument("--images-dir", type=Path, help="folder of the images (default: the labels file's)")
    parser.add_argument("--json", action="store_true", help="print machine-readable JSON")
    args = parser.parse_args(argv)

    # Imported here: --help and the matching helpers above need neither dlib nor onnxruntime.
    from detectors.local import LocalDetector

    labels = json.loads(args.labels.read_text())
    detector = LocalDetector()
    detector.warm_up()
    result = evaluate(labels, args.images_dir or args.labels.parent, detector)
    result["model"] = {"name": detector.model_name, "version": detector.model_version}

    if args.json:
        json.dump(result, sys.stdout, indent=2)
        print()
        return 0
    for row in result["images"]:
        print(
            f"{row['image']}: labelled {row['labelled']}, found {row['found']}, "
            f"false positives {row['false_positives']}, {row['ms']:.1f} ms"
        )
    s = result["summary"]
    print(f"model: {detector.model_name} {detector.model_version}")
    print(f"images: {s['images']}, labelled faces: {s['labelled_faces']}, found: {s['found']}")
    print(f"recall: {_format(s['recall'])}")
    print(f"false positives: {s['false_positives']}")
    print(f"gender accuracy: {_format(s['gender_accuracy'])}")
    print(f"age MAE (years): {_format(s['age_mae'], 1)}")
    print(f"ms per image: mean {_format(s['ms_per_image_mean'], 1)}, max {_format(s['ms_per_image_max'], 1)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
