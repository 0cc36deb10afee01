"""JPEG bytes to the upright RGB picture a browser shows, decoded no larger than a detector needs.

Both local detectors see an image as displayed: its EXIF orientation applied, exactly as
``ImageOps.exif_transpose`` (and browsers) do, and report boxes in that frame at full resolution.
"""

from __future__ import annotations

import io
import math
import struct
from collections.abc import Callable

from PIL import ExifTags, Image, UnidentifiedImageError

from detectors.base import BadImageError

# EXIF orientation -> the transpose that shows the image upright: the table of ImageOps.exif_transpose,
# applied directly because exif_transpose also re-encodes the EXIF block into its copy, which is of no
# use here and raises TypeError on some malformed EXIF (found by fuzzing).
_EXIF_TRANSPOSE = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
# Orientations 5..8 turn the image by a quarter: its displayed width is its stored height.
_QUARTER_TURNS = frozenset(_EXIF_TRANSPOSE[orientation] for orientation in (5, 6, 7, 8))

# What Pillow raises for bytes that are not a decodable JPEG besides UnidentifiedImageError: "image
# file is truncated" is an OSError; broken headers raise SyntaxError, short streams EOFError, bad tables
# ValueError, mangled EXIF struct.error; DecompressionBombError guards against absurd pixel counts in a
# small file.
_DECODE_ERRORS = (OSError, SyntaxError, EOFError, ValueError, struct.error, Image.DecompressionBombError)


def decode_upright(
    image: bytes, scale_for: Callable[[int, int], float] | None = None
) -> tuple[Image.Image, tuple[int, int]]:
    """Decode ``image`` to an upright RGB picture and return it with the full upright (width, height).

    ``scale_for(width, height)`` is the factor the caller will resize the picture by; below 1, JPEG's
    DCT scaling decodes
    at 1/2, 1/4 or 1/8 size when that still delivers it, far cheaper than decoding every pixel. The
    picture returned is at least that large; resizing the rest of the way is the caller's.

    Raises:
        BadImageError: the bytes are not a decodable JPEG.
    """
    try:
        with Image.open(io.BytesIO(image), formats=["JPEG"]) as stored:
            width, height = stored.size
            scale = scale_for(width, height) if scale_for is not None else 1.0
            if scale < 1.0:
                stored.draft("RGB", (math.ceil(width * scale), math.ceil(height * scale)))
            stored.load()
            picture = stored if stored.mode == "RGB" else stored.convert("RGB")
            try:
                orientation = stored.getexif().get(ExifTags.Base.Orientation)
            except _DECODE_ERRORS:
                # The pixels are fine, only the EXIF block is unreadable: analysed unrotated, as
                # browsers show an image whose orientation they cannot read.
                orientation = None
    except UnidentifiedImageError as error:
        # Its message names a BytesIO object, which tells the reader nothing.
        raise BadImageError("not a JPEG image") from error
    except _DECODE_ERRORS as error:
        raise BadImageError(f"cannot decode the JPEG image: {error}") from error
    # A malformed tag (not an int) is ignored, as ImageOps.exif_transpose and browsers ignore it.
    method = _EXIF_TRANSPOSE.get(orientation) if isinstance(orientation, int) else None
    if method is None:
        return picture, (width, height)
    if method in _QUARTER_TURNS:
        width, height = height, width
    return picture.transpose(method), (width, height)



def blank_jpeg() -> bytes:
    """A small JPEG with no face (a grey gradient), to warm a detector up with."""
    buffer = io.BytesIO()
    Image.linear_gradient("L").save(buffer, format="JPEG")
    return buffer.getvalue()
