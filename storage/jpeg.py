"""Is this file a JPEG we can analyse? Judged by content, never by the declared type."""

from __future__ import annotations

from pathlib import Path

from PIL import Image, UnidentifiedImageError

JPEG_SIGNATURE = b"\xff\xd8\xff"
# Decoding at 1/8 scale (libjpeg's DCT scaling) still reads every byte of the entropy-coded
# data, so truncation and corruption are caught at a fraction of a full decode's cost.
_DRAFT_SCALE = 8


class NotJpegError(ValueError):
    """The bytes are not a JPEG at all."""


class CorruptJpegError(ValueError):
    """The bytes start like a JPEG but do not decode."""


def check_jpeg(path: Path) -> tuple[int, int]:
    """Raise unless ``path`` holds a decodable JPEG; return its (width, height) in pixels."""
    with path.open("rb") as file:
        if file.read(len(JPEG_SIGNATURE)) != JPEG_SIGNATURE:
            raise NotJpegError("the file is not a JPEG image")
    try:
        with Image.open(path) as image:
            if image.format != "JPEG":
                raise NotJpegError("the file is not a JPEG image")
            size = image.size
            image.draft("RGB", (max(1, size[0] // _DRAFT_SCALE), max(1, size[1] // _DRAFT_SCALE)))
            image.load()
            return size
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as error:
        if isinstance(error, NotJpegError):
            raise
        raise CorruptJpegError(f"the JPEG image is corrupt or truncated: {error}") from None
