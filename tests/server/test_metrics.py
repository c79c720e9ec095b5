"""ServerMetrics: the Prometheus text a scrape sees, with exact values."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

from hub.server.metrics import LATENCY_BUCKETS, ServerMetrics


def _samples(metrics: ServerMetrics) -> dict[tuple[str, tuple], float]:
    text = metrics.render().decode()
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def test_request_counts_and_latency_buckets_are_cumulative_with_le_bounds() -> None:
    metrics = ServerMetrics()
    for seconds in (0.0001, 0.0005, 0.003, 0.003, 20.0):  # 0.0005 sits exactly on a bound
        metrics.observe_request("iris", seconds)
    metrics.observe_request("wine", 0.2)
    samples = _samples(metrics)

    assert samples[("onnxhub_inference_requests_total", (("model", "iris"),))] == 5
    assert samples[("onnxhub_inference_requests_total", (("model", "wine"),))] == 1
    bucket = "onnxhub_inference_latency_seconds_bucket"
    iris = {
        le: samples[(bucket, (("le", le), ("model", "iris")))]
        for le in ("0.0005", "0.001", "0.005", "10.0", "+Inf")
    }
    assert iris == {"0.0005": 2, "0.001": 2, "0.005": 4, "10.0": 4, "+Inf": 5}
    assert samples[("onnxhub_inference_latency_seconds_count", (("model", "iris"),))] == 5
    total = samples[("onnxhub_inference_latency_seconds_sum", (("model", "iris"),))]
    assert abs(total - 20.0066) < 1e-9
    wine_buckets = [
        samples[(bucket, (("le", le), ("model", "wine")))] for le in ("0.1", "0.25", "+Inf")
    ]
    assert wine_buckets == [0, 1, 1]
    assert len([k for k in samples if k[0] == bucket]) == 2 * (len(LATENCY_BUCKETS) + 1)


def test_errors_and_batch_sizes_are_counted_too() -> None:
    metrics = ServerMetrics()
    metrics.observe_error(400)
    metrics.observe_error(400)
    metrics.observe_error(503)
    metrics.observe_batch("iris", 3)
    metrics.observe_batch("iris", 64)
    samples = _samples(metrics)
    assert samples[("onnxhub_request_errors_total", (("status", "400"),))] == 2
    assert samples[("onnxhub_request_errors_total", (("status", "503"),))] == 1
    assert samples[("onnxhub_batch_size_bucket", (("le", "4.0"), ("model", "iris")))] == 1
    assert samples[("onnxhub_batch_size_bucket", (("le", "64.0"), ("model", "iris")))] == 2
    assert samples[("onnxhub_batch_size_sum", (("model", "iris"),))] == 67
