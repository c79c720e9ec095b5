"""Following the catalog's event log, and fanning events out to live subscribers (SSE).

The catalog's event table is an outbox: the follower reads the events after the last id it has
seen, so a slow poll, a lost notification or a restart never loses one. What wakes it is either
a poll timer (SQLite) or a :class:`~hub.serving.wakeup.Wakeup` such as PostgreSQL
``LISTEN/NOTIFY``, with a slow safety poll behind it; a wake-up only says "read the log now".

A handler that fails on an event (a hot swap whose new version cannot be loaded yet) is retried
with exponential backoff, while the log goes on being followed for every other model. Handlers
are level-triggered per model: handling any event of a model brings that model up to date with
the catalog, so a later event of the same model that succeeds supersedes a pending retry.
Failures and recoveries are reported through callbacks (the server turns them into SSE events
and Prometheus metrics).

When the catalog cannot be read (the database is down or unreachable), the follower keeps
trying with growing pauses (up to the safety poll), logs one warning per outage, and exposes
:attr:`EventFollower.catalog_error`; it also starts without the catalog and syncs once it can
(:attr:`EventFollower.synced`). Loaded models keep serving meanwhile.

Subscribers get catalog events and the runtime's own load/unload/swap events through bounded
queues; a subscriber that cannot keep up is dropped rather than letting memory grow.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable, Protocol, Sequence

from hub.catalog.records import EventInfo
from hub.errors import first_line

log = logging.getLogger(__name__)

EventHandler = Callable[[EventInfo], Awaitable[None]]

#: With a live wake-up (PostgreSQL LISTEN), how often the log is read anyway, in seconds.
SAFETY_POLL_SECONDS = 5.0
#: First and longest delay between retries of a failed handler, in seconds.
RETRY_INITIAL_SECONDS = 0.5
RETRY_MAX_SECONDS = 30.0


class EventBroadcaster:
    """Fan-out of event dicts to any number of subscriber queues."""

    def __init__(self, queue_size: int = 1000) -> None:
        self._queue_size = queue_size
        self._subscribers: set[asyncio.Queue] = set()

    def subscribe(self) -> asyncio.Queue:
        """A queue receiving every event dict from now on; ``None`` means the stream ended."""
        queue: asyncio.Queue = asyncio.Queue(self._queue_size)
        self._subscribers.add(queue)
        return queue

    def unsubscribe(self, queue: asyncio.Queue) -> None:
        self._subscribers.discard(queue)

    def publish(self, event: dict[str, Any]) -> None:
        for queue in list(self._subscribers):
            try:
                queue.put_nowait(event)
            except asyncio.QueueFull:
                self._end(queue)

    def _end(self, queue: asyncio.Queue) -> None:
        self._subscribers.discard(queue)
        while not queue.empty():
            queue.get_nowait()
        queue.put_nowait(None)

    def close(self) -> None:
        """End every subscriber's stream (used at shutdown)."""
        for queue in list(self._subscribers):
            self._end(queue)


class Wakeup(Protocol):
    """Something that tells the follower to read the log now (e.g. PostgreSQL LISTEN)."""

    #: True while notifications can arrive; while False the follower polls at its interval.
    connected: bool

    @property
    def reconnects(self) -> int:
        """Times the wake-up lost its connection and got it back."""

    async def start(self, wake: Callable[[str], None]) -> None:
        """Begin calling ``wake(reason)`` on each notification and after each (re)connect."""

    async def stop(self) -> None: ...


@dataclass
class DeliveryFailure:
    """One failed attempt of ``handler`` on ``event``; ``retry_in`` is seconds to the next."""

    handler: EventHandler
    event: EventInfo
    error: str
    attempts: int
    retry_in: float


@dataclass
class _PendingRetry:
    handler: EventHandler
    event: EventInfo
    attempts: int
    due: float


