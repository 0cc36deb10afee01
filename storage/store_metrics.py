"""The image store's calls as Prometheus metrics: their latency and their failures, by operation.

Both the API (one registry per app) and the workers (prometheus_client's multiprocess mode,
``registry=None``) count with this one definition; prometheus_client is imported only when an
instance is made, after the workers chose their mode (``actors.metrics``).
"""

from __future__ import annotations

from typing import Any

# Seconds: a local file in microseconds up to an object store's multi-second multipart upload.
STORE_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class StoreMetrics:
    """An ``Observer`` for ``ImageStore.watch``."""

    def __init__(self, registry: Any) -> None:
        import prometheus_client as prom

        self.latency = prom.Histogram(
            "facetasks_store_seconds", "Time of one call to the image store, in seconds.", ["operation"],
            buckets=STORE_BUCKETS, registry=registry,
        )
        self.errors = prom.Counter(
            "facetasks_store_errors", "Calls to the image store that failed (unreachable, or a 5xx).", ["operation"],
            registry=registry,
        )

    def observe(self, operation: str, seconds: float, failed: bool) -> None:
        self.latency.labels(operation).observe(seconds)
        if failed:
            self.errors.labels(operation).inc()
