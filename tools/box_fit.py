"""Fit :data:`detectors.local.HOG_SHAPE`: how CenterFace's boxes become the boxes dlib's HOG draws.

Usage: ``python -m tools.box_fit [FOLDER]``

``FOLDER`` holds photos and dlib "imglab" XML files ``training.xml`` and ``testing.xml`` whose boxes were
drawn in HOG's shape: dlib's ``examples/faces``, which :mod:`tools.photos` fetches from the dlib
source distribution when no folder is given. Each labelled box is paired with the CenterFace detection
that overlaps it most (IoU >= 0.3, after moving the detection by the current constants); then

* ``shift`` = median of (labelled centre y - detected centre y) / detected height,
* ``width`` = median of labelled width / detected width,
* ``height`` = median of labelled height / detected height.

Medians, because a few faces turned aside move their box a lot. Prints the fit, the number of pairs
and the mean IoU before and after, so a change of model or scale can be re-fitted and checked.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import xml.etree.ElementTree as ElementTree
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from detectors.local import HOG_SHAPE, BoxShape, LocalDetector, hog_boxes
from tools.overlap import best_pairs, iou

Box = tuple[float, float, float, float]


def labelled_boxes(folder: Path) -> dict[str, list[Box]]:
    """``{photo: [(x, y, width, height), ...]}`` from every imglab XML file in ``folder``."""
    boxes: dict[str, list[Box]] = {}
    # The *_with_face_landmarks.xml files repeat the same boxes with landmarks added.
    for path in (folder / "training.xml", folder / "testing.xml"):
        for image in ElementTree.parse(path).getroot().iter("image"):
            boxes.setdefault(image.get("file"), []).extend(
                (float(box.get("left")), float(box.get("top")), float(box.get("width")), float(box.get("height")))
                for box in image.iter("box")
            )
    return boxes


def detected_boxes(detector: LocalDetector, photo: bytes) -> list[Box]:
    """CenterFace's own boxes on ``photo`` as (x, y, width, height) in the photo's pixels."""
    decoded, (width, _), found = detector.search(photo)
    scale = width / decoded.width
    return [(x1 * scale, y1 * scale, (x2 - x1) * scale, (y2 - y1) * scale) for x1, y1, x2, y2 in found.boxes.tolist()]


def reshaped(box: Box, shape: BoxShape) -> Box:
    """``box`` moved and resized as ``shape`` says, in (x, y, width, height)."""
    x, y, width, height = box
    [(top, right, bottom, left)] = hog_boxes(np.array([[x, y, x + width, y + height]]), shape)
    return (left, top, right - left + 1, bottom - top + 1)


def pairs(labels: dict[str, list[Box]], folder: Path, detector: LocalDetector) -> list[tuple[Box, Box]]:
    """(labelled, detected) pairs, each detection used once, best overlap first."""
    matched = []
    for name, labelled in labels.items():
        detected = detected_boxes(detector, (folder / name).read_bytes())
        found = best_pairs(labelled, [reshaped(box, HOG_SHAPE) for box in detected])
        matched.extend((labelled[i], detected[j]) for i, j in found)
    return matched


def fit(matched: Sequence[tuple[Box, Box]]) -> BoxShape:
    """The shape that turns the detected boxes into the labelled ones, by medians (see the module)."""

    def centre_y(box: Box) -> float:
        return box[1] + box[3] / 2

    return BoxShape(
        shift=round(statistics.median((centre_y(label) - centre_y(box)) / box[3] for label, box in matched), 3),
        width=round(statistics.median(label[2] / box[2] for label, box in matched), 3),
        height=round(statistics.median(label[3] / box[3] for label, box in matched), 3),
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point; returns the process exit status."""
    parser = argparse.ArgumentParser(prog="python -m tools.box_fit", description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path, nargs="?", help="photos and imglab XML (default: dlib's, fetched)")
    args = parser.parse_args(argv)
    if args.folder is None:
        from tools.photos import dlib_faces_folder

        args.folder = dlib_faces_folder()
    detector = LocalDetector()
    labels = labelled_boxes(args.folder)
    matched = pairs(labels, args.folder, detector)
    shape = fit(matched)
    labelled_total = sum(len(boxes) for boxes in labels.values())
    print(f"pairs: {len(matched)} of {labelled_total} labelled faces")
    for name, used in (("raw CenterFace", BoxShape(0.0, 1.0, 1.0)), ("current", HOG_SHAPE), ("fitted", shape)):
        overlap = statistics.fmean(iou(label, reshaped(box, used)) for label, box in matched)
        print(f"{name:15} {used}: mean IoU {overlap:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
