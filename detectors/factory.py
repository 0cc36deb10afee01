"""The detector the service runs, built from its settings (``DETECTOR`` and its knobs), ready to call.

The one place that turns settings into a detector: the workers, the evaluation, the benchmark and the
accuracy tests all build it here, so what they measure is what the workers run.
"""

from __future__ import annotations

from config.settings import Settings
from detectors.base import Detector


def make_detector(settings: Settings) -> Detector:
    # Each kind imported only when chosen: a FaceCloud worker never loads onnxruntime and the models.
    if settings.detector == "facecloud":
        from detectors.facecloud import FaceCloudClient

        return FaceCloudClient(
            settings.facecloud_url,
            settings.facecloud_email or "",
            settings.facecloud_password or "",
            timeout=(5.0, settings.facecloud_timeout_s),
        )
    from detectors.local import LocalDetector

    detector = LocalDetector(
        min_score=settings.local_min_score,
        min_gender_confidence=settings.local_min_gender_confidence,
        min_face=settings.local_min_face_px,
        max_detect_pixels=settings.local_max_detect_pixels,
    )
    detector.warm_up()
    return detector
