"""The face-detector interface every backend implements, and its error tree.

A detector turns the bytes of one JPEG into the faces on it. Errors say what the
pipeline should do next, not where they came from:

* ``TransientDetectorError`` -- try again later (timeouts, connection errors, 429, 5xx).
* ``BadImageError`` -- this image will never work (FaceCloud 400); fail it at once.
* ``DetectorAuthError`` -- the configured credentials are refused; retrying the
  same image cannot help until an operator fixes the configuration.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class Face:
    """One face in the pixel frame of the uploaded image.

    ``x``/``y`` may be negative and the box may reach past the right or bottom edge:
    detectors report faces cut by the border that way. ``age`` is in years.
    """

    x: int
    y: int
    width: int
    height: int
    gender: str
    age: float
    score: float


class Detector(Protocol):
    #: What finds the faces, with its version where it has one; stored with each image's
    #: result so that results can be traced to the model that produced them.
    model: str

    def ready(self) -> None:
        """Do now what the next call would otherwise begin with and may be slow (a remote one's login).

        Called before the worker holds the image's task (``storage.image_states.CallGate``), so that a
        delete waits only for the call's start. Raises what ``detect`` raises for the same failure.
        """
        ...

    def detect(self, image: bytes, began: Callable[[], None] | None = None) -> list[Face]:
        """Return every face on ``image`` (JPEG bytes); ``[]`` when there is none.

        ``began`` is called once the call can no longer be taken back: when the image has been
        handed to the network (a remote detector) or when the computation starts (a local one).
        """
        ...


class DetectorError(Exception):
    """Base class of everything a detector raises on purpose."""


class TransientDetectorError(DetectorError):
    """The call may succeed if repeated later."""


class BadImageError(DetectorError):
    """The detector rejected the image itself; repeating the call cannot help."""


class DetectorAuthError(DetectorError):
    """The detector refused the configured credentials."""
