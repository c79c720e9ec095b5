"""hub.onnx.watchdog: one thread ends runs at their deadlines; unwatch says whether it fired."""

from __future__ import annotations

import threading
import time

import numpy as np
import onnxruntime as ort
from onnx_graphs import loop_model

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


def test_run_with_time_limit_ends_a_real_run_through_the_watchdog() -> None:
    forever = loop_model(constant_trips=10**15).SerializeToString()  # runs until terminated
    session = ort.InferenceSession(forever, providers=["CPUExecutionProvider"])
    feeds = {"x": np.zeros((1, 1), dtype=np.float32)}
    try:
        run_with_time_limit(session, None, feeds, 0.2, "forever:1")
    except RunTimedOut as exc:
        assert "forever:1" in exc.message and "0.2 s" in exc.message
    else:
        raise AssertionError("the run was not stopped")
    guard = RunGuard()
    assert guard.terminated is False
