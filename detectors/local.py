"""The embedded face detector the service runs (``DETECTOR=local``)."""

from detectors.hog import HogDetector as LocalDetector

__all__ = ["LocalDetector"]
