"""The runtime against a real catalog: eviction under a budget, explicit unload, hot swap."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper
from onnx_graphs import model_of
from onnx_helpers import scale_model_bytes

from hub.api import Hub
from hub.errors import InvalidInput, NotFound, Unavailable
from hub.serving.memory import resident_bytes
from hub.serving.runtime import InferenceRuntime
from hub.settings import Settings

X = np.arange(6, dtype=np.float32).reshape(2, 3)


@pytest.fixture
def scales(tmp_path: Path) -> Hub:
    """Three catalogued models ``s2``, ``s3``, ``s4``: y = x * 2, 3, 4."""
    settings = replace(
        Settings.for_home(tmp_path / "home"),
        event_poll_interval=0.05,
        providers=("CPUExecutionProvider",),
        intra_op_threads=1,
    )
    hub = Hub(settings)
    for factor in (2, 3, 4):
        hub.publish(
            onnx.load_from_string(scale_model_bytes(float(factor))), name=f"s{factor}", sample=X
        )
    yield hub
    hub.close()


async def _runtime(hub: Hub, **overrides) -> InferenceRuntime:
    runtime = InferenceRuntime(hub, replace(hub.settings, **overrides))
    await runtime.start()
    return runtime


async def _y(runtime: InferenceRuntime, name: str, ref=None) -> np.ndarray:
    result = await runtime.infer(name, ref, {"x": X})
    return result.arrays[0]


async def test_least_recently_used_model_is_evicted_and_reloaded(scales: Hub) -> None:
    runtime = await _runtime(scales, max_loaded_models=2)
    try:
        np.testing.assert_array_equal(await _y(runtime, "s2"), X * 2)
        np.testing.assert_array_equal(await _y(runtime, "s3"), X * 3)
        await _y(runtime, "s2")  # s2 is now the most recently used
        np.testing.assert_array_equal(await _y(runtime, "s4"), X * 4)
        assert {(r["model"], r["version"]) for r in runtime.snapshot()} == {("s2", 1), ("s4", 1)}
        np.testing.assert_array_equal(await _y(runtime, "s3"), X * 3)  # transparently reloaded
        assert {r["model"] for r in runtime.snapshot()} == {"s4", "s3"}
    finally:
        await runtime.close()


async def test_byte_budget_keeps_one_model(scales: Hub) -> None:
    size = scales.get_version("s2").size
    runtime = await _runtime(scales, max_loaded_bytes=size + size // 2)
    try:
        for name in ("s2", "s3", "s4", "s2"):
            await _y(runtime, name)
            assert [r["model"] for r in runtime.snapshot()] == [name]
    finally:
        await runtime.close()


async def test_snapshot_reports_the_measured_load_cost(scales: Hub) -> None:
    """Each loaded version's ``loaded_bytes`` is what the budget counts: at least its file."""
    runtime = await _runtime(scales)
    try:
        await runtime.load("s2")
        await runtime.load("s3")
        costs = {r["model"]: r["loaded_bytes"] for r in runtime.snapshot()}
        assert set(costs) == {"s2", "s3"}
        for name, cost in costs.items():
            assert isinstance(cost, int) and cost >= scales.get_version(name).size > 0
        assert sum(costs.values()) == runtime.residency.loaded_bytes
    finally:
        await runtime.close()


def _wide_mlp(layers: int = 5, width: int = 1024) -> onnx.ModelProto:
    """``layers`` MatMul + ReLU of float32 ``width`` x ``width`` (about 21 MB at the defaults),
    weights inside the one ONNX file."""
    rng = np.random.default_rng(0)
    nodes, weights, x = [], [], "x"
    for i in range(layers):
        w = (rng.standard_normal((width, width)) / np.sqrt(width)).astype(np.float32)
        weights.append(numpy_helper.from_array(w, f"w{i}"))
        nodes += [
            helper.make_node("MatMul", [x, f"w{i}"], [f"m{i}"]),
            helper.make_node("Relu", [f"m{i}"], ["y" if i == layers - 1 else f"r{i}"]),
        ]
        x = f"r{i}"
    graph = helper.make_graph(
        nodes,
        "wide",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [None, width])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [None, width])],
        weights,
    )
    return model_of(graph)


async def test_a_one_file_load_is_charged_all_the_memory_it_keeps(scales: Hub) -> None:
    """The counted cost covers what the load kept from the model's fetch on: the process grows
    by no more than it (a session built from the fetched bytes kept them, uncounted, and a
    second copy of the weights), and never less than the file."""
    model = _wide_mlp()
    sample = np.ones((2, 1024), dtype=np.float32)
    size = (await asyncio.to_thread(scales.publish, model, name="wide", sample=sample)).size
    assert size > 20_000_000
    runtime = await _runtime(scales)
    try:
        await runtime.load("s2")  # onnxruntime, the catalog and the loader threads warm
        await runtime.resolve("wide", None)
        before = resident_bytes()
        await runtime.load("wide")
        after = resident_bytes()
        cost = {r["model"]: r["loaded_bytes"] for r in runtime.snapshot()}["wide"]
        assert before is not None and after is not None
        assert cost >= size
        assert after - before <= cost + size // 2  # generous: the bytes alone would be `size`
        result = await runtime.infer("wide", None, {"x": sample})
        assert result.arrays[0].shape == (2, 1024)
    finally:
        await runtime.close()


