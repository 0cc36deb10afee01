"""Generated variants of the labelled photos, their labels transformed exactly.

Every variant is a list of :class:`Sample`: JPEG bytes (quality 90) with the faces on them in the
frame of the image *as displayed*, in the labels format of :mod:`tools.evaluate`. Generation is
deterministic (no randomness): the same photos give byte-identical samples.

* ``frontal`` -- the photos with faces as they are (JPEG files unchanged, PNG encoded as JPEG).
* ``tilted`` -- each rotated by -35, -20, +20 and +35 degrees (positive: counter-clockwise), the canvas
  expanded to hold the whole photo, corners black; a face's box keeps its size, its centre turns with
  the image (:func:`rotate_box`).
* ``small`` -- each photo shrunk twice, so that its smallest face is 24 px wide and so that its largest
  is 48 px (each within 20..55 px: :data:`SMALL_FACES`), the copies laid out on 1920 x 1080 grey frames,
  the crowd or event picture users send; boxes scaled and offset.
* ``exif`` -- the pixels stored rotated by 180, 90 and 270 degrees and mirrored, with EXIF orientation
  3, 6, 8 and 2 saying how to show them, so that the displayed image is the photo: labels unchanged.
* ``negatives`` -- the photos without faces, as they are and tilted like ``tilted``.

Limits: faces labelled ``ignore`` (background people too small to count) are carried through but not
held to the size range of ``small``.
"""

from __future__ import annotations

import io
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PIL import ExifTags, Image

ANGLES = (-35, -20, 20, 35)
# Width range (px) of the faces in the ``small`` variant, and the two targets within it.
SMALL_FACES = (20, 55)
_SMALL_SMALLEST = 24
_SMALL_LARGEST = 48
FRAME = (1920, 1080)
_FRAME_GAP = 16  # px between the photos on a frame, so no face straddles two of them
_FRAME_GREY = (128, 128, 128)
QUALITY = 90

# EXIF orientation -> how the upright photo is stored so that a viewer applying the tag shows it upright
# (the inverse of what ImageOps.exif_transpose applies).
STORED_AS = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    6: Image.Transpose.ROTATE_90,
    8: Image.Transpose.ROTATE_270,
}

Labels = dict[str, list[dict[str, Any]]]


@dataclass(frozen=True)
class Sample:
    """One generated image: ``name`` is unique across variants, ``faces`` its labels (may be empty)."""

    variant: str
    name: str
    jpeg: bytes
    faces: list[dict[str, Any]]


def rotate_box(box: list[int], degrees: float, size: tuple[int, int], rotated_size: tuple[int, int]) -> list[int]:
    """The box of a face after ``Image.rotate(degrees, expand=True)`` of an image of ``size``.

    The box keeps its width and height; its centre turns about the image centre, which lands in the
    centre of the expanded canvas of ``rotated_size``. Degrees are counter-clockwise as displayed.
    """
    x, y, width, height = box
    dx = x + width / 2 - size[0] / 2
    dy = y + height / 2 - size[1] / 2
    theta = math.radians(degrees)
    # y points down, so a counter-clockwise turn on screen is clockwise in these coordinates.
    cx = rotated_size[0] / 2 + dx * math.cos(theta) + dy * math.sin(theta)
    cy = rotated_size[1] / 2 - dx * math.sin(theta) + dy * math.cos(theta)
    return [round(cx - width / 2), round(cy - height / 2), width, height]


def encode(image: Image.Image, orientation: int | None = None) -> bytes:
    """JPEG bytes of ``image`` at quality 90, with an EXIF orientation tag when one is given."""
    buffer = io.BytesIO()
    options: dict[str, Any] = {"quality": QUALITY}
    if orientation is not None:
        exif = Image.Exif()
        exif[ExifTags.Base.Orientation] = orientation
        options["exif"] = exif
    image.save(buffer, format="JPEG", **options)
    return buffer.getvalue()


def frontal(photos: dict[str, Path], labels: Labels) -> Iterator[Sample]:
    """The photos with faces as they are (see the module docstring)."""
    for name in _with_faces(labels):
        path = photos[name]
        data = path.read_bytes() if path.suffix.lower() in (".jpg", ".jpeg") else encode(_open(path))
        yield Sample("frontal", name, data, labels[name])


def tilted(photos: dict[str, Path], labels: Labels) -> Iterator[Sample]:
    """Each photo with faces rotated by :data:`ANGLES` (see the module docstring)."""
    yield from _tilted("tilted", _with_faces(labels), photos, labels)


