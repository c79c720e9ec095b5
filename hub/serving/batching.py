"""Adaptive batching: concurrent requests to one model version share one onnxruntime run.

Nothing is batched while there is nothing to batch with: a request that finds the queue empty
and a run slot free runs at once. Requests that arrive while runs are busy queue up; when a slot
frees, the queued requests with the same input layout are concatenated along dim 0 (up to
``max_batch_size`` rows), run once and split back. While other runs are still busy, a partial
batch waits at most ``max_batch_time`` (measured from its oldest request) for more rows. The
batch size therefore follows the load. A failed batch fails each of its requests with the same
clear error; closing the batcher fails whatever is still queued: nothing ever hangs.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from dataclasses import dataclass
from typing import Callable, Iterable

import numpy as np
from onnxruntime.capi.onnxruntime_pybind11_state import InvalidArgument

from hub.errors import HubError, InvalidInput, Unavailable, first_line
from hub.serving.sessions import LoadedModel

Feeds = dict[str, np.ndarray]
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
        self._queue: deque[_Pending] = deque()
        self._in_flight = 0
        self._timer: asyncio.TimerHandle | None = None
        self._tasks: set[asyncio.Task] = set()
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
        loop = asyncio.get_running_loop()
        model = self._model
        if not self._queue and self._in_flight < self._options.run_concurrency:
            self._in_flight += 1
            try:
                result = await model.run_guarded(feeds, outputs)
            except Exception as exc:
                raise _translate(exc, model.info.ref) from None
            finally:
                self._in_flight -= 1
                if self._queue:
                    self._dispatch()
            if self._on_batch is not None:
                self._on_batch(model.info.model, _rows(feeds))
            return result
        if len(self._queue) >= self._options.max_queue:
            raise overloaded(model, len(self._queue))
        key, rows = batch_key(model, feeds, outputs)
        pending = _Pending(feeds, outputs, rows, key, loop.create_future(), time.monotonic())
        self._queue.append(pending)
        self._dispatch()
        return await pending.future

    def _dispatch(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        options = self._options
        while self._queue and self._in_flight < options.run_concurrency:
            if self._in_flight > 0 and options.max_batch_time > 0:
                waited = time.monotonic() - self._queue[0].enqueued
                queued_rows = sum(p.rows for p in self._queue)
                if waited < options.max_batch_time and queued_rows < options.max_batch_size:
                    loop = asyncio.get_running_loop()
                    self._timer = loop.call_later(options.max_batch_time - waited, self._dispatch)
                    return
            batch = self._take_batch()
            if not batch:
                continue
            self._in_flight += 1
            task = asyncio.get_running_loop().create_task(self._run_batch(batch))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    def _take_batch(self) -> list[_Pending]:
        head = self._queue.popleft()
        if head.future.done():  # the caller went away
            return []
        if head.key is None:
            return [head]
        batch, _, self._queue = gather_batch(head, self._queue, self._options.max_batch_size)
        return batch

    async def _run_batch(self, batch: list[_Pending]) -> None:
        model = self._model
        try:
            if len(batch) == 1:
                item = batch[0]
                result = await model.run_guarded(item.feeds, item.outputs)
                _resolve(item, result)
            else:
                result = await model.run_guarded(concatenate_feeds(batch), batch[0].outputs)
                if not split_rows(batch, result):
                    # The graph does not keep rows apart after all: run each request alone.
                    for item in batch:
                        single = await model.run_guarded(item.feeds, item.outputs)
                        _resolve(item, single)
            if self._on_batch is not None:
                self._on_batch(model.info.model, sum(_rows(p.feeds) for p in batch))
        except Exception as exc:
            fail_batch(batch, exc, model.info.ref)
        finally:
            self._in_flight -= 1
            if self._queue:
                self._dispatch()

    async def close(self, timeout: float = 30.0, reason: str = "unloaded") -> None:
        """Stop taking requests, let queued and running ones finish (up to ``timeout``), then
        terminate the runs still going and fail whatever is left (503)."""
        self._closed = True
        deadline = time.monotonic() + timeout
        while (self._queue or self._in_flight) and time.monotonic() < deadline:
            await asyncio.sleep(0.005)
        if self._timer is not None:
            self._timer.cancel()
        if self._model.terminate_runs(f"{self._model.info.ref} was {reason}"):
            log.warning(
                "%s: runs still in flight after %g s were terminated (%s)",
                self._model.info.ref,
                timeout,
                reason,
            )
        fail_waiting(
            self._queue, Unavailable(f"{self._model.info.ref} was {reason}", retry_after=1)
        )


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


def split_rows(batch: list[_Pending], result: list[np.ndarray]) -> bool:
    """Give each request its rows of a batched ``result``; False (nothing resolved) when an
    output does not have one row per input row, i.e. the graph does not keep rows apart."""
    total = sum(p.rows for p in batch)
    if any(r.ndim == 0 or r.shape[0] != total for r in result):
        return False
    start = 0
    for item in batch:
        stop = start + item.rows
        _resolve(item, [r[start:stop] for r in result])
        start = stop
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
