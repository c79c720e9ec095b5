"""hub.onnx.watchdog: one thread ends runs at their deadlines; unwatch says whether it fired."""

from __future__ import annotations

import threading
import time

import numpy as np
import onnxruntime as ort
from onnx import TensorProto, helper

from hub.onnx.deadline import RunGuard, RunTimedOut, run_with_time_limit
from hub.onnx.watchdog import Watchdog


class Recorder:
    def __init__(self) -> None:
        self.reasons: list[str] = []
        self.fired = threading.Event()

    def terminate(self, reason: str) -> None:
        self.reasons.append(reason)
        self.fired.set()


def test_a_deadline_fires_once_and_unwatch_says_so() -> None:
    dog = Watchdog()
    guard = Recorder()
    dog.watch(guard, 0.05, "too slow")
    assert guard.fired.wait(10)
    assert guard.reasons == ["too slow"]
    assert dog.unwatch(guard) is False  # it had fired
    assert dog.watched == 0


def test_an_unwatched_run_is_never_terminated() -> None:
    dog = Watchdog()
    guard = Recorder()
    dog.watch(guard, 0.2, "too slow")
    assert dog.unwatch(guard) is True
    time.sleep(0.4)
    assert guard.reasons == []


def test_a_short_deadline_behind_a_long_one_still_fires() -> None:
    dog = Watchdog()
    long, short = Recorder(), Recorder()
    dog.watch(long, 3600, "long")
    dog.watch(short, 0.05, "short")  # wakes the thread, which was sleeping for an hour
    assert short.fired.wait(10)
    assert long.reasons == [] and dog.unwatch(long) is True


def _forever() -> bytes:
    """``count`` summed by a Loop of 10**15 trips: runs until terminated."""
    body = helper.make_graph(
        [
            helper.make_node("Identity", ["cond_in"], ["cond_out"]),
            helper.make_node("Add", ["acc_in", "one"], ["acc_out"]),
        ],
        "body",
        [
            helper.make_tensor_value_info("i", TensorProto.INT64, []),
            helper.make_tensor_value_info("cond_in", TensorProto.BOOL, []),
            helper.make_tensor_value_info("acc_in", TensorProto.FLOAT, [1]),
        ],
        [
            helper.make_tensor_value_info("cond_out", TensorProto.BOOL, []),
            helper.make_tensor_value_info("acc_out", TensorProto.FLOAT, [1]),
        ],
        [helper.make_tensor("one", TensorProto.FLOAT, [1], [1.0])],
    )
    trips = helper.make_tensor("n", TensorProto.INT64, [], [10**15])
    true = helper.make_tensor("t", TensorProto.BOOL, [], [True])
    graph = helper.make_graph(
        [
            helper.make_node("Constant", [], ["trips"], value=trips),
            helper.make_node("Constant", [], ["true"], value=true),
            helper.make_node("Loop", ["trips", "true", "x"], ["count"], body=body),
        ],
        "forever",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])],
        [helper.make_tensor_value_info("count", TensorProto.FLOAT, [1])],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 10
    return model.SerializeToString()


def test_run_with_time_limit_ends_a_real_run_through_the_watchdog() -> None:
    session = ort.InferenceSession(_forever(), providers=["CPUExecutionProvider"])
    feeds = {"x": np.zeros(1, dtype=np.float32)}
    try:
        run_with_time_limit(session, None, feeds, 0.2, "forever:1")
    except RunTimedOut as exc:
        assert "forever:1" in exc.message and "0.2 s" in exc.message
    else:
        raise AssertionError("the run was not stopped")
    guard = RunGuard()
    assert guard.terminated is False
