"""``/metrics`` in Prometheus' text format (``prometheus-client``), one registry per app.

Each worker process (``--workers N``) keeps its own counters: Prometheus scrapes pods, and a
scrape of the shared port reaches one worker. Labels are the model's name and version, so a
dashboard splits traffic, errors and latency by version across an alias switch.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

_LATENCY_BUCKETS = (
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
)  # fmt: skip
_BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 4096)


class ServingMetrics:
    """The server's counters, gauges and histograms, registered in their own registry."""

    content_type = CONTENT_TYPE_LATEST

    def __init__(self) -> None:
        r = self.registry = CollectorRegistry()
        self.requests = Counter(
            "mm_serve_requests", "Scoring requests answered, by status code",
            ["model", "version", "protocol", "code"], registry=r,
        )  # fmt: skip
        self.errors = Counter(
            "mm_serve_request_errors", "Scoring requests answered with an error (4xx/5xx)",
            ["model", "version", "protocol", "code"], registry=r,
        )  # fmt: skip
        self.latency = Histogram(
            "mm_serve_request_latency_seconds", "Time from a request's arrival to its answer",
            ["model", "version"], buckets=_LATENCY_BUCKETS, registry=r,
        )  # fmt: skip
        self.rows = Counter("mm_serve_rows_scored", "Rows scored", ["model", "version"], registry=r)
        self.predict_calls = Counter(
            "mm_serve_predict_calls", "Calls of the model's predict (a batch counts once)",
            ["model", "version"], registry=r,
        )  # fmt: skip
        self.batch_rows = Histogram(
            "mm_serve_batch_rows", "Rows per predict call", ["model", "version"],
            buckets=_BATCH_BUCKETS, registry=r,
        )  # fmt: skip
        self.loads = Counter(
            "mm_serve_model_loads", "Model versions loaded, by result (ok or error)",
            ["model", "version", "result"], registry=r,
        )  # fmt: skip
        self.switches = Counter(
            "mm_serve_alias_switches", "Switches to the version an alias moved to",
            ["model", "alias"], registry=r,
        )  # fmt: skip
        self.ready = Gauge(
            "mm_serve_model_ready", "1 while the model serves what it should, 0 after a failed load",
            ["model"], registry=r,
        )  # fmt: skip
        self.serving = Gauge(
            "mm_serve_model_version_info", "1 for the version each model serves now",
            ["model", "version", "digest"], registry=r,
        )  # fmt: skip

    def render(self) -> bytes:
        return generate_latest(self.registry)
