"""``GET /metrics`` in Prometheus' text format: requests by route, method and status with latency
histograms, calls to the image store (latency, failures), and tasks and images by status (read from
PostgreSQL at scrape time, at a cost that does not grow with the images kept: ``storage.census``)."""

from __future__ import annotations

import time
from collections.abc import Iterator

import falcon
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from storage.census import images_by_status, tasks_by_status
from storage.housekeeping import last_sweep
from storage.store import ImageStore
from storage.store_metrics import StoreMetrics

# Seconds; an API call beyond 2.5 s is already a problem worth its own bucket.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


class RequestMetrics:
    """Middleware counting and timing every request by its route template (not its raw path)."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.requests = Counter(
            "facetasks_http_requests", "HTTP requests answered.", ["route", "method", "status"], registry=registry
        )
        self.latency = Histogram(
            "facetasks_http_request_seconds", "Time to answer an HTTP request, in seconds.",
            ["route", "method"], buckets=LATENCY_BUCKETS, registry=registry,
        )

    def process_request(self, req: falcon.Request, resp: falcon.Response) -> None:
        req.context.metrics_started = time.perf_counter()

    def process_response(
        self, req: falcon.Request, resp: falcon.Response, resource: object, req_succeeded: bool
    ) -> None:
        # Unknown paths share one label, so random URLs cannot blow up the series count.
        route = req.uri_template if resource is not None and req.uri_template else "unmatched"
        self.requests.labels(route, req.method, str(resp.status_code)).inc()
        self.latency.labels(route, req.method).observe(time.perf_counter() - req.context.metrics_started)


class PipelineCollector(Collector):
    """Tasks and images by status, read from PostgreSQL when scraped."""

    def collect(self) -> Iterator[GaugeMetricFamily]:
        yield self._by_status("facetasks_tasks", "Tasks by status.", tasks_by_status())
        yield self._by_status("facetasks_images", "Images by status.", images_by_status())
        swept = last_sweep()
        if swept is not None:
            yield GaugeMetricFamily(
                "facetasks_housekeeping_last_sweep_timestamp_seconds",
                "When housekeeping last swept, on any machine (Unix time).", value=swept.timestamp(),
            )

    @staticmethod
    def _by_status(name: str, documentation: str, counts: dict[str, int]) -> GaugeMetricFamily:
        family = GaugeMetricFamily(name, documentation, labels=["status"])
        for status, count in counts.items():
            family.add_metric([status], count)
        return family


class MetricsResource:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.content_type = CONTENT_TYPE_LATEST
        resp.data = generate_latest(self.registry)


def install(app: falcon.App, store: ImageStore, registry: CollectorRegistry | None = None) -> RequestMetrics:
    """Serve ``/metrics`` from ``registry`` (a new one by default), counting ``store``'s calls there;
    return the request middleware."""
    registry = registry or CollectorRegistry()
    registry.register(PipelineCollector())
    store.watch(StoreMetrics(registry).observe)
    app.add_route("/metrics", MetricsResource(registry))
    return RequestMetrics(registry)
