"""How a detected box is matched to a labelled face, for the evaluation and for the box fit alike."""

from __future__ import annotations

from collections.abc import Sequence

# A detection that overlaps a labelled face less than this is not that face.
MIN_IOU = 0.3


def iou(a: Sequence[float], b: Sequence[float]) -> float:
    """Intersection over union of two ``[x, y, width, height]`` boxes (0.0 when disjoint)."""
    width = min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0])
    height = min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1])
    if width <= 0 or height <= 0:
        return 0.0
    intersection = width * height
    return intersection / (a[2] * a[3] + b[2] * b[3] - intersection)


def best_pairs(labelled: Sequence[Sequence[float]], detected: Sequence[Sequence[float]]) -> list[tuple[int, int]]:
    """(label index, detection index) of boxes overlapping by ``MIN_IOU`` or more, best overlaps first,
    each label and each detection in one pair at most."""
    candidates = sorted(
        ((iou(label, box), i, j) for i, label in enumerate(labelled) for j, box in enumerate(detected)),
        reverse=True,
    )
    pairs: list[tuple[int, int]] = []
    used_labels: set[int] = set()
    used_boxes: set[int] = set()
    for overlap, i, j in candidates:
        if overlap < MIN_IOU:
            break
        if i not in used_labels and j not in used_boxes:
            used_labels.add(i)
            used_boxes.add(j)
            pairs.append((i, j))
    return pairs
