"""``GET /v2/events``: server-sent events for catalog changes and model load/unload/swap.

Each catalog event carries its log id as the SSE ``id``, so a client reconnecting with
``Last-Event-ID`` (or ``?last_event_id=``) first gets the catalog events it missed.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from aiohttp import web

from hub.errors import InvalidInput
from hub.server.auth import may_see_event

KEEPALIVE_SECONDS = 15.0


def format_event(event: dict[str, Any]) -> bytes:
    lines = []
    if event.get("id") is not None and event.get("source") == "catalog":
        lines.append(f"id: {event['id']}")
    lines.append(f"event: {event.get('kind', 'message')}")
    lines.append("data: " + json.dumps(event, separators=(",", ":"), default=str))
    return ("\n".join(lines) + "\n\n").encode()


def catalog_event(info: Any) -> dict[str, Any]:
    data = info.to_json()
    data["source"] = "catalog"
    return data


async def stream_events(request: web.Request) -> web.StreamResponse:
    from hub.server.keys import BROADCASTER, RUNTIME

    broadcaster = request.app[BROADCASTER]
    runtime = request.app[RUNTIME]
    raw_last = request.headers.get("Last-Event-ID") or request.query.get("last_event_id")
    last_id: int | None = None
    if raw_last:
        try:
            last_id = int(raw_last)
        except ValueError:
            raise InvalidInput(f"Last-Event-ID must be an integer, got {raw_last!r}") from None
    queue = broadcaster.subscribe()
    response = web.StreamResponse(
        headers={
            "Content-Type": "text/event-stream",
            "Cache-Control": "no-cache",
            "X-Accel-Buffering": "no",
        }
    )
    try:
        await response.prepare(request)
        await response.write(b": connected\n\n")
        replayed = last_id if last_id is not None else -1
        if last_id is not None:
            while True:
                missed = await runtime.call(runtime.hub.events_after, replayed, 500)
                for info in missed:
                    if await may_see_event(request, catalog_event(info)):
                        await response.write(format_event(catalog_event(info)))
                    replayed = info.id
                if len(missed) < 500:
                    break
        while True:
            try:
                event = await asyncio.wait_for(queue.get(), KEEPALIVE_SECONDS)
            except asyncio.TimeoutError:
                await response.write(b": keep-alive\n\n")
                continue
            if event is None:
                break
            if event.get("source") == "catalog" and event["id"] <= replayed:
                continue
            if not await may_see_event(request, event):
                continue
            await response.write(format_event(event))
    except (ConnectionResetError, ConnectionError):
        pass
    finally:
        broadcaster.unsubscribe(queue)
    return response
