"""Adaptive batching on a real onnxruntime session, with runs gated to force queues."""

from __future__ import annotations

import asyncio
import threading
import time

import numpy as np
import pytest
from onnx_helpers import make_loaded, scale_model_bytes

from hub.errors import Unavailable
from hub.serving.batching import AdaptiveBatcher


class GatedRuns:
    """Wraps ``LoadedModel.run``: records each run's row count; the first run waits for a gate."""

    def __init__(self, loaded, fail_batches: bool = False) -> None:
        self.loaded = loaded
        self.real_run = loaded.run
        self.gate = threading.Event()
        self.rows: list[int] = []
        self.fail_batches = fail_batches
        self.calls = 0
        loaded.run = self.run

    def run(self, feeds, outputs, run_options=None):  # type: ignore[no-untyped-def]
        self.calls += 1
        if self.calls == 1:
            self.gate.wait(10)
        first = next(iter(feeds.values()))
        self.rows.append(first.shape[0])
        if self.fail_batches and len(self.rows) > 1:
            raise RuntimeError("simulated onnxruntime failure")
        return self.real_run(feeds, outputs, run_options)


async def _until(predicate, timeout: float = 5.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        assert loop.time() < deadline, "condition not reached"
        await asyncio.sleep(0.001)


async def test_batched_results_equal_unbatched_results(logreg_onnx) -> None:
    model_bytes, X = logreg_onnx
    loaded = make_loaded(model_bytes, max_batch_time=0.0)
    gated = GatedRuns(loaded)
    batcher = AdaptiveBatcher(loaded)
    names = loaded.output_names
    chunks = [X[0:1], X[1:3], X[3:6], X[6:7], X[7:11], X[11:12], X[12:14], X[14:15]]
    tasks = [asyncio.ensure_future(batcher.submit({"input": c}, names)) for c in chunks]
    await _until(lambda: batcher.queue_depth == len(chunks) - 1)
    gated.gate.set()
    results = await asyncio.gather(*tasks)
    # The first request ran alone; the seven that queued behind it ran as one batch.
    assert gated.rows == [1, 14]
    # Each queued request gets exactly its own rows of the one batched run...
    batch_label, batch_probabilities = gated.real_run({"input": X[1:15]}, names)
    start = 1
    for chunk, (label, probabilities) in zip(chunks[1:], results[1:]):
        stop = start + len(chunk)
        np.testing.assert_array_equal(label, batch_label[start - 1 : stop - 1])
        np.testing.assert_array_equal(probabilities, batch_probabilities[start - 1 : stop - 1])
        start = stop
    # ...and what it would have got alone: the same labels, and probabilities equal up to
    # float32 rounding (onnxruntime's GEMM picks a different kernel for a different row count).
    for chunk, (label, probabilities) in zip(chunks, results):
        alone_label, alone_probabilities = gated.real_run({"input": chunk}, names)
        np.testing.assert_array_equal(label, alone_label)
        np.testing.assert_allclose(probabilities, alone_probabilities, rtol=1e-5, atol=1e-7)
        assert label.shape == (len(chunk),)
    loaded.close()


async def test_batches_respect_max_batch_size(logreg_onnx) -> None:
    model_bytes, X = logreg_onnx
    loaded = make_loaded(model_bytes, max_batch_size=4, max_batch_time=0.0)
    gated = GatedRuns(loaded)
    batcher = AdaptiveBatcher(loaded)
    tasks = [
        asyncio.ensure_future(batcher.submit({"input": X[i : i + 1]}, ["label"])) for i in range(11)
    ]
    await _until(lambda: batcher.queue_depth == 10)
    gated.gate.set()
    labels = await asyncio.gather(*tasks)
    assert gated.rows == [1, 4, 4, 2]
    expected = gated.real_run({"input": X[:11]}, ["label"])[0]
    assert [int(r[0][0]) for r in labels] == expected.tolist()
    loaded.close()


async def test_a_fixed_batch_dimension_bypasses_batching() -> None:
    loaded = make_loaded(scale_model_bytes(2.0, batch=2), max_batch_time=0.0)
    assert not loaded.batchable
    gated = GatedRuns(loaded)
    batcher = AdaptiveBatcher(loaded)
    x = np.arange(6, dtype=np.float32).reshape(2, 3)
    tasks = [asyncio.ensure_future(batcher.submit({"x": x + i}, ["y"])) for i in range(4)]
    await _until(lambda: batcher.queue_depth == 3)
    gated.gate.set()
    results = await asyncio.gather(*tasks)
    assert gated.rows == [2, 2, 2, 2]
    for i, (y,) in enumerate(results):
        np.testing.assert_array_equal(y, (x + i) * 2)
    loaded.close()


async def test_a_failed_batch_fails_each_request_and_the_batcher_goes_on(logreg_onnx) -> None:
    model_bytes, X = logreg_onnx
    loaded = make_loaded(model_bytes, max_batch_time=0.0)
    gated = GatedRuns(loaded, fail_batches=True)
    batcher = AdaptiveBatcher(loaded)
    tasks = [
        asyncio.ensure_future(batcher.submit({"input": X[i : i + 1]}, ["label"])) for i in range(5)
    ]
    await _until(lambda: batcher.queue_depth == 4)
    gated.gate.set()
    outcomes = await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), 5)
    assert not isinstance(outcomes[0], Exception)
    for error in outcomes[1:]:
        assert error.status == 500
        assert "a batch of 4 requests failed" in str(error)
        assert "simulated onnxruntime failure" in str(error)
    gated.fail_batches = False
    (label,) = await batcher.submit({"input": X[:2]}, ["label"])
    assert label.shape == (2,)
    loaded.close()


