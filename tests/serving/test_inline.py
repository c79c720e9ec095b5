"""Inline runs: which models run on the event loop, decided from timings taken at load."""

from __future__ import annotations

import asyncio
import threading

import numpy as np
from onnx_graphs import slow_model
from onnx_helpers import scale_model_bytes, version_info

from hub.serving.batching import AdaptiveBatcher
from hub.serving.inline import MAX_INLINE_SECONDS, InlineTimings, decide
from hub.serving.sessions import EffectiveServingOptions, load_model

OPTIONS = EffectiveServingOptions(
    max_batch_size=32, max_batch_time=0.002, max_queue=64, run_concurrency=1
)


def _load(model_bytes: bytes, inline_runs: bool = True, name: str = "iris"):  # type: ignore[no-untyped-def]
    info = version_info(name, 1, len(model_bytes))
    return load_model(
        info, model_bytes, ["CPUExecutionProvider"], 1, OPTIONS, inline_runs=inline_runs
    )


def test_a_run_cheaper_than_the_hand_off_runs_inline_up_to_the_batch_limit() -> None:
    timings = InlineTimings(
        handoff_seconds=40e-6, run_seconds=6e-6, batch_seconds=7e-6, batch_rows=32
    )
    plan = decide(timings, max_batch_size=32)
    assert plan is not None and plan.max_rows == 32


def test_rows_are_bounded_so_an_inline_run_stays_under_the_hand_off() -> None:
    # mlp-like: 13 us for 1 row, 75 us for 32 rows (2 us per extra row), hand-off 50 us.
    timings = InlineTimings(
        handoff_seconds=50e-6, run_seconds=13e-6, batch_seconds=75e-6, batch_rows=32
    )
    plan = decide(timings, max_batch_size=32)
    assert plan is not None
    assert plan.max_rows == 1 + int((50e-6 - 13e-6) / plan.row_seconds)
    assert (
        13e-6 + (plan.max_rows - 1) * plan.row_seconds
        <= 50e-6
        < 13e-6 + plan.max_rows * plan.row_seconds
    )


def test_a_run_dearer_than_the_hand_off_or_the_cap_stays_on_its_thread() -> None:
    assert decide(InlineTimings(40e-6, 60e-6, None, 1), 32) is None
    # A busy machine makes the hand-off slow; the cap still keeps long runs off the loop.
    slow_handoff = InlineTimings(5e-3, MAX_INLINE_SECONDS * 1.5, None, 1)
    assert decide(slow_handoff, 32) is None


def test_a_model_that_is_not_batchable_runs_inline_one_request_at_a_time() -> None:
    plan = decide(InlineTimings(40e-6, 6e-6, None, 1), max_batch_size=1)
    assert plan is not None and plan.max_rows == 1


async def test_a_tiny_model_runs_on_the_event_loop_and_a_big_one_on_its_thread() -> None:
    tiny = _load(scale_model_bytes(2.0, 4))
    big = _load(slow_model(1024, 20).SerializeToString(), name="slow")
    try:
        assert tiny.inline is not None and tiny.inline.max_rows >= 1
        assert big.inline is None  # a ~10 ms run: never worth running on the loop
        loop_thread = threading.get_ident()
        threads: dict[str, set[int]] = {"iris": set(), "slow": set()}
        for loaded in (tiny, big):
            real = loaded.session.run

            def spy(names, feeds, options=None, real=real, key=loaded.info.model):  # type: ignore[no-untyped-def]
                threads[key].add(threading.get_ident())
                return real(names, feeds, options)

            loaded.session.run = spy  # type: ignore[method-assign]
        x = np.arange(8, dtype=np.float32).reshape(2, 4)
        got = await AdaptiveBatcher(tiny).submit({"x": x}, tiny.output_names)
        np.testing.assert_allclose(got[0], 2.0 * x)
        assert threads["iris"] == {loop_thread} and tiny.inline_runs == 1
        wide = np.random.default_rng(0).random((1, 1024), dtype=np.float32)
        got = await AdaptiveBatcher(big).submit({"x": wide}, big.output_names)
        np.testing.assert_allclose(got[0], wide, rtol=1e-5)
        assert loop_thread not in threads["slow"] and big.inline_runs == 0
    finally:
        tiny.close()
        big.close()


async def test_batches_above_the_inline_limit_go_to_the_thread() -> None:
    tiny = _load(scale_model_bytes(3.0, 4))
    try:
        assert tiny.inline is not None
        rows = tiny.inline.max_rows + 1
        x = np.ones((rows, 4), dtype=np.float32)
        batcher = AdaptiveBatcher(tiny)
        got = await batcher.submit({"x": x}, tiny.output_names)
        np.testing.assert_allclose(got[0], 3.0 * x)
        assert tiny.inline_runs == 0
        got = await batcher.submit({"x": x[:1]}, tiny.output_names)
        assert tiny.inline_runs == 1
    finally:
        tiny.close()