async def test_unload_refuses_until_load(scales: Hub) -> None:
    runtime = await _runtime(scales)
    try:
        await _y(runtime, "s2")
        await runtime.unload("s2")
        assert runtime.snapshot() == []
        assert not await runtime.is_ready("s2", None)
        with pytest.raises(Unavailable, match="unloaded"):
            await _y(runtime, "s2")
        await runtime.load("s2")
        assert await runtime.is_ready("s2", None)
        np.testing.assert_array_equal(await _y(runtime, "s2"), X * 2)
        with pytest.raises(NotFound):
            await runtime.unload("nosuch")
    finally:
        await runtime.close()


async def test_inputs_are_checked_against_the_session(scales: Hub) -> None:
    runtime = await _runtime(scales)
    try:
        with pytest.raises(InvalidInput, match="expects datatype FP32"):
            await runtime.infer("s2", None, {"x": X.astype(np.float64)})
        with pytest.raises(InvalidInput, match=r"expected \[-1, 3\]"):
            await runtime.infer("s2", None, {"x": X.reshape(3, 2)})
        with pytest.raises(InvalidInput, match="missing input"):
            await runtime.infer("s2", None, {})
    finally:
        await runtime.close()


async def test_alias_move_swaps_after_warm_up_without_failing_requests(scales: Hub) -> None:
    """Under concurrent load, publish a new version and move ``production``: every request
    succeeds and each client sees the old outputs, then only the new ones."""
    scales.publish(
        onnx.load_from_string(scale_model_bytes(10.0)), name="s2", sample=X, alias="production"
    )  # s2 version 2 (x10) is production
    runtime = await _runtime(scales)
    from hub.serving.events import EventFollower

    follower = EventFollower(
        last_event_id=lambda: runtime.call(scales.last_event_id),
        events_after=lambda last, limit: runtime.call(scales.events_after, last, limit),
        interval=0.02,
        handlers=[runtime.on_catalog_event],
    )
    await follower.start()
    seen: list[list[float]] = [[] for _ in range(6)]
    stop = asyncio.Event()

    async def client(i: int) -> None:
        while not stop.is_set():
            y = await _y(runtime, "s2")
            seen[i].append(float(y[0, 1]))

    try:
        clients = [asyncio.ensure_future(client(i)) for i in range(6)]
        await asyncio.sleep(0.2)
        await asyncio.to_thread(
            scales.publish, onnx.load_from_string(scale_model_bytes(7.0)), name="s2", sample=X
        )  # version 3, not production: no change
        await asyncio.sleep(0.2)
        await asyncio.to_thread(scales.set_alias, "s2", "production", 3)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 2.0
        while not all(s and s[-1] == 7.0 for s in seen):
            assert loop.time() < deadline, "the alias move did not reach the runtime within 2 s"
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.1)
        stop.set()
        await asyncio.gather(*clients)  # any failed request would raise here
        await asyncio.sleep(0.05)
        assert [(r["model"], r["version"]) for r in runtime.snapshot()] == [("s2", 3)]
    finally:
        stop.set()
        await follower.stop()
        await runtime.close()
    for values in seen:
        switch = values.index(7.0)
        assert set(values[:switch]) == {10.0} and set(values[switch:]) == {7.0}
    events = [e.kind for e in scales.events_after(0)]
    assert "alias.set" in events


async def test_per_model_options_from_the_environment(scales: Hub) -> None:
    env = {"ONNXHUB_MODEL_OPTIONS": '{"s3": {"max_batch_size": 4, "max_queue": 9}}'}
    runtime = await _runtime(scales, model_options=Settings.from_env(env).model_options)
    try:
        await _y(runtime, "s2")
        await _y(runtime, "s3")
        options = {r.model.info.model: r.model.options for r in runtime.residency.residents()}
        assert (options["s3"].max_batch_size, options["s3"].max_queue) == (4, 9)
        assert options["s2"].max_batch_size == scales.settings.max_batch_size
    finally:
        await runtime.close()
    with pytest.raises(InvalidInput, match="^ONNXHUB_MODEL_OPTIONS is not valid JSON"):
        Settings.from_env({"ONNXHUB_MODEL_OPTIONS": "{nope"})
    with pytest.raises(
        InvalidInput, match=r"^ONNXHUB_MODEL_OPTIONS\['s3'\]: max_queue: expected `int` >= 1$"
    ):
        Settings.from_env({"ONNXHUB_MODEL_OPTIONS": '{"s3": {"max_queue": 0}}'})
