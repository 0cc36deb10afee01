"""Worker metrics: Dramatiq's own (messages, durations, retries) plus detector and image store latency and errors.

Dramatiq's ``Prometheus`` middleware aggregates every worker process of a host through
prometheus_client's multiprocess mode and serves them from one fork; ours is ``serve``, on
WORKER_METRICS_HOST:WORKER_METRICS_PORT (loopback by default, where Dramatiq's own listens on every
interface and prints a traceback when the port is taken). Multiprocess mode is chosen when
prometheus_client is imported, so nothing here imports it before ``enable()``.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from http.server import HTTPServer

from dramatiq.middleware.prometheus import DB_PATH, Prometheus, _metrics_handler

from detectors.base import BadImageError, Detector, DetectorAuthError, Face, TransientDetectorError

# Seconds: from a local model's tens of milliseconds up to FaceCloud's 30-second timeout.
DETECTOR_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
_ERROR_KINDS = ((TransientDetectorError, "transient"), (BadImageError, "bad_image"), (DetectorAuthError, "auth"))


logger = logging.getLogger(__name__)


class _Exporter(Prometheus):
    """Dramatiq's middleware with another exposition fork."""

    def __init__(self, fork: Callable[[], None]) -> None:
        super().__init__()
        self._fork = fork

    @property
    def forks(self) -> list[Callable[[], None]]:
        return [self._fork]


def enable(fork: Callable[[], None]) -> Prometheus:
    """Switch this process to multiprocess metrics; returns Dramatiq's middleware to add, whose
    exposition server is ``fork`` (a module-level function: Dramatiq runs it by its import path)."""
    os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", DB_PATH)
    return _Exporter(fork)


def serve(host: str, port: int) -> None:
    """Serve every worker process's metrics on ``host:port`` until stopped.

    A port already taken (a second worker set on the host) costs the metrics, not the workers: one
    warning, and the fork ends.
    """
    try:
        server = HTTPServer((host, port), _metrics_handler)
    except OSError as error:
        logger.warning("worker metrics not served: cannot listen on %s:%d (%s); set WORKER_METRICS_PORT to a free "
                       "port", host, port, error.strerror)
        return
    logger.info("worker metrics on http://%s:%d/", host, port)
    with server:
        server.serve_forever()


class MeasuredDetector:
    """A detector whose calls are timed and whose errors are counted by kind."""

    def __init__(self, detector: Detector, name: str) -> None:
        import prometheus_client as prom  # only after enable(): see the module docstring

        self.detector = detector
        self.name = name
        self.model = detector.model
        # registry=None: in multiprocess mode values go to files the exposition fork reads.
        self.latency = prom.Histogram(
            "facetasks_detector_seconds", "Time of one detector call, in seconds.", ["detector"],
            buckets=DETECTOR_BUCKETS, registry=None,
        )
        self.errors = prom.Counter(
            "facetasks_detector_errors", "Detector calls that failed, by kind.", ["detector", "kind"], registry=None
        )
        self.repeats = prom.Counter(
            "facetasks_detector_calls_repeated",
            "Detector calls for an image claimed before in the same run (a redelivery or a retry).",
            ["detector"], registry=None,
        )

    def count_repeat(self) -> None:
        """One more call for an image already claimed in its run: at-least-once delivery's price."""
        self.repeats.labels(self.name).inc()

    def ready(self) -> None:
        self.detector.ready()

    def detect(self, image: bytes, began: Callable[[], None] | None = None) -> list[Face]:
        started = time.perf_counter()
        try:
            return self.detector.detect(image, began)
        except Exception as error:
            kind = next((k for cls, k in _ERROR_KINDS if isinstance(error, cls)), "other")
            self.errors.labels(self.name, kind).inc()
            raise
        finally:
            self.latency.labels(self.name).observe(time.perf_counter() - started)
