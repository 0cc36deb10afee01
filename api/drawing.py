"""Draw each face's box and a "female · 28" label onto an image (Pillow), for ``…/annotated``."""

from __future__ import annotations

import io
import math
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from typing import BinaryIO

from PIL import Image, ImageDraw, ImageFont, ImageOps

from storage.reports import StoredFace
from storage.store import StoredImage

# The same colours as the web page's boxes, so a picture and the page read alike.
COLORS = {"female": (214, 51, 108), "male": (28, 126, 214), "unknown": (245, 159, 0)}
JPEG_QUALITY = 90
# Bytes of an image held in memory while it is decoded; a larger one is spooled to a temporary file.
SPOOL_BYTES = 2 * 1024 * 1024


def label(gender: str, age: float) -> str:
    # Half up, as the page's Math.round does: round() would turn 28.5 into 28.
    return f"{gender} · {math.floor(age + 0.5)}"


def _upright(image: Image.Image) -> Image.Image:
    """The image as displayed: boxes are in that frame (EXIF orientation applied)."""
    try:
        return ImageOps.exif_transpose(image)
    except (TypeError, ValueError, SyntaxError):
        # Malformed EXIF: the stored pixel grid is the best frame left.
        return image


@contextmanager
def spooled(stored: StoredImage) -> Iterator[BinaryIO]:
    """The stored image as a seekable file, which Pillow needs: a store's stream may only read forward."""
    with stored.stream as stream, tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES) as copy:
        shutil.copyfileobj(stream, copy)
        copy.seek(0)
        yield copy


def draw(source: BinaryIO, faces: list[StoredFace]) -> bytes:
    """The JPEG in ``source`` with ``faces`` drawn on it, as new JPEG bytes."""
    with Image.open(source) as original:
        image = _upright(original).convert("RGB")
    pen = ImageDraw.Draw(image)
    # Lines and text grow with the picture, so they stay legible on a photo shown scaled down.
    line = max(2, round(max(image.size) / 400))
    font = ImageFont.load_default(size=max(11, round(min(image.size) / 32)))
    for face in faces:
        color = COLORS.get(face.gender, COLORS["unknown"])
        left, top = face.x, face.y
        right, bottom = left + face.width - 1, top + face.height - 1
        pen.rectangle((left, top, right, bottom), outline=color, width=line)
        _draw_label(pen, font, label(face.gender, face.age), color, left, top)
    out = io.BytesIO()
    # 4:4:4: with chroma subsampling thin coloured lines would smear into the picture.
    image.save(out, format="JPEG", quality=JPEG_QUALITY, subsampling=0)
    return out.getvalue()


def _draw_label(pen: ImageDraw.ImageDraw, font: ImageFont.FreeTypeFont, text: str,
                color: tuple[int, int, int], left: int, top: int) -> None:
    x0, y0, x1, y1 = pen.textbbox((0, 0), text, font=font)
    pad = max(2, (y1 - y0) // 5)
    width, height = x1 - x0 + 2 * pad, y1 - y0 + 2 * pad
    # Above the box when there is room, else just inside its top edge.
    x = max(0, left)
    y = top - height if top - height >= 0 else max(0, top)
    pen.rectangle((x, y, x + width, y + height), fill=color)
    pen.text((x + pad - x0, y + pad - y0), text, fill=(255, 255, 255), font=font)
