"""Batching for models that run inline (:mod:`hub.serving.inline`): gathered per loop turn.

:class:`hub.serving.batching.AdaptiveBatcher` batches requests that queue while a run is busy
on the model's thread. An inline run is never "busy" across an ``await``, so nothing would
ever queue and every request would pay its own run. :class:`InlineBatcher` instead gathers
the requests submitted during one turn of the event loop and, at the end of that turn
(``loop.call_soon``), runs each group of one input layout inline when its rows fit the plan's
``max_rows``; alone, a request waits for nothing but the rest of the current turn. Once the
gathered rows reach ``max_batch_size`` they run at once, without waiting for the end of the
turn (a turn may read hundreds of requests). A group with more rows than ``max_rows`` goes to
the adaptive batcher's queue as one batch: under load, one run of many rows on the thread
costs less than many small inline runs.

Everything else is the adaptive batcher's: models without an inline plan, requests that do
not batch (or have more rows than the plan allows), the queue limit (503), closing. A batch
whose inline run is stopped (:data:`hub.serving.inline.INLINE_STOP_SECONDS`; the model is then
demoted) runs again on the model's thread under its ``run_timeout``.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from typing import Callable

import numpy as np

from hub.errors import Unavailable
from hub.serving.batching import (
    AdaptiveBatcher,
    Feeds,
    _Pending,
    _resolve,
    _rows,
    batch_key,
    concatenate_feeds,
    fail_batch,
    fail_waiting,
    gather_batch,
    overloaded,
    split_rows,
)
from hub.serving.sessions import LoadedModel


class InlineBatcher(AdaptiveBatcher):
    """An :class:`AdaptiveBatcher` that gathers and runs small requests inline per loop turn."""

    def __init__(self, model: LoadedModel, on_batch: Callable[[str, int], None] | None = None):
        super().__init__(model, on_batch)
        self._gathered: deque[_Pending] = deque()
        self._flush: asyncio.Handle | None = None
        self._gathered_rows = 0

    @property
    def queue_depth(self) -> int:
        return len(self._queue) + len(self._gathered)

    async def submit(self, feeds: Feeds, outputs: list[str]) -> list[np.ndarray]:
        model = self._model
        plan = model.inline
        if plan is None or self._closed:
            return await super().submit(feeds, outputs)
        key, rows = batch_key(model, feeds, outputs)
        if key is None or rows > plan.max_rows:
            return await super().submit(feeds, outputs)  # runs alone (inline when it fits)
        if len(self._gathered) >= self._options.max_queue:
            raise overloaded(model, len(self._gathered))
        loop = asyncio.get_running_loop()
        pending = _Pending(feeds, outputs, rows, key, loop.create_future(), time.monotonic())
        self._gathered.append(pending)
        self._gathered_rows += rows
        if self._gathered_rows >= self._options.max_batch_size:
            # A full batch runs now, not at the end of the turn: a turn that reads hundreds of
            # requests (as many connections) runs them batch by batch as they come, instead
            # of gathering up to the queue limit and refusing the rest.
            if self._flush is not None:
                self._flush.cancel()
            self._run_gathered()
        elif self._flush is None:
            self._flush = loop.call_soon(self._run_gathered)
        return await pending.future

    def _run_gathered(self) -> None:
        """At the end of the loop turn: every gathered request, in as few inline runs as the
        plan's row limit allows (requests of one input layout per run)."""
        self._flush = None
        gathered, self._gathered = self._gathered, deque()
        self._gathered_rows = 0
        while gathered:
            head = gathered.popleft()
            if head.future.done():  # the caller went away
                continue
            batch, rows, gathered = gather_batch(head, gathered, self._options.max_batch_size)
            plan = self._model.inline
            if plan is not None and rows <= plan.max_rows:
                self._run_inline_batch(batch)
            else:  # too many rows for one inline run: a bigger batch on the thread pays more
                self._to_thread(batch)

    def _run_inline_batch(self, batch: list[_Pending]) -> None:
        model = self._model
        if model.inline is None:  # demoted by an earlier batch of this turn
            self._to_thread(batch)
            return
        feeds = batch[0].feeds if len(batch) == 1 else concatenate_feeds(batch)
        try:
            result = model.run_inline(feeds, batch[0].outputs)
        except Exception as exc:
            fail_batch(batch, exc, model.info.ref)
            return
        if result is None:  # stopped: the model runs on its thread from now on
            self._to_thread(batch)
            return
        if len(batch) == 1:
            _resolve(batch[0], result)
        elif not split_rows(batch, result):
            self._to_thread(batch)  # rows not kept apart: the thread path runs each alone
            return
        if self._on_batch is not None:
            self._on_batch(model.info.model, sum(_rows(p.feeds) for p in batch))

    def _to_thread(self, batch: list[_Pending]) -> None:
        """Queue ``batch`` for the adaptive batcher (batched further, run on the thread)."""
        with self._lock:
            self._queue.extend(batch)
        self._dispatch()

    async def close(self, timeout: float = 30.0, reason: str = "unloaded") -> None:
        await super().close(timeout, reason)
        # only if the loop never came round to them
        fail_waiting(
            self._gathered, Unavailable(f"{self._model.info.ref} was {reason}", retry_after=1)
        )


def make_batcher(
    model: LoadedModel, on_batch: Callable[[str, int], None] | None = None
) -> AdaptiveBatcher:
    """The batcher for ``model``: inline gathering when it has (or may get) an inline plan."""
    if model.inline is not None:
        return InlineBatcher(model, on_batch)
    return AdaptiveBatcher(model, on_batch)
