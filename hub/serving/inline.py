"""Inline runs: a tiny model's runs on the event loop, where handing them to a thread costs more.

Handing a run to the model's worker thread and back costs two thread wake-ups, a queue and a
loop wake-up (tens of microseconds, more on a busy machine); a logistic regression runs in a few.
At load, after the warm-up, :func:`plan_inline` and :func:`replan_on_loop` time both on
this machine:

- the hand-off: the median round trip of a no-op call through the model's
  :class:`hub.serving.workers.WorkerThreads`, awaited on the event loop (the same queue,
  thread and loop wake-ups a run takes);
- the run: the median of repeated runs at 1 row and at ``max_batch_size`` rows (the warm-up
  row repeated), from which the cost per extra row follows (assumed linear in between).

A model runs inline when its 1-row run costs less than the hand-off, and only for batches of
at most ``max_rows`` rows: the most whose estimated run stays below both the hand-off and
:data:`MAX_INLINE_SECONDS`, so an inline run never holds the loop longer than a hand-off would
have cost. Larger batches go to the worker thread as before.

A run whose cost depends on its data (a Loop's trip count from the request) can still be long:
every inline run is watched by :mod:`hub.onnx.watchdog` and terminated after
:data:`INLINE_STOP_SECONDS` and that request runs again on the worker thread under the model's
own ``run_timeout``; after :data:`INLINE_STOPS_TO_DEMOTE` stops, if they are more than
:data:`INLINE_STOP_SHARE_TO_DEMOTE` of its inline runs, the model is demoted (no more inline
runs).
"""

from __future__ import annotations

import logging
import statistics
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from hub.errors import first_line

log = logging.getLogger(__name__)

#: An inline run is never planned above this, whatever the hand-off costs (a busy machine
#: makes hand-offs slow; the loop must still not be held long).
MAX_INLINE_SECONDS = 200e-6
#: An inline run still going after this is terminated and re-run on the worker thread.
INLINE_STOP_SECONDS = 0.010
#: A model runs on its thread for good once this many of its inline runs were stopped and
#: they are more than :data:`INLINE_STOP_SHARE_TO_DEMOTE` of its inline runs. A busy machine
#: preempts a tiny run past the stop now and then (2 in 3,500 runs at a load of 10 on this
#: 2-core machine); a model whose runs are really long is stopped each time, so it holds the
#: loop at most this many stops, once; requests crafted to run long can cost the loop at most
#: one stop per thousand inline runs before the model is demoted.
INLINE_STOPS_TO_DEMOTE = 3
INLINE_STOP_SHARE_TO_DEMOTE = 0.001
#: Timed calls per measurement (medians, so a preempted call does not move the decision).
REPEATS = 25
#: A 1-row run slower than this is not timed further (big models pay one run, no more).
PROBE_LIMIT_SECONDS = 0.001
#: Each timing run is stopped after this (they run on a loader thread, never on the loop).
TIMING_STOP_SECONDS = 1.0


@dataclass(frozen=True)
class InlinePlan:
    """How one loaded model runs inline: batches of at most ``max_rows`` rows."""

    max_rows: int
    run_seconds: float  # median 1-row run
    row_seconds: float  # estimated cost of each row beyond the first
    handoff_seconds: float  # median round trip through the worker thread


@dataclass(frozen=True)
class InlineTimings:
    """What :func:`plan_inline` measured (for the load log line and the tests)."""

    handoff_seconds: float
    run_seconds: float
    batch_seconds: float | None
    batch_rows: int


def decide(timings: InlineTimings, max_batch_size: int) -> InlinePlan | None:
    """The plan for these measurements, or None when the model should not run inline.

    Inline when a 1-row run is cheaper than the hand-off (and below
    :data:`MAX_INLINE_SECONDS`); ``max_rows`` is the largest batch whose linear estimate
    stays under both, at least 1, at most ``max_batch_size``.
    """
    budget = min(timings.handoff_seconds, MAX_INLINE_SECONDS)
    if timings.run_seconds >= budget:
        return None
    row_seconds = 0.0
    if timings.batch_seconds is not None and timings.batch_rows > 1:
        row_seconds = max(0.0, timings.batch_seconds - timings.run_seconds) / (
            timings.batch_rows - 1
        )
    if row_seconds > 0:
        rows = 1 + int((budget - timings.run_seconds) / row_seconds)
    else:
        rows = max_batch_size
    return InlinePlan(
        max_rows=max(1, min(rows, max_batch_size)),
        run_seconds=timings.run_seconds,
        row_seconds=row_seconds,
        handoff_seconds=timings.handoff_seconds,
    )


