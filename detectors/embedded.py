"""What the detectors that run on this machine share, CenterFace's (:mod:`detectors.local`) and the HOG one
it replaced (:mod:`tools.hog`, kept to measure against): the size of the faces looked for, the picture
searched at a working scale of their own, the age and gender classifier over the faces found, and the
warm-up."""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections.abc import Callable

from PIL import Image

from detectors.base import Face
from detectors.classify import Classifier
from detectors.upright import blank_jpeg, decode_upright


class EmbeddedDetector(ABC):
    """Find faces with their gender and age on one JPEG, on this machine's CPU.

    Loading takes about a second; build one per process, reuse it, and call :meth:`warm_up` before
    the first image.
    """

    def __init__(self, *, min_gender_confidence: float, min_face: int, max_detect_pixels: int) -> None:
        self.min_gender_confidence = min_gender_confidence
        self.min_face = min_face
        self.max_detect_pixels = max_detect_pixels
        self._classifier = Classifier()
        self.model_version = self._classifier.version
        self._lock = threading.Lock()

    @abstractmethod
    def detect(self, image: bytes, began: Callable[[], None] | None = None) -> list[Face]:
        """The faces on ``image`` (JPEG bytes), boxes in pixels of the EXIF-oriented full image."""

    @abstractmethod
    def working_scale(self, width: int, height: int) -> float:
        """Factor from the full (width, height) image to the one searched."""

    def warm_up(self) -> None:
        """Run every model once, so that the first real image is not slower."""
        self.detect(blank_jpeg())
        self._classifier.warm_up()

    def ready(self) -> None:  # noqa: B027 (concrete on purpose: both load their models in __init__)
        """Nothing to do: the models are loaded when the detector is made."""

    def decoded(self, image: bytes, resampling: Image.Resampling) -> tuple[Image.Image, Image.Image, tuple[int, int]]:
        """``image`` upright as decoded (JPEG's DCT scaling brings it near the working scale, never below it),
        the same at exactly the working scale (resized with ``resampling``), and the full (width, height).

        Raises:
            BadImageError: the bytes are not a decodable JPEG.
        """
        decoded, full_size = decode_upright(image, self.working_scale)
        scale = self.working_scale(*full_size)
        size = (max(1, round(full_size[0] * scale)), max(1, round(full_size[1] * scale)))
        searched = decoded if decoded.size == size else decoded.resize(size, resampling, reducing_gap=2.0)
        return decoded, searched, full_size
