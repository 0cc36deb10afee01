"""What the FaceCloud emulator answers for one image, and helpers to build test images.

An image decides its own answer, so a test or a benchmark can prepare any outcome without
configuring the server:

* a JPEG carrying a COM segment whose text is ``facecloud:`` + JSON gets that JSON: a list of
  faces in FaceCloud's format (returned as is) or ``{"status": 400, "message": "..."}``
  (answered as that error);
* any other JPEG gets 0-3 faces derived from the SHA-256 of its bytes (same bytes, same faces);
* bytes that are not a JPEG get 400 "bad image".

``make_jpeg`` and ``face`` build such images and face items.
"""

from __future__ import annotations

import hashlib
import io
import json
from typing import Any

from PIL import Image

DIRECTIVE_PREFIX = b"facecloud:"
_SOI = b"\xff\xd8"
_COM = 0xFE
_SOS = 0xDA
_EOI = 0xD9
# Markers that stand alone, without a length field: TEM, RST0-7, SOI, EOI.
_STANDALONE_MARKERS = {0x01, *range(0xD0, 0xD8), 0xD8, _EOI}
_GENDERS = ("male", "female", "unknown")
_ETHNICITIES = ("caucasian", "asian", "black", "hispanic")


class EmulatedError(Exception):
    """The emulator answers this image with HTTP ``status`` and ``message``."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"{status}: {message}")
        self.status = status
        self.message = message


def face(
    x: float, y: float, w: float, h: float, gender: str | None, age: float, score: float = 0.99
) -> dict[str, Any]:
    """One face item exactly as FaceCloud returns it: bbox in pixels, age in years.

    ``age`` is written as given, so ``28`` stays an integer in the JSON (as FaceCloud may send it);
    ``gender=None`` writes JSON null.
    """
    return {
        "bbox": {"x": x, "y": y, "width": w, "height": h},
        "score": score,
        "demographics": {
            "age": {"mean": age, "variance": 25.0},
            "gender": gender,
            "ethnicity": "caucasian",
        },
    }


def make_jpeg(
    width: int = 64,
    height: int = 64,
    faces: list[dict[str, Any]] | None = None,
    error: str | dict[str, Any] | None = None,
    color: tuple[int, int, int] = (128, 128, 128),
) -> bytes:
    """A real JPEG of ``width`` x ``height`` pixels filled with ``color``.

    With ``faces`` (``[]`` included) the emulator answers exactly those faces; with ``error`` it
    answers an error: a string is a 400 with that message, a dict is ``{"status": N, "message": ...}``.
    Without either the emulator derives faces from the bytes, so vary ``color`` or the size to get
    distinct images. The directive JSON must fit one COM segment (65,533 bytes).
    """
    if faces is not None and error is not None:
        raise ValueError("give faces or error, not both")
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), color).save(buffer, format="JPEG", quality=85)
    jpeg = buffer.getvalue()
    if faces is None and error is None:
        return jpeg
    directive: Any = faces if faces is not None else error
    if isinstance(directive, str):
        directive = {"status": 400, "message": directive}
    payload = DIRECTIVE_PREFIX + json.dumps(directive).encode()
    if len(payload) > 0xFFFF - 2:
        raise ValueError(f"directive of {len(payload)} bytes does not fit one COM segment")
    segment = bytes([0xFF, _COM]) + (len(payload) + 2).to_bytes(2, "big") + payload
    return jpeg[:2] + segment + jpeg[2:]


def read_directive(jpeg: bytes) -> Any | None:
    """The parsed JSON of the first ``facecloud:`` COM segment before the image data, or None.

    Raises ``EmulatedError(400)`` when the directive is not valid JSON, so a broken test image
    shows up as an error instead of silently getting random faces.
    """
    if not jpeg.startswith(_SOI):
        return None
    pos = 2
    while pos + 4 <= len(jpeg):
        if jpeg[pos] != 0xFF:
            return None
        marker = jpeg[pos + 1]
        if marker == 0xFF:  # fill byte before a marker
            pos += 1
            continue
        if marker in _STANDALONE_MARKERS:
            if marker == _EOI:
                return None
            pos += 2
            continue
        if marker == _SOS:
            return None
        length = int.from_bytes(jpeg[pos + 2 : pos + 4], "big")
        body = jpeg[pos + 4 : pos + 2 + length]
        if marker == _COM and body.startswith(DIRECTIVE_PREFIX):
            try:
                return json.loads(body[len(DIRECTIVE_PREFIX) :])
            except ValueError as exc:
                raise EmulatedError(400, f"emulator: invalid facecloud: directive: {exc}") from None
        pos += 2 + length
    return None


def image_size(jpeg: bytes) -> tuple[int, int] | None:
    """(width, height) read from the JPEG header, or None when these bytes are not a readable JPEG."""
    if not jpeg.startswith(_SOI):
        return None
    try:
        with Image.open(io.BytesIO(jpeg)) as img:
            return img.size if img.format == "JPEG" else None
    except Exception:
        # Pillow raises a zoo of types for corrupt input (OSError, SyntaxError, ValueError,
        # DecompressionBombError...); every one of them means "not an image we can read".
        return None


def deterministic_faces(jpeg: bytes, width: int, height: int) -> list[dict[str, Any]]:
    """0-3 faces inside a ``width`` x ``height`` image, a pure function of the bytes' SHA-256.

    Genders are male, female or unknown; ages are floats with one decimal in 18.0-77.9.
    """
    digest = hashlib.sha256(jpeg).digest()
    faces = []
    for index in range(digest[0] % 4):
        seed = hashlib.sha256(digest + bytes([index])).digest()
        side = max(1, min(width, height) * (20 + seed[0] % 30) // 100)
        x = int.from_bytes(seed[1:3], "big") % (width - side + 1)
        y = int.from_bytes(seed[3:5], "big") % (height - side + 1)
        item = face(
            x,
            y,
            side,
            side,
            _GENDERS[seed[5] % 3],
            round(18 + int.from_bytes(seed[6:8], "big") % 600 / 10, 1),
            round(0.8 + int.from_bytes(seed[8:10], "big") % 2000 / 10000, 4),
        )
        item["demographics"]["age"]["variance"] = float(10 + seed[10] % 60)
        item["demographics"]["ethnicity"] = _ETHNICITIES[seed[11] % len(_ETHNICITIES)]
        faces.append(item)
    return faces


def faces_for(jpeg: bytes) -> list[dict[str, Any]]:
    """The faces the emulator answers for these bytes; raises ``EmulatedError`` for an error answer."""
    size = image_size(jpeg)
    if size is None:
        raise EmulatedError(400, "bad image")
    directive = read_directive(jpeg)
    if directive is None:
        return deterministic_faces(jpeg, *size)
    if isinstance(directive, list):
        return directive
    if isinstance(directive, dict):
        raise EmulatedError(int(directive.get("status", 400)), str(directive.get("message", "bad image")))
    raise EmulatedError(400, "emulator: a facecloud: directive must be a list of faces or an error object")