def small(photos: dict[str, Path], labels: Labels) -> Iterator[Sample]:
    """The photos with faces shrunk to 20..55 px faces, composed into 1920x1080 frames."""
    pieces = []
    for name in _with_faces(labels):
        widths = [face["bbox"][2] for face in labels[name] if not face.get("ignore")]
        lowest, highest = SMALL_FACES[0] / min(widths), SMALL_FACES[1] / max(widths)
        if lowest > highest:
            raise ValueError(f"{name}: faces of {min(widths)}..{max(widths)} px cannot all fit {SMALL_FACES}")
        photo = _open(photos[name])
        # Both targets clamped into the feasible range: a photo whose faces differ in size a lot gets
        # whatever keeps every face within 20..55 px.
        for target in (_SMALL_SMALLEST / min(widths), _SMALL_LARGEST / max(widths)):
            factor = min(max(target, lowest), highest)
            size = (round(photo.width * factor), round(photo.height * factor))
            shrunk = photo.resize(size, Image.Resampling.LANCZOS)
            faces = [_scaled(face, size[0] / photo.width, size[1] / photo.height) for face in labels[name]]
            pieces.append((shrunk, faces))
    for number, frame in enumerate(_compose(pieces), start=1):
        picture, faces = frame
        yield Sample("small", f"frame-{number}.jpg", encode(picture), faces)


def exif(photos: dict[str, Path], labels: Labels) -> Iterator[Sample]:
    """Each photo with faces stored turned or mirrored under EXIF orientation 2, 3, 6 and 8."""
    for name in _with_faces(labels):
        photo = _open(photos[name])
        for orientation, transpose in STORED_AS.items():
            stored = encode(photo.transpose(transpose), orientation)
            yield Sample("exif", f"{name}@orientation{orientation}", stored, labels[name])


def negatives(photos: dict[str, Path], labels: Labels) -> Iterator[Sample]:
    """The photos without faces, as they are and tilted by :data:`ANGLES`."""
    names = [name for name, faces in labels.items() if not faces]
    for name in names:
        yield Sample("negatives", name, encode(_open(photos[name])), [])
    yield from _tilted("negatives", names, photos, labels)


VARIANTS: dict[str, Callable[[dict[str, Path], Labels], Iterator[Sample]]] = {
    "frontal": frontal,
    "tilted": tilted,
    "small": small,
    "exif": exif,
    "negatives": negatives,
}


def generate(photos: dict[str, Path], labels: Labels, variants: list[str] | None = None) -> list[Sample]:
    """Every sample of ``variants`` (default: all, in :data:`VARIANTS` order) from the photos."""
    return [sample for variant in variants or list(VARIANTS) for sample in VARIANTS[variant](photos, labels)]


def _with_faces(labels: Labels) -> list[str]:
    return [name for name, faces in labels.items() if any(not face.get("ignore") for face in faces)]


def _open(path: Path) -> Image.Image:
    with Image.open(path) as image:
        return image.convert("RGB")


def _tilted(variant: str, names: list[str], photos: dict[str, Path], labels: Labels) -> Iterator[Sample]:
    for name in names:
        photo = _open(photos[name])
        for degrees in ANGLES:
            turned = photo.rotate(degrees, resample=Image.Resampling.BICUBIC, expand=True)
            faces = [
                {**face, "bbox": rotate_box(face["bbox"], degrees, photo.size, turned.size)} for face in labels[name]
            ]
            yield Sample(variant, f"{name}@{degrees:+d}deg", encode(turned), faces)


def _scaled(face: dict[str, Any], sx: float, sy: float, dx: int = 0, dy: int = 0) -> dict[str, Any]:
    x, y, width, height = face["bbox"]
    left, top = round(x * sx) + dx, round(y * sy) + dy
    box = [left, top, round((x + width) * sx) + dx - left, round((y + height) * sy) + dy - top]
    return {**face, "bbox": box}


def _compose(
    pieces: list[tuple[Image.Image, list[dict[str, Any]]]],
) -> Iterator[tuple[Image.Image, list[dict[str, Any]]]]:
    """Lay the pieces out in rows, left to right, top to bottom, starting a new frame when one is full."""
    frame, faces = Image.new("RGB", FRAME, _FRAME_GREY), []
    x, y, row_height = _FRAME_GAP, _FRAME_GAP, 0
    for picture, labelled in pieces:
        if picture.width + 2 * _FRAME_GAP > FRAME[0] or picture.height + 2 * _FRAME_GAP > FRAME[1]:
            raise ValueError(f"a shrunk photo of {picture.size} does not fit a {FRAME} frame")
        if x + picture.width + _FRAME_GAP > FRAME[0]:  # next row
            x, y, row_height = _FRAME_GAP, y + row_height + _FRAME_GAP, 0
        if y + picture.height + _FRAME_GAP > FRAME[1]:  # next frame
            yield frame, faces
            frame, faces = Image.new("RGB", FRAME, _FRAME_GREY), []
            x, y, row_height = _FRAME_GAP, _FRAME_GAP, 0
        frame.paste(picture, (x, y))
        faces.extend(_scaled(face, 1, 1, x, y) for face in labelled)
        x += picture.width + _FRAME_GAP
        row_height = max(row_height, picture.height)
    if faces:
        yield frame, faces
