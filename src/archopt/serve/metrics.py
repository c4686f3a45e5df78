"""Prometheus metrics of one server (its own registry, so several apps can live in a process):
requests by path and status, request latency, examples, batch sizes, queue length, in-flight
requests and requests rejected because the queue was full."""

from __future__ import annotations

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

PATHS = {"/v1/predict", "/v1/health", "/v1/ready", "/v1/metadata", "/metrics", "/docs",
         "/openapi.json"}
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024)


class ServerMetrics:
    """The server's counters, histograms and gauges."""

    content_type = CONTENT_TYPE_LATEST

    def __init__(self) -> None:
        r = self.registry = CollectorRegistry()
        self.requests = Counter("archopt_requests_total", "HTTP requests by path and status",
                                ["path", "status"], registry=r)
        self.latency = Histogram("archopt_request_duration_seconds", "request latency",
                                 ["path"], buckets=LATENCY_BUCKETS, registry=r)
        self.examples = Counter("archopt_examples_total", "examples predicted", registry=r)
        self.batch_size = Histogram("archopt_batch_size", "examples per model call",
                                    buckets=BATCH_BUCKETS, registry=r)
        self.queue_length = Gauge("archopt_queue_length", "requests waiting for the model",
                                  registry=r)
        self.in_flight = Gauge("archopt_requests_in_flight", "requests being handled",
                               registry=r)
        self.rejected = Counter("archopt_rejected_total", "requests refused: queue full",
                                registry=r)

    def observe(self, path: str, status: int, seconds: float) -> None:
        path = path if path in PATHS else "other"  # unknown paths do not grow the label set
        self.requests.labels(path, str(status)).inc()
        self.latency.labels(path).observe(seconds)

    def render(self) -> bytes:
        return generate_latest(self.registry)