async def test_a_full_queue_answers_503_with_retry_after(logreg_onnx) -> None:
    model_bytes, X = logreg_onnx
    loaded = make_loaded(model_bytes, max_queue=2)
    gated = GatedRuns(loaded)
    batcher = AdaptiveBatcher(loaded)
    tasks = [asyncio.ensure_future(batcher.submit({"input": X[:1]}, ["label"])) for _ in range(3)]
    await _until(lambda: batcher.queue_depth == 2)
    with pytest.raises(Unavailable) as refused:
        await batcher.submit({"input": X[:1]}, ["label"])
    assert refused.value.status == 503 and refused.value.retry_after
    gated.gate.set()
    assert len(await asyncio.gather(*tasks)) == 3
    loaded.close()


async def test_closing_fails_what_cannot_finish(logreg_onnx) -> None:
    model_bytes, X = logreg_onnx
    loaded = make_loaded(model_bytes)
    gated = GatedRuns(loaded)
    batcher = AdaptiveBatcher(loaded)
    tasks = [asyncio.ensure_future(batcher.submit({"input": X[:1]}, ["label"])) for _ in range(3)]
    await _until(lambda: batcher.queue_depth == 2)
    await batcher.close(timeout=0.05)
    outcomes = await asyncio.gather(*tasks[1:], return_exceptions=True)
    assert all(isinstance(o, Unavailable) for o in outcomes)
    with pytest.raises(Unavailable):
        await batcher.submit({"input": X[:1]}, ["label"])
    gated.gate.set()
    # The run still in flight at the drain deadline was terminated: its caller gets a 503 too.
    with pytest.raises(Unavailable, match="was unloaded"):
        await tasks[0]
    loaded.close()


def test_a_version_can_override_its_serving_options() -> None:
    from hub.errors import InvalidInput
    from hub.serving.sessions import EffectiveServingOptions
    from hub.settings import ServingOptions

    defaults = EffectiveServingOptions(
        max_batch_size=32, max_batch_time=0.002, max_queue=1024, run_concurrency=1
    )
    assert defaults.override(None) is defaults
    card = ServingOptions.decode({"max_batch_size": 8, "run_concurrency": 2}, "card")
    tuned = defaults.override(card)
    assert (tuned.max_batch_size, tuned.run_concurrency, tuned.max_queue) == (8, 2, 1024)
    assert tuned.override(ServingOptions(max_queue=5)).max_batch_size == 8  # levels stack
    with pytest.raises(
        InvalidInput, match=r"^card: max_batch_size: expected `int \| null`, got `str`$"
    ):
        ServingOptions.decode({"max_batch_size": "many"}, "card")
    with pytest.raises(InvalidInput, match="^card: object contains unknown field `unrelated`$"):
        ServingOptions.decode({"unrelated": 1}, "card")


async def test_partial_batches_wait_at_most_max_batch_time_while_other_runs_are_busy(
    logreg_onnx,
) -> None:
    model_bytes, X = logreg_onnx
    loaded = make_loaded(model_bytes, run_concurrency=2, max_batch_time=0.05)
    gated = GatedRuns(loaded)
    batcher = AdaptiveBatcher(loaded)
    loop = asyncio.get_running_loop()
    first = asyncio.ensure_future(batcher.submit({"input": X[:1]}, ["label"]))  # blocks on the gate
    await _until(lambda: batcher.in_flight == 1)
    second = asyncio.ensure_future(batcher.submit({"input": X[1:2]}, ["label"]))  # free slot: runs
    await second
    # The first of these takes the free slot; the two behind it then find a slot free while
    # another run is still busy, so they wait up to max_batch_time for more rows.
    started = loop.time()
    await asyncio.gather(*(batcher.submit({"input": X[i : i + 1]}, ["label"]) for i in range(2, 5)))
    waited = loop.time() - started
    assert 0.04 < waited < 1.0
    assert gated.rows == [1, 1, 2]
    gated.gate.set()
    await first
    assert gated.rows == [1, 1, 2, 1]
    loaded.close()


