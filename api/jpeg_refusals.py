"""What a file that fails the JPEG check (``storage.jpeg``) is told: one title and description, whether
it came alone (the HTTP error answering the upload) or in an archive (its line in ``rejected``)."""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import falcon

from api.errors import sentence
from storage.jpeg import CorruptJpegError, NotJpegError, TooManyPixelsError, check_jpeg


class JpegRefusal(NamedTuple):
    error: type[falcon.HTTPError]  # how a single upload is answered
    title: str
    description: str


def jpeg_refusal(path: Path, max_pixels: int) -> JpegRefusal | None:
    """Why the file at ``path`` cannot be an image, or None when it can."""
    try:
        check_jpeg(path, max_pixels)
    except TooManyPixelsError as error:
        return JpegRefusal(falcon.HTTPContentTooLarge, "Image too large", f"{sentence(error)}.")
    except NotJpegError as error:
        return JpegRefusal(falcon.HTTPUnsupportedMediaType, "Not a JPEG", f"{sentence(error)}; only JPEG is accepted.")
    except CorruptJpegError as error:
        return JpegRefusal(falcon.HTTPUnprocessableEntity, "Corrupt JPEG", f"{sentence(error)}.")
    return None