@dataclass
class FollowerStats:
    """Counters for /metrics: events delivered, wake-ups by reason, handler failures by model."""

    events: int = 0
    read_failures: int = 0
    wakeups: Counter = field(default_factory=Counter)
    handler_failures: Counter = field(default_factory=Counter)
    recoveries: Counter = field(default_factory=Counter)


class EventFollower:
    """Reads ``events_after(last_id)`` whenever woken (or every ``interval`` seconds without a
    live wake-up) and hands each event, in order, to the handlers. Starts after the newest
    event present at start-up.

    ``on_failure`` is called after each failed attempt of a handler, ``on_recovered(handler,
    event, attempts)`` when a retried handler succeeds; both must not raise or block.
    """

    def __init__(
        self,
        *,
        last_event_id: Callable[[], Awaitable[int]],
        events_after: Callable[[int, int], Awaitable[list[EventInfo]]],
        interval: float,
        handlers: Sequence[EventHandler],
        page_size: int = 500,
        wakeup: Wakeup | None = None,
        safety_poll: float = SAFETY_POLL_SECONDS,
        retry_initial: float = RETRY_INITIAL_SECONDS,
        retry_max: float = RETRY_MAX_SECONDS,
        on_failure: Callable[[DeliveryFailure], None] | None = None,
        on_recovered: Callable[[EventHandler, EventInfo, int], None] | None = None,
    ) -> None:
        self._last_event_id = last_event_id
        self._events_after = events_after
        self._interval = max(0.01, interval)
        self._handlers = list(handlers)
        self._page_size = page_size
        self._wakeup = wakeup
        self._safety_poll = max(self._interval, safety_poll)
        self._retry_initial = max(0.001, retry_initial)
        self._retry_max = max(self._retry_initial, retry_max)
        self._on_failure = on_failure or (lambda failure: None)
        self._on_recovered = on_recovered or (lambda handler, event, attempts: None)
        self._woken = asyncio.Event()
        self._wake_reasons: list[str] = []
        self._retries: dict[tuple[int, str], _PendingRetry] = {}
        self._task: asyncio.Task | None = None
        self.stats = FollowerStats()
        self.last_id = 0
        #: Whether the log's start has been read (False while the catalog was never reached).
        self.synced = False
        #: The last catalog read error while the catalog is unreachable, and since when.
        self.catalog_error: str | None = None
        self.catalog_error_since: float | None = None

    # -- state for metrics and health ------------------------------------------------------

    @property
    def live(self) -> bool:
        """Whether a live wake-up (LISTEN) is connected right now."""
        return self._wakeup is not None and self._wakeup.connected

    @property
    def reconnects(self) -> int:
        return 0 if self._wakeup is None else self._wakeup.reconnects

    @property
    def pending_retries(self) -> list[tuple[str, int, int]]:
        """(model, event id, attempts so far) of each handler waiting to be retried."""
        return [(r.event.model, r.event.id, r.attempts) for r in self._retries.values()]

    # -- lifecycle -------------------------------------------------------------------------

    def wake(self, reason: str = "wake") -> None:
        """Read the log now (thread-unsafe: call on the event loop)."""
        self._wake_reasons.append(reason)
        self._woken.set()

    async def start(self) -> None:
        """Start following; with the catalog unreachable it keeps trying in the background
        (:attr:`synced` stays False until it has read the log's start once)."""
        if self._wakeup is not None:
            # Listening before reading the start id: nothing committed after it goes unnoticed.
            await self._wakeup.start(self.wake)
        await self._sync()
        self._task = asyncio.get_running_loop().create_task(self._follow(), name="onnxhub-events")

    async def _sync(self) -> bool:
        try:
            self.last_id = await self._last_event_id()
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            self._catalog_failed(exc)
            return False
        self.synced = True
        self._catalog_ok()
        return True

    def _catalog_failed(self, exc: BaseException) -> None:
        self.stats.read_failures += 1
        error = first_line(exc)
        if self.catalog_error is None:
            self.catalog_error_since = time.time()
            log.warning("the catalog is unreachable (loaded models keep serving): %s", error)
        self.catalog_error = error

    def _catalog_ok(self) -> None:
        if self.catalog_error is not None:
            log.info(
                "the catalog is reachable again after %.1f s",
                time.time() - (self.catalog_error_since or time.time()),
            )
        self.catalog_error = self.catalog_error_since = None

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            self._task = None
        if self._wakeup is not None:
            await self._wakeup.stop()

    # -- the loop --------------------------------------------------------------------------

    async def _follow(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            if not self.synced and not await self._sync():
                await self._sleep(loop)
                continue
            try:
                events = await self._events_after(self.last_id, self._page_size)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self._catalog_failed(exc)
                events = []
            else:
                self._catalog_ok()
            for event in events:
                self.last_id = event.id
                self.stats.events += 1
                for index, handler in enumerate(self._handlers):
                    await self._deliver(index, handler, event, attempts=0)
            await self._run_due_retries(loop.time())
            if len(events) < self._page_size:
                await self._sleep(loop)

    async def _sleep(self, loop: asyncio.AbstractEventLoop) -> None:
        timeout = self._safety_poll if self.live else self._interval
        if self.catalog_error is not None:  # down: back off, up to the safety poll
            failing = max(0.0, time.time() - (self.catalog_error_since or time.time()))
            timeout = min(max(self._interval, failing / 4), self._safety_poll)
        timer = "poll"
        if self._retries:
            next_due = min(r.due for r in self._retries.values()) - loop.time()
            if next_due < timeout:
                timeout, timer = max(0.0, next_due), "retry"

        self._woken.clear()
        if self._wake_reasons:  # woken while reading: read again at once
            reasons, self._wake_reasons = self._wake_reasons, []
        else:
            try:
                await asyncio.wait_for(self._woken.wait(), timeout)
                reasons, self._wake_reasons = self._wake_reasons, []
            except asyncio.TimeoutError:
                reasons = [timer]
        for reason in set(reasons):
            self.stats.wakeups[reason] += 1

    async def _deliver(
        self, index: int, handler: EventHandler, event: EventInfo, attempts: int
    ) -> bool:
        key = (index, event.model)
        try:
            await handler(event)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            pending = self._retries.get(key)
            done = max(attempts, pending.attempts if pending else 0) + 1
            delay = min(self._retry_max, self._retry_initial * 2 ** (done - 1))
            delay *= random.uniform(0.8, 1.0)  # replicas failing together do not retry together
            self._retries[key] = _PendingRetry(
                handler, event, done, asyncio.get_running_loop().time() + delay
            )
            self.stats.handler_failures[event.model] += 1
            error = first_line(exc)
            log.warning(
                "handling catalog event %d (%s of %s) failed (attempt %d, retrying in %.1f s): %s",
                event.id,
                event.kind,
                event.model,
                done,
                delay,
                error,
            )
            self._report(self._on_failure, DeliveryFailure(handler, event, error, done, delay))
            return False
        pending = self._retries.pop(key, None)
        if pending is not None:
            self.stats.recoveries[event.model] += 1
            log.info(
                "catalog event %d (%s of %s) handled after %d failed attempt(s)",
                event.id,
                event.kind,
                event.model,
                pending.attempts,
            )
            self._report(self._on_recovered, handler, event, pending.attempts)
        return True

    async def _run_due_retries(self, now: float) -> None:
        for key, pending in list(self._retries.items()):
            if pending.due <= now and self._retries.get(key) is pending:
                await self._deliver(key[0], pending.handler, pending.event, pending.attempts)

    @staticmethod
    def _report(callback: Callable[..., None], *args: Any) -> None:
        try:
            callback(*args)
        except Exception:
            log.exception("reporting an event handler's outcome failed")
