"""Following the catalog's event log, and fanning events out to live subscribers (SSE).

The catalog's event table is an outbox: the follower reads the events after the last id it has
seen, so a slow poll or a restart never loses one. Subscribers get catalog events and the
runtime's own load/unload/swap events through bounded queues; a subscriber that cannot keep up
is dropped rather than letting memory grow.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Awaitable, Callable

from hub.catalog.records import EventInfo

log = logging.getLogger(__name__)

EventHandler = Callable[[EventInfo], Awaitable[None]]


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

    @property
    def subscriber_count(self) -> int:
        return len(self._subscribers)

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


class EventFollower:
    """Polls ``events_after(last_id)`` every ``interval`` seconds and hands each event, in
    order, to the handlers. Starts after the newest event present at start-up."""

    def __init__(
        self,
        *,
        last_event_id: Callable[[], Awaitable[int]],
        events_after: Callable[[int, int], Awaitable[list[EventInfo]]],
        interval: float,
        handlers: list[EventHandler],
        page_size: int = 500,
    ) -> None:
        self._last_event_id = last_event_id
        self._events_after = events_after
        self._interval = max(0.01, interval)
        self._handlers = handlers
        self._page_size = page_size
        self._task: asyncio.Task | None = None
        self.last_id = 0

    async def start(self) -> None:
        self.last_id = await self._last_event_id()
        self._task = asyncio.get_running_loop().create_task(self._follow(), name="onnxhub-events")

    async def _follow(self) -> None:
        while True:
            try:
                events = await self._events_after(self.last_id, self._page_size)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("reading the catalog's event log failed: %s", exc)
                events = []
            for event in events:
                self.last_id = event.id
                for handler in self._handlers:
                    try:
                        await handler(event)
                    except asyncio.CancelledError:
                        raise
                    except Exception:
                        log.exception("handling catalog event %d (%s) failed", event.id, event.kind)
            if len(events) < self._page_size:
                await asyncio.sleep(self._interval)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            self._task = None
