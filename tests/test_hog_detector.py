"""The previous local detector, dlib's HOG, kept to be measured against (tools/hog.py)."""

from __future__ import annotations

from pathlib import Path

from PIL import Image

from detectors.classify import Classifier
from tools.hog import HogDetector
from tools.overlap import iou

FIXTURES = Path(__file__).parent / "fixtures"


def test_hog_finds_the_astronaut_and_nothing_on_a_photo_without_faces():
    detector = HogDetector()
    detector.warm_up()

    [face] = detector.detect((FIXTURES / "astronaut.jpg").read_bytes())
    empty = detector.detect((FIXTURES / "no-face.jpg").read_bytes())

    assert iou((face.x, face.y, face.width, face.height), (180, 73, 90, 114)) >= 0.3
    assert face.gender == "female" and 0.5 < face.score < 1
    assert empty == []


def test_the_classifier_given_no_boxes_finds_no_faces_of_its_own():
    # The package reads "no boxes" as "detect them yourself": on the astronaut it would find her.
    classifier = Classifier()
    picture = Image.open(FIXTURES / "astronaut.jpg").convert("RGB")

    assert classifier.faces(picture, [], [], picture.size, 0.6) == []
