"""A model's own run threads: a lean hand-off from the event loop to onnxruntime.

``loop.run_in_executor`` on a ThreadPoolExecutor wraps every call in two futures and a
thread-count check; for sub-millisecond runs that hand-off costs more than the run itself.
Here each call is one queue put and one ``call_soon_threadsafe`` back.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
from concurrent.futures import Future
from typing import Any, Callable

_STOP = object()
log = logging.getLogger(__name__)


def _set_result(future: asyncio.Future, value: Any) -> None:
    if not future.done():
        future.set_result(value)


def _set_exception(future: asyncio.Future, error: BaseException) -> None:
    if not future.done():
        future.set_exception(error)


def _log_error(value: Any, error: BaseException | None) -> None:
    if error is not None:
        log.error("a posted call failed", exc_info=error)


class WorkerThreads:
    """``count`` threads taking calls from one queue; at most ``count`` calls run at once."""

    def __init__(self, count: int, name: str) -> None:
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._threads = [
            threading.Thread(target=self._work, name=f"{name}-{i}", daemon=True)
            for i in range(max(1, count))
        ]
        for thread in self._threads:
            thread.start()
        self._stopped = False

    def _work(self) -> None:
        while True:
            item = self._queue.get()
            if item is _STOP:
                return
            fn, args, done = item
            try:
                value = fn(*args)
            except BaseException as exc:  # handed to the waiting caller, never lost
                done(None, exc)
            else:
                done(value, None)

    def run(self, fn: Callable[..., Any], *args: Any) -> asyncio.Future:
        """Call ``fn(*args)`` on a worker thread; await the returned future for its result."""
        if self._stopped:
            raise RuntimeError("the worker threads are shut down")
        loop = asyncio.get_running_loop()
        future = loop.create_future()

        def done(value: Any, error: BaseException | None) -> None:
            try:
                if error is None:
                    loop.call_soon_threadsafe(_set_result, future, value)
                else:
                    loop.call_soon_threadsafe(_set_exception, future, error)
            except RuntimeError:  # the loop closed while the call ran; nobody is waiting
                pass

        self._queue.put((fn, args, done))
        return future

    def post(self, fn: Callable[..., Any], *args: Any) -> None:
        """Call ``fn(*args)`` on a worker thread with nobody waiting: ``fn`` hands its results
        back itself. An error it lets out is a bug; it is logged, not lost."""
        if self._stopped:
            raise RuntimeError("the worker threads are shut down")
        self._queue.put((fn, args, _log_error))

    def run_sync(self, fn: Callable[..., Any], *args: Any) -> Any:
        """Call ``fn(*args)`` on a worker thread and block until it returns (for warm-up)."""
        result: Future = Future()

        def done(value: Any, error: BaseException | None) -> None:
            if error is None:
                result.set_result(value)
            else:
                result.set_exception(error)

        self._queue.put((fn, args, done))
        return result.result()

    def shutdown(self) -> None:
        """Let queued calls finish, then stop the threads (does not wait for them)."""
        if self._stopped:
            return
        self._stopped = True
        for _ in self._threads:
            self._queue.put(_STOP)
