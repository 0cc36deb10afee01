"""Is this file a JPEG we can analyse? Judged by content, never by the declared type.

The pixel count is read from the JPEG's header before anything is decoded, so a small file that
claims 20,000 x 20,000 pixels is refused for what it claims, not after it has eaten the memory.
"""

from __future__ import annotations

import io
import warnings
from pathlib import Path
from typing import BinaryIO

from PIL import Image, UnidentifiedImageError

# Pillow loads its format plugins on its first open; loaded now, a worker's first images don't wait for it.
Image.preinit()

JPEG_SIGNATURE = b"\xff\xd8\xff"
# Decoding at 1/8 scale (libjpeg's DCT scaling) still reads every byte of the entropy-coded
# data, so truncation and corruption are caught at a fraction of a full decode's cost.
_DRAFT_SCALE = 8


class NotJpegError(ValueError):
    """The bytes are not a JPEG at all."""


class CorruptJpegError(ValueError):
    """The bytes start like a JPEG but do not decode."""


class TooManyPixelsError(ValueError):
    """The JPEG's header claims more pixels than the limit."""


def _open(source: BinaryIO, max_pixels: int) -> Image.Image:
    if source.read(len(JPEG_SIGNATURE)) != JPEG_SIGNATURE:
        raise NotJpegError("the file is not a JPEG image")
    source.seek(0)
    try:
        with warnings.catch_warnings():
            # Our own limit decides; Pillow's (a warning, then an error past twice its limit) must not.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(source, formats=["JPEG"])
    except Image.DecompressionBombError:
        raise TooManyPixelsError(f"the image has more pixels than Pillow will open; at most {max_pixels:,}") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as error:
        raise CorruptJpegError(f"the JPEG image is corrupt or truncated: {error}") from None
    width, height = image.size
    if width * height > max_pixels:
        image.close()
        raise TooManyPixelsError(
            f"the image has {width} x {height} = {width * height:,} pixels; at most {max_pixels:,} are accepted"
        )
    return image


def check_jpeg(path: Path, max_pixels: int) -> tuple[int, int]:
    """Raise unless ``path`` holds a decodable JPEG of at most ``max_pixels``; return (width, height)."""
    with path.open("rb") as file, _open(file, max_pixels) as image:
        size = image.size
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", Image.DecompressionBombWarning)
                image.draft("RGB", (max(1, size[0] // _DRAFT_SCALE), max(1, size[1] // _DRAFT_SCALE)))
                image.load()
        except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as error:
            raise CorruptJpegError(f"the JPEG image is corrupt or truncated: {error}") from None
        return size


def check_pixels(data: bytes, max_pixels: int) -> None:
    """Raise ``TooManyPixelsError`` (or ``NotJpegError``) from the header of ``data`` alone."""
    with _open(io.BytesIO(data), max_pixels):
        pass