def test_inline_runs_off_keeps_every_run_on_the_thread() -> None:
    loaded = _load(scale_model_bytes(2.0, 4), inline_runs=False)
    try:
        assert loaded.inline is None
    finally:
        loaded.close()


class _RunSpy:
    """Records the thread and rows of each of a session's runs (the real run answers)."""

    def __init__(self, loaded) -> None:  # type: ignore[no-untyped-def]
        self.calls: list[tuple[int, int]] = []
        real = loaded.session.run

        def run(names, feeds, options=None):  # type: ignore[no-untyped-def]
            self.calls.append((threading.get_ident(), next(iter(feeds.values())).shape[0]))
            return real(names, feeds, options)

        loaded.session.run = run  # type: ignore[method-assign]


async def test_requests_of_one_loop_turn_share_one_inline_run() -> None:
    from hub.serving.inline_batching import InlineBatcher, make_batcher

    tiny = _load(scale_model_bytes(2.0, 4))
    try:
        batcher = make_batcher(tiny)
        assert isinstance(batcher, InlineBatcher) and tiny.inline is not None
        spy = _RunSpy(tiny)
        rows = [np.full((1, 4), i, dtype=np.float32) for i in range(10)]
        results = await asyncio.gather(*(batcher.submit({"x": r}, tiny.output_names) for r in rows))
        for r, got in zip(rows, results):
            np.testing.assert_allclose(got[0], 2.0 * r)
        assert spy.calls == [(threading.get_ident(), 10)]  # one run, on the loop's thread
    finally:
        tiny.close()


async def test_a_turn_with_more_rows_than_the_plan_allows_runs_as_one_batch_on_the_thread() -> None:
    from dataclasses import replace

    from hub.serving.inline_batching import make_batcher

    tiny = _load(scale_model_bytes(2.0, 4))
    try:
        assert tiny.inline is not None
        tiny.inline = replace(tiny.inline, max_rows=4)
        batcher = make_batcher(tiny)
        spy = _RunSpy(tiny)
        loop_thread = threading.get_ident()
        ones = np.ones((1, 4), dtype=np.float32)
        few = [ones, 2 * ones, 3 * ones]  # 3 rows: inline
        results = await asyncio.gather(*(batcher.submit({"x": f}, tiny.output_names) for f in few))
        for f, got in zip(few, results):
            np.testing.assert_allclose(got[0], 2.0 * f)
        assert spy.calls == [(loop_thread, 3)]
        many = [k * ones for k in range(6)] + [np.ones((3, 4), dtype=np.float32)]  # 9 rows
        results = await asyncio.gather(*(batcher.submit({"x": f}, tiny.output_names) for f in many))
        for f, got in zip(many, results):
            np.testing.assert_allclose(got[0], 2.0 * f)
        thread, rows = spy.calls[-1]
        assert len(spy.calls) == 2 and rows == 9 and thread != loop_thread
        big = np.ones((5, 4), dtype=np.float32)  # one request above the limit: the thread
        np.testing.assert_allclose(
            (await batcher.submit({"x": big}, tiny.output_names))[0], 2 * big
        )
        assert spy.calls[-1][1] == 5 and spy.calls[-1][0] != loop_thread
    finally:
        tiny.close()


async def test_a_turn_with_more_requests_than_the_queue_runs_them_batch_by_batch() -> None:
    """A loop turn that reads more requests than the queue holds (hundreds of connections)
    runs them in full batches as they come, instead of refusing those beyond ``max_queue``."""
    from dataclasses import replace

    from hub.serving.inline_batching import make_batcher

    tiny = _load(scale_model_bytes(2.0, 4))
    try:
        assert tiny.inline is not None
        tiny.inline = replace(tiny.inline, max_rows=OPTIONS.max_batch_size)
        tiny.options = replace(tiny.options, max_queue=40)
        batcher = make_batcher(tiny)
        spy = _RunSpy(tiny)
        loop_thread = threading.get_ident()
        rows = [np.full((1, 4), k, dtype=np.float32) for k in range(100)]  # > max_queue
        results = await asyncio.gather(*(batcher.submit({"x": r}, tiny.output_names) for r in rows))
        for r, got in zip(rows, results):
            np.testing.assert_allclose(got[0], 2.0 * r)
        assert [n for _, n in spy.calls] == [32, 32, 32, 4]
        assert all(thread == loop_thread for thread, _ in spy.calls)
    finally:
        tiny.close()


def test_models_loading_together_are_timed_one_at_a_time() -> None:
    """Timings taken while another model is being timed would share its core: the process
    times one model at a time."""
    from hub.serving.inline import measure

    active, most = 0, 0
    lock = threading.Lock()

    def run(feeds):  # type: ignore[no-untyped-def]
        nonlocal active, most
        with lock:
            active += 1
            most = max(most, active)
        threading.Event().wait(0.0005)
        with lock:
            active -= 1

    feeds = {"x": np.ones((1, 4), dtype=np.float32)}
    threads = [
        threading.Thread(target=measure, args=(run, feeds, lambda: None, 4)) for _ in range(4)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert most == 1
