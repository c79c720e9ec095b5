"""``GET /v2/events``: server-sent events for catalog changes and model load/unload/swap.

Each catalog event carries its log id as the SSE ``id``, so a client reconnecting with
``Last-Event-ID`` (or ``?last_event_id=``) first gets the catalog events it missed.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from typing import Any

from aiohttp import web

from hub.errors import InvalidInput
from hub.server.auth import may_see_event
from hub.server.headers import finish_headers

KEEPALIVE_SECONDS = 15.0
MAX_EVENT_ID = 2**63 - 1
log = logging.getLogger(__name__)


def format_event(event: dict[str, Any]) -> bytes:
    lines = []
    if event.get("id") is not None and event.get("source") == "catalog":
        lines.append(f"id: {event['id']}")
    lines.append(f"event: {event.get('kind', 'message')}")
    lines.append("data: " + json.dumps(event, separators=(",", ":"), default=str))
    return ("\n".join(lines) + "\n\n").encode()


def parse_last_event_id(raw: str | None) -> int | None:
    """A ``Last-Event-ID``: ASCII digits within a signed 64-bit integer (event ids are),
    else InvalidInput (400) before the stream starts."""
    if not raw:
        return None
    raw = raw.strip()
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 19 or int(raw) > MAX_EVENT_ID:
        shown = raw if len(raw) <= 40 else raw[:37] + "..."
        raise InvalidInput(
            f"Last-Event-ID must be an event id (0 to {MAX_EVENT_ID}), got {shown!r}"
        )
    return int(raw)


def catalog_event(info: Any) -> dict[str, Any]:
    data = info.to_json()
    data["source"] = "catalog"
    return data


async def stream_events(request: web.Request) -> web.StreamResponse:
    from hub.server.keys import BROADCASTER, RUNTIME

    broadcaster = request.app[BROADCASTER]
    runtime = request.app[RUNTIME]
    last_id = parse_last_event_id(
        request.headers.get("Last-Event-ID") or request.query.get("last_event_id")
    )
    queue = broadcaster.subscribe()
    response = web.StreamResponse(
        headers={
            "Content-Type": "text/event-stream",
            "Cache-Control": "no-cache",
            "X-Accel-Buffering": "no",
        }
    )
    finish_headers(response)
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
    except Exception:  # the headers are sent: a second response would corrupt the stream
        if not response.prepared:
            raise
        log.exception("event stream ended by an error")
        with contextlib.suppress(Exception):
            await response.write(b'event: error\ndata: {"error": "internal error"}\n\n')
    finally:
        broadcaster.unsubscribe(queue)
    return response
