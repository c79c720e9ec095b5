"""Prometheus metrics, one registry per app (tests build many apps; nothing is global).

Counters and histograms are updated as things happen; queue depth, loaded models and the
providers in use are read from the runtime when ``/metrics`` is scraped.
"""

from __future__ import annotations

from typing import Any, Callable

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, InfoMetricFamily
from prometheus_client.registry import Collector

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


class ServerMetrics:
    """The inference server's metrics on a private :class:`CollectorRegistry`."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "onnxhub_inference_requests",
            "Successful inference requests",
            ["model"],
            registry=self.registry,
        )
        self.errors = Counter(
            "onnxhub_request_errors",
            "Requests answered with an error, by HTTP status",
            ["status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "onnxhub_inference_latency_seconds",
            "Inference request latency",
            ["model"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.batch_size = Histogram(
            "onnxhub_batch_size",
            "Rows per onnxruntime run",
            ["model"],
            buckets=BATCH_BUCKETS,
            registry=self.registry,
        )
        self._per_model: dict[str, tuple[Any, Any]] = {}
        self._batch_children: dict[str, Any] = {}

    def attach_runtime(
        self, snapshot: Callable[[], list[dict]], providers: Callable[[], list[str]]
    ) -> None:
        self.registry.register(_RuntimeCollector(snapshot, providers))

    def observe_request(self, model: str, seconds: float) -> None:
        children = self._per_model.get(model)
        if children is None:
            children = (self.requests.labels(model), self.latency.labels(model))
            self._per_model[model] = children
        children[0].inc()
        children[1].observe(seconds)

    def observe_batch(self, model: str, rows: int) -> None:
        child = self._batch_children.get(model)
        if child is None:
            child = self._batch_children[model] = self.batch_size.labels(model)
        child.observe(rows)

    def observe_error(self, status: int) -> None:
        self.errors.labels(str(status)).inc()

    def render(self) -> bytes:
        return generate_latest(self.registry)
