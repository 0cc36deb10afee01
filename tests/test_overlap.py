"""The evaluation and the box fit pair labelled faces with detections by one rule."""

from __future__ import annotations

from tools.overlap import best_pairs


def test_each_label_gets_the_detection_it_overlaps_most_and_a_detection_serves_one_label():
    labelled = [(0, 0, 10, 10), (4, 0, 10, 10)]
    detected = [(5, 0, 10, 10), (0, 0, 10, 10), (1, 0, 10, 10)]

    assert sorted(best_pairs(labelled, detected)) == [(0, 1), (1, 0)]


def test_a_detection_overlapping_a_label_less_than_three_tenths_is_not_that_face():
    assert best_pairs([(0, 0, 10, 10)], [(7, 0, 10, 10), (50, 50, 10, 10)]) == []
    assert best_pairs([(0, 0, 10, 10)], [(5, 0, 10, 10)]) == [(0, 0)]