def _median_seconds(call: Callable[[], Any], repeats: int = REPEATS) -> float:
    samples = []
    for _ in range(repeats):
        started = time.perf_counter()
        call()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def _noop() -> None:
    return None


def handoff_probe(executor: Any) -> Callable[[], Any]:
    """A no-op round trip through ``executor`` (:class:`hub.serving.workers.WorkerThreads`)."""
    return lambda: executor.run_sync(_noop)


#: One model is timed at a time: models loading together (a server's start) would otherwise
#: share the cores while they are timed, each look slower than it is and get a plan by chance.
_TIMING = threading.Lock()


def measure(
    run: Callable[[dict[str, np.ndarray]], Any],
    feeds: dict[str, np.ndarray],
    handoff: Callable[[], Any],
    batch_rows: int,
) -> InlineTimings:
    """Time the hand-off (``handoff()``: a no-op round trip through the worker thread) and
    ``run(feeds)`` at 1 row and, repeated, at ``batch_rows`` rows (blocking; one model at a
    time in the process)."""
    with _TIMING:
        run(feeds)  # the calling thread's first run allocates its onnxruntime state
        run_seconds = _median_seconds(lambda: run(feeds), 5)
        handoff_seconds = _median_seconds(handoff)
        if run_seconds > PROBE_LIMIT_SECONDS:
            return InlineTimings(handoff_seconds, run_seconds, None, 1)
        run_seconds = _median_seconds(lambda: run(feeds))
        batch_seconds = None
        if batch_rows > 1:
            batch = {name: np.repeat(a, batch_rows, axis=0) for name, a in feeds.items()}
            batch_seconds = _median_seconds(lambda: run(batch))
        return InlineTimings(handoff_seconds, run_seconds, batch_seconds, batch_rows)


def plan_inline(
    run: Callable[[dict[str, np.ndarray]], Any],
    feeds: dict[str, np.ndarray],
    handoff: Callable[[], Any],
    max_batch_size: int,
    batchable: bool,
    label: str,
) -> tuple[InlineTimings | None, InlinePlan | None]:
    """Measure and decide (see the module's docstring); (None, None) when the timing runs fail.

    The hand-off timed here is a blocking round trip from the calling thread;
    :func:`replan_on_loop` replaces it with the one requests really pay, from the event loop.
    """
    try:
        timings = measure(run, feeds, handoff, max_batch_size if batchable else 1)
    except Exception as exc:  # e.g. rejects the repeated warm-up row: served on its thread
        log.info("%s: runs on its worker thread (timing runs failed: %s)", label, first_line(exc))
        return None, None
    plan = decide(timings, max_batch_size if batchable else 1)
    _log(logging.DEBUG, label, timings, plan)
    return timings, plan


async def handoff_seconds_on_loop(executor: Any, repeats: int = REPEATS) -> float:
    """The median round trip of a no-op through ``executor`` awaited on the running loop:
    queue, worker wake-up, ``call_soon_threadsafe`` and the loop's wake-up, as a run pays."""
    samples = []
    for _ in range(repeats):
        started = time.perf_counter()
        await executor.run(_noop)
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


async def replan_on_loop(
    timings: InlineTimings, executor: Any, max_rows: int, label: str
) -> InlinePlan | None:
    """The plan with the hand-off measured from the event loop (call it on the loop)."""
    measured = await handoff_seconds_on_loop(executor)
    timings = InlineTimings(
        measured, timings.run_seconds, timings.batch_seconds, timings.batch_rows
    )
    plan = decide(timings, max_rows)
    _log(logging.INFO, label, timings, plan)
    return plan


def _log(level: int, label: str, timings: InlineTimings, plan: InlinePlan | None) -> None:
    log.log(
        level,
        "%s: 1-row run %.1f us, hand-off %.1f us%s: %s",
        label,
        timings.run_seconds * 1e6,
        timings.handoff_seconds * 1e6,
        ""
        if timings.batch_seconds is None
        else f", {timings.batch_rows}-row run {timings.batch_seconds * 1e6:.1f} us",
        "runs on its worker thread" if plan is None else f"runs inline up to {plan.max_rows} rows",
    )
