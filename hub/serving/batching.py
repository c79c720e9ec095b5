"""Adaptive batching: concurrent requests to one model version share one onnxruntime run.

Nothing is batched while there is nothing to batch with: a request that finds the queue empty
and a run slot free runs at once. Requests that arrive while runs are busy queue up; when a slot
frees, the queued requests with the same input layout are concatenated along dim 0 (up to
``max_batch_size`` rows), run once and split back. While other runs are still busy, a partial
batch waits at most ``max_batch_time`` (measured from its oldest request) for more rows. The
batch size therefore follows the load. A failed batch fails each of its requests with the same
clear error; closing the batcher fails whatever is still queued: nothing ever hangs.

The run thread takes the next batch itself as soon as a run ends, and hands each finished
batch back to the event loop in one call. Waiting for the loop to come round instead would
leave the model idle for the rest of the loop's turn, and a turn that reads hundreds of
connections lasts far longer than a small model's run: under overload the queue would fill,
and most requests be refused, while the model sat idle. The queue and the count of runs in
flight are therefore shared with the run threads, under one lock.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import Callable, Iterable, Union

import numpy as np
from onnxruntime.capi.onnxruntime_pybind11_state import InvalidArgument

from hub.errors import HubError, InvalidInput, Unavailable, first_line
from hub.serving.sessions import LoadedModel

Feeds = dict[str, np.ndarray]
#: What a run thread hands back for a batch: each request's outputs, in order, or the error.
Outcome = Union[list[list[np.ndarray]], Exception]
log = logging.getLogger(__name__)


class InferenceFailed(HubError):
    """onnxruntime failed while running a valid request (the server's fault)."""

    status = 500


@dataclass
class _Pending:
    feeds: Feeds
    outputs: list[str]
    rows: int
    key: tuple | None  # None: must run alone
    future: asyncio.Future
    enqueued: float


def batch_key(model: LoadedModel, feeds: Feeds, outputs: list[str]) -> tuple[tuple | None, int]:
    """(key, rows): requests with equal keys can be concatenated along dim 0; key None runs alone."""
    if not model.batchable:
        return None, 0
    rows = -1
    layout = []
    for name, array in feeds.items():
        if array.ndim == 0:
            return None, 0
        if rows < 0:
            rows = array.shape[0]
        elif array.shape[0] != rows:
            return None, 0
        layout.append((name, array.dtype.str, array.shape[1:]))
    return (tuple(layout), tuple(outputs)), max(rows, 0)


def _translate(exc: Exception, ref: str) -> HubError:
    if isinstance(exc, HubError):
        return exc
    message = first_line(exc)
    if isinstance(exc, InvalidArgument):
        return InvalidInput(f"{ref} rejected the input: {message}")
    return InferenceFailed(f"inference on {ref} failed: {message}")


class AdaptiveBatcher:
    """Queues, batches and runs requests for one :class:`LoadedModel` on its executor."""

    def __init__(self, model: LoadedModel, on_batch: Callable[[str, int], None] | None = None):
        self._model = model
        self._options = model.options
        # Shared with the run threads: the queue, the runs in flight and the stop flag.
        self._lock = threading.Lock()
        self._queue: deque[_Pending] = deque()
        self._in_flight = 0
        self._stop_taking = False  # set when closing gives up: the threads take no more
        self._timer: asyncio.TimerHandle | None = None
        self._on_batch = on_batch
        self._closed = False

    @property
    def queue_depth(self) -> int:
        return len(self._queue)

    def check_capacity(self) -> None:
        """Unavailable (503 with Retry-After) while the queue is full. The server asks before
        it reads and decodes a request, so under overload a refusal costs little."""
        depth = self.queue_depth
        if depth >= self._options.max_queue:
            raise overloaded(self._model, depth)

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def in_flight(self) -> int:
        return self._in_flight

    async def submit(self, feeds: Feeds, outputs: list[str]) -> list[np.ndarray]:
        """Run ``feeds`` (alone or in a batch) and return ``outputs`` in order."""
        if self._closed:
            raise Unavailable(f"{self._model.info.ref} is shutting down", retry_after=1)
        model = self._model
        plan = model.inline
        if plan is not None and not self._queue and _rows(feeds) <= plan.max_rows:
            try:
                result = model.run_inline(feeds, outputs)
            except Exception as exc:
                raise _translate(exc, model.info.ref) from None
            if result is not None:
                if self._on_batch is not None:
                    self._on_batch(model.info.model, _rows(feeds))
                return result
        if len(self._queue) >= self._options.max_queue:
            raise overloaded(model, len(self._queue))
        key, rows = batch_key(model, feeds, outputs)
        loop = asyncio.get_running_loop()
        pending = _Pending(feeds, outputs, rows, key, loop.create_future(), time.monotonic())
        with self._lock:
            alone = not self._queue and self._in_flight < self._options.run_concurrency
            if alone:  # nothing to batch with: no reason to wait
                self._in_flight += 1
            else:
                self._queue.append(pending)
        if alone:
            self._start([pending], loop)
        else:
            self._dispatch()
        return await pending.future

    def _dispatch(self) -> None:
        """On the loop: start batches while run slots are free (or set the timer of a partial
        batch that may wait for more rows)."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        loop = asyncio.get_running_loop()
        while True:
            with self._lock:
                if not self._queue or self._in_flight >= self._options.run_concurrency:
                    return
                wait = self._wait_for_rows(self._in_flight)
                if wait > 0:
                    self._timer = loop.call_later(wait, self._dispatch)
                    return
                batch = self._take_batch()
                if not batch:
                    continue
                self._in_flight += 1
            self._start(batch, loop)

    def _start(self, batch: list[_Pending], loop: asyncio.AbstractEventLoop) -> None:
        """Hand ``batch`` (its run slot already counted) to a run thread."""
        try:
            self._model.executor.post(self._work, batch, loop)
        except RuntimeError as exc:  # the model's threads are shut down
            with self._lock:
                self._in_flight -= 1
            fail_batch(batch, Unavailable(str(exc), retry_after=1), self._model.info.ref)

    def _wait_for_rows(self, busy: int) -> float:
        """Seconds the queue's partial batch may still wait for rows while ``busy`` other runs
        are going (0: run it now). Call under the lock."""
        options = self._options
        if busy <= 0 or options.max_batch_time <= 0:
            return 0.0
        waited = time.monotonic() - self._queue[0].enqueued
        if waited >= options.max_batch_time:
            return 0.0
        if sum(p.rows for p in self._queue) >= options.max_batch_size:
            return 0.0
        return options.max_batch_time - waited

    def _take_batch(self) -> list[_Pending]:
        """The next batch off the queue ([] when its head's caller went away). Under the lock."""
        head = self._queue.popleft()
        if head.future.done():  # the caller went away
            return []
        if head.key is None:
            return [head]
        batch, _, self._queue = gather_batch(head, self._queue, self._options.max_batch_size)
        return batch

    def _work(self, batch: list[_Pending], loop: asyncio.AbstractEventLoop) -> None:
        """On a run thread: run ``batch``, hand it back, and go on with the next batch as long
        as one is ready; then free the run slot."""
        while batch:
            outcome = self._run(batch)
            # The slot is taken on or freed before the answers go back, so that a caller who
            # has its answer never finds the slot of its own run still held.
            following = self._next_batch(loop)
            try:
                loop.call_soon_threadsafe(self._deliver, batch, outcome)
            except RuntimeError:  # the loop is closed: nobody is waiting any more
                if following:
                    with self._lock:
                        self._in_flight -= 1
                return
            batch = following

    def _next_batch(self, loop: asyncio.AbstractEventLoop) -> list[_Pending]:
        """On a run thread whose run just ended: the next batch to run ([]: the slot is freed;
        a partial batch that may wait for rows is left to the loop's timer)."""
        with self._lock:
            while self._queue and not self._stop_taking:
                if self._wait_for_rows(self._in_flight - 1) > 0:
                    break
                batch = self._take_batch()
                if batch:
                    return batch
            self._in_flight -= 1
            waiting = bool(self._queue) and not self._stop_taking
        if waiting:
            try:
                loop.call_soon_threadsafe(self._dispatch)
            except RuntimeError:
                pass
        return []

    def _run(self, batch: list[_Pending]) -> Outcome:
        """On a run thread: each request's outputs from one run (or, when the graph does not
        keep rows apart, one run each), or the error that failed the batch."""
        model = self._model
        try:
            if len(batch) == 1:
                item = batch[0]
                return [model.run_blocking(item.feeds, item.outputs)]
            result = model.run_blocking(concatenate_feeds(batch), batch[0].outputs)
            parts = split_result(batch, result)
            if parts is None:  # the graph does not keep rows apart after all: run each alone
                parts = [model.run_blocking(item.feeds, item.outputs) for item in batch]
            return parts
        except Exception as exc:
            return exc

    def _deliver(self, batch: list[_Pending], outcome: Outcome) -> None:
        """On the loop: give each request of ``batch`` its outputs, or the batch's error."""
        model = self._model
        if isinstance(outcome, Exception):
            fail_batch(batch, outcome, model.info.ref)
            return
        for item, result in zip(batch, outcome):
            _resolve(item, result)
        if self._on_batch is not None:
            self._on_batch(model.info.model, sum(_rows(p.feeds) for p in batch))

    async def close(self, timeout: float = 30.0, reason: str = "unloaded") -> None:
        """Stop taking requests, let queued and running ones finish (up to ``timeout``), then
        terminate the runs still going and fail whatever is left (503)."""
        self._closed = True
        deadline = time.monotonic() + timeout
        while (self._queue or self._in_flight) and time.monotonic() < deadline:
            await asyncio.sleep(0.005)
        if self._timer is not None:
            self._timer.cancel()
        with self._lock:
            self._stop_taking = True
            left, self._queue = self._queue, deque()
        if self._model.terminate_runs(f"{self._model.info.ref} was {reason}"):
            log.warning(
                "%s: runs still in flight after %g s were terminated (%s)",
                self._model.info.ref,
                timeout,
                reason,
            )
        fail_waiting(left, Unavailable(f"{self._model.info.ref} was {reason}", retry_after=1))


def overloaded(model: LoadedModel, queued: int) -> Unavailable:
    """The 503 of a full queue (``max_queue``); the client is told to retry in a second."""
    return Unavailable(
        f"{model.info.ref} is overloaded ({queued} requests queued); retry later", retry_after=1
    )


def gather_batch(
    head: _Pending, waiting: Iterable[_Pending], limit: int
) -> tuple[list[_Pending], int, deque[_Pending]]:
    """``head`` and the waiting requests that can share its run (same input layout, at most
    ``limit`` rows in all), their row count, and the requests left waiting, in order; requests
    whose caller went away are dropped."""
    batch, rows = [head], head.rows
    rest: deque[_Pending] = deque()
    for item in waiting:
        if item.future.done():
            continue
        if item.key == head.key and rows + item.rows <= limit:
            batch.append(item)
            rows += item.rows
        else:
            rest.append(item)
    return batch, rows, rest


def concatenate_feeds(batch: list[_Pending]) -> Feeds:
    """The requests' feeds stacked along the batch axis (axis 0), input by input."""
    return {name: np.concatenate([p.feeds[name] for p in batch], axis=0) for name in batch[0].feeds}


def split_result(batch: list[_Pending], result: list[np.ndarray]) -> list[list[np.ndarray]] | None:
    """Each request's rows of a batched ``result`` (views), in order; None when an output does
    not have one row per input row, i.e. the graph does not keep rows apart."""
    total = sum(p.rows for p in batch)
    if any(r.ndim == 0 or r.shape[0] != total for r in result):
        return None
    parts, start = [], 0
    for item in batch:
        stop = start + item.rows
        parts.append([r[start:stop] for r in result])
        start = stop
    return parts


def split_rows(batch: list[_Pending], result: list[np.ndarray]) -> bool:
    """Give each request its rows of a batched ``result`` (on the loop); False (nothing
    resolved) when the graph does not keep rows apart (:func:`split_result`)."""
    parts = split_result(batch, result)
    if parts is None:
        return False
    for item, part in zip(batch, parts):
        _resolve(item, part)
    return True


def fail_batch(batch: list[_Pending], exc: Exception, ref: str) -> None:
    """Fail every request of ``batch`` with ``exc`` as the client should see it."""
    error = _translate(exc, ref)
    if len(batch) > 1:
        error = type(error)(f"a batch of {len(batch)} requests failed: {error}")
    for item in batch:
        if not item.future.done():
            item.future.set_exception(error)


def fail_waiting(waiting: deque[_Pending], error: Exception) -> None:
    """Fail (and remove) every request still in ``waiting``."""
    while waiting:
        item = waiting.popleft()
        if not item.future.done():
            item.future.set_exception(error)


def _resolve(item: _Pending, result: list[np.ndarray]) -> None:
    if not item.future.done():
        item.future.set_result(result)


def _rows(feeds: Feeds) -> int:
    for array in feeds.values():
        return int(array.shape[0]) if array.ndim else 1
    return 0