async def test_check_capacity_refuses_only_while_the_queue_is_full(logreg_onnx) -> None:
    model_bytes, X = logreg_onnx
    loaded = make_loaded(model_bytes, max_queue=2)
    gated = GatedRuns(loaded)
    batcher = AdaptiveBatcher(loaded)
    batcher.check_capacity()  # empty: no refusal
    tasks = [asyncio.ensure_future(batcher.submit({"input": X[:1]}, ["label"])) for _ in range(3)]
    await _until(lambda: batcher.queue_depth == 2)
    with pytest.raises(Unavailable) as refused:
        batcher.check_capacity()
    assert refused.value.status == 503 and refused.value.retry_after
    gated.gate.set()
    assert len(await asyncio.gather(*tasks)) == 3
    batcher.check_capacity()  # drained: room again
    loaded.close()


async def test_the_run_thread_goes_on_to_the_next_batch_while_the_loop_is_busy(
    logreg_onnx,
) -> None:
    model_bytes, X = logreg_onnx
    loaded = make_loaded(model_bytes, max_batch_time=0.0)
    gated = GatedRuns(loaded)
    batcher = AdaptiveBatcher(loaded)
    tasks = [
        asyncio.ensure_future(batcher.submit({"input": X[i : i + 1]}, ["label"])) for i in range(5)
    ]
    await _until(lambda: batcher.queue_depth == 4)
    gated.gate.set()
    # Hold the loop, as a turn that reads hundreds of connections does: the run thread alone
    # must go on from the first run to the four queued requests, batched.
    deadline = time.monotonic() + 5
    while (len(gated.rows) < 2 or batcher.in_flight) and time.monotonic() < deadline:
        time.sleep(0.001)
    assert gated.rows == [1, 4]
    assert batcher.queue_depth == 0 and batcher.in_flight == 0
    assert not any(task.done() for task in tasks)  # answers wait for the loop
    labels = await asyncio.gather(*tasks)
    expected = gated.real_run({"input": X[:5]}, ["label"])[0]
    assert [int(r[0][0]) for r in labels] == expected.tolist()
    loaded.close()


async def test_closing_the_model_threads_under_a_request_answers_503(logreg_onnx) -> None:
    model_bytes, X = logreg_onnx
    loaded = make_loaded(model_bytes)
    batcher = AdaptiveBatcher(loaded)
    loaded.executor.shutdown()
    with pytest.raises(Unavailable, match="shut down") as refused:
        await batcher.submit({"input": X[:1]}, ["label"])
    assert refused.value.retry_after and batcher.in_flight == 0
    loaded.close()


@pytest.mark.parametrize("run_concurrency", [1, 2])
async def test_many_requests_some_cancelled_all_get_their_own_rows(
    logreg_onnx, run_concurrency: int
) -> None:
    """The queue is shared by the loop and the run threads: under a stream of requests of
    mixed sizes, some of whose callers go away, every remaining caller gets exactly its own
    rows and the batcher ends empty."""
    model_bytes, X = logreg_onnx
    loaded = make_loaded(
        model_bytes,
        run_concurrency=run_concurrency,
        max_batch_size=16,
        max_batch_time=0.0005,
        max_queue=1000,
    )
    batcher = AdaptiveBatcher(loaded)
    rng = np.random.default_rng(7)
    expected = loaded.run({"input": X}, ["label"])[0]
    tasks, spans = [], []
    for i in range(400):
        start = int(rng.integers(0, len(X) - 5))
        rows = int(rng.integers(1, 6))
        spans.append((start, rows))
        tasks.append(
            asyncio.ensure_future(batcher.submit({"input": X[start : start + rows]}, ["label"]))
        )
        if i % 10 == 9:
            tasks[int(rng.integers(0, len(tasks)))].cancel()
            await asyncio.sleep(0)
    outcomes = await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), 30)
    served = 0
    for (start, rows), outcome in zip(spans, outcomes):
        if isinstance(outcome, asyncio.CancelledError):
            continue
        assert not isinstance(outcome, BaseException), outcome
        np.testing.assert_array_equal(outcome[0], expected[start : start + rows])
        served += 1
    assert served >= 360
    await _until(lambda: batcher.in_flight == 0)
    assert batcher.queue_depth == 0
    loaded.close()
