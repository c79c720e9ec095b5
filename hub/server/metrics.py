"""Prometheus metrics, one registry per app (tests build many apps; nothing is global).

Per-request figures (count and latency per model) are plain numbers bumped on the event loop and
turned into metric families when ``/metrics`` is scraped: prometheus-client's own Counter and
Histogram take a lock per update, which cost about 4 % of 1-row throughput. Errors and batch
sizes, far rarer, use prometheus-client's classes. Queue depth, loaded models and the providers
in use are read from the runtime at scrape time too.
"""

from __future__ import annotations

from bisect import bisect_left
from typing import Any, Callable

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    InfoMetricFamily,
)
from prometheus_client.registry import Collector
from prometheus_client.utils import floatToGoString

LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256)


class _RuntimeCollector(Collector):
    def __init__(
        self, snapshot: Callable[[], list[dict[str, Any]]], providers: Callable[[], list[str]]
    ):
        self._snapshot = snapshot
        self._providers = providers

    def collect(self):
        loaded = self._snapshot()
        count = GaugeMetricFamily("onnxhub_loaded_models", "Model versions loaded in memory")
        count.add_metric([], len(loaded))
        yield count
        depth = GaugeMetricFamily(
            "onnxhub_queue_depth", "Requests waiting for a batch", labels=["model", "version"]
        )
        in_flight = GaugeMetricFamily(
            "onnxhub_runs_in_flight", "onnxruntime runs in progress", labels=["model", "version"]
        )
        provider = GaugeMetricFamily(
            "onnxhub_model_provider",
            "Execution provider a loaded session really got (1 per provider)",
            labels=["model", "version", "provider"],
        )
        for item in loaded:
            labels = [item["model"], str(item["version"])]
            depth.add_metric(labels, item["queue_depth"])
            in_flight.add_metric(labels, item["in_flight"])
            for name in item["providers"]:
                provider.add_metric(labels + [name], 1)
        yield depth
        yield in_flight
        yield provider
        server = InfoMetricFamily("onnxhub_execution_providers", "Providers new sessions ask for")
        server.add_metric([], {"providers": ",".join(self._providers())})
        yield server


class _RequestStats:
    """One model's successful requests: count, latency sum and per-bucket counts (not cumulative)."""

    __slots__ = ("count", "total_seconds", "buckets")

    def __init__(self) -> None:
        self.count = 0
        self.total_seconds = 0.0
        self.buckets = [0] * (len(LATENCY_BUCKETS) + 1)  # the last one is +Inf

    def observe(self, seconds: float) -> None:
        self.count += 1
        self.total_seconds += seconds
        # bisect_left puts a value equal to a bound in that bound's bucket (Prometheus "le").
        self.buckets[bisect_left(LATENCY_BUCKETS, seconds)] += 1


class _RequestCollector(Collector):
    def __init__(self, stats: dict[str, _RequestStats]) -> None:
        self._stats = stats

    def collect(self):
        requests = CounterMetricFamily(
            "onnxhub_inference_requests", "Successful inference requests", labels=["model"]
        )
        latency = HistogramMetricFamily(
            "onnxhub_inference_latency_seconds", "Inference request latency", labels=["model"]
        )
        for model, stats in list(self._stats.items()):
            requests.add_metric([model], stats.count)
            cumulative, buckets = 0, []
            for bound, count in zip((*LATENCY_BUCKETS, float("inf")), stats.buckets):
                cumulative += count
                buckets.append((floatToGoString(bound), cumulative))
            latency.add_metric([model], buckets, stats.total_seconds)
        yield requests
        yield latency


class ServerMetrics:
    """The inference server's metrics on a private :class:`CollectorRegistry`."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self._requests: dict[str, _RequestStats] = {}
        self.registry.register(_RequestCollector(self._requests))
        self.errors = Counter(
            "onnxhub_request_errors",
            "Requests answered with an error, by HTTP status",
            ["status"],
            registry=self.registry,
        )
        self.batch_size = Histogram(
            "onnxhub_batch_size",
            "Rows per onnxruntime run",
            ["model"],
            buckets=BATCH_BUCKETS,
            registry=self.registry,
        )
        self._batch_children: dict[str, Any] = {}

    def attach_runtime(
        self, snapshot: Callable[[], list[dict]], providers: Callable[[], list[str]]
    ) -> None:
        self.registry.register(_RuntimeCollector(snapshot, providers))

    def observe_request(self, model: str, seconds: float) -> None:
        """Count one successful request (call it on the event loop only: no lock is taken)."""
        stats = self._requests.get(model)
        if stats is None:
            stats = self._requests[model] = _RequestStats()
        stats.observe(seconds)

    def observe_batch(self, model: str, rows: int) -> None:
        child = self._batch_children.get(model)
        if child is None:
            child = self._batch_children[model] = self.batch_size.labels(model)
        child.observe(rows)

    def observe_error(self, status: int) -> None:
        self.errors.labels(str(status)).inc()

    def render(self) -> bytes:
        return generate_latest(self.registry)
