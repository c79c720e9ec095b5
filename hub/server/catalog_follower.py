"""The server's catalog event follower: built, wired to SSE and metrics, and measured.

:func:`build_follower` makes the :class:`~hub.serving.events.EventFollower` of one app: woken by
PostgreSQL ``LISTEN`` when the catalog is on PostgreSQL (polling every
``ONNXHUB_EVENT_POLL_INTERVAL`` seconds otherwise, and while the listener is reconnecting), its
failed hot swaps reported on ``/v2/events`` as ``model.swap_failed`` (with the attempt, the
seconds to the next one and the error's first line) and ``model.swap_recovered``, and its
figures registered on the app's Prometheus registry, read at scrape time:

- ``onnxhub_catalog_events_total``: events read from the catalog's log and handled
- ``onnxhub_catalog_last_event_id``: id of the newest event read
- ``onnxhub_catalog_wakeups_total{reason}``: ``notify`` (PostgreSQL NOTIFY), ``listen`` (a
  (re)connected listener catching up), ``lost`` (the listener's connection dropped), ``poll``
  (timer), ``retry`` (a retry came due)
- ``onnxhub_catalog_listener_connected``: 1 while PostgreSQL LISTEN is connected (0 on SQLite)
- ``onnxhub_catalog_listener_reconnects_total``, ``onnxhub_catalog_read_failures_total``
- ``onnxhub_model_swap_failures_total{model}``: failed attempts to apply a catalog event
  (load and warm a new version); ``onnxhub_model_swap_recoveries_total{model}``: retries that
  then succeeded; ``onnxhub_model_swap_retries_pending{model}``: events waiting to be retried
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timezone
from typing import Any, Sequence

from aiohttp import web
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from hub.server.metrics import ServerMetrics
from hub.serving.events import (
    DeliveryFailure,
    EventBroadcaster,
    EventFollower,
    EventHandler,
)
from hub.serving.wakeup import wakeup_for

#: The app's follower (set by the runtime context), read by ``/v2/health/ready``.
FOLLOWER = web.AppKey("catalog_follower", EventFollower)


def catalog_health(
    follower: EventFollower | None, where: str = "the catalog"
) -> tuple[bool, dict[str, Any]]:
    """(whether the catalog lets the server be ready, what ``/v2/health/ready`` adds).

    ``where``: the catalog's URL, password masked. Not ready until the catalog has been
    reached once (a server started while its database is down): ``{"error": "catalog <url>
    not reached yet: ...", "catalog": {...}}``. Once reached, losing it does not make the
    server unready, since loaded models keep serving, but the body says so: ``{"catalog":
    {"url": ..., "reachable": false, "error": ..., "since": ...}}``.
    """
    if follower is None:
        return True, {}
    if follower.catalog_error is None:
        if follower.synced:
            return True, {}
        return False, {"error": f"catalog {where} not reached yet", "catalog": {"url": where}}
    detail = {
        "url": where,
        "reachable": False,
        "error": follower.catalog_error,
        "since": datetime.fromtimestamp(follower.catalog_error_since or 0, timezone.utc).isoformat(
            timespec="seconds"
        ),
    }
    if not follower.synced:
        error = f"catalog {where} not reached yet: {follower.catalog_error}"
        return False, {"error": error, "catalog": detail}
    return True, {"catalog": detail}


def build_follower(
    hub: Any,
    settings: Any,
    runtime: Any,
    broadcaster: EventBroadcaster,
    metrics: ServerMetrics,
    handlers: Sequence[EventHandler],
) -> EventFollower:
    """The follower for one app (start and stop it in the app's ``cleanup_ctx``)."""

    def failed(failure: DeliveryFailure) -> None:
        broadcaster.publish(
            {
                "kind": "model.swap_failed",
                "source": "runtime",
                "model": failure.event.model,
                "event_id": failure.event.id,
                "event_kind": failure.event.kind,
                "attempts": failure.attempts,
                "retry_in_s": round(failure.retry_in, 3),
                "error": failure.error,
            }
        )

    def recovered(handler: EventHandler, event: Any, attempts: int) -> None:
        broadcaster.publish(
            {
                "kind": "model.swap_recovered",
                "source": "runtime",
                "model": event.model,
                "event_id": event.id,
                "failed_attempts": attempts,
            }
        )

    follower = EventFollower(
        last_event_id=lambda: runtime.call(hub.last_event_id),
        events_after=lambda last, limit: runtime.call(hub.events_after, last, limit),
        interval=settings.event_poll_interval,
        handlers=handlers,
        wakeup=wakeup_for(hub.db.engine.url),
        on_failure=failed,
        on_recovered=recovered,
    )
    metrics.registry.register(FollowerCollector(follower))
    return follower


class FollowerCollector(Collector):
    def __init__(self, follower: EventFollower) -> None:
        self._follower = follower

    def collect(self):
        follower, stats = self._follower, self._follower.stats
        events = CounterMetricFamily("onnxhub_catalog_events", "Catalog events read and handled")
        events.add_metric([], stats.events)
        yield events
        last = GaugeMetricFamily("onnxhub_catalog_last_event_id", "Id of the newest event read")
        last.add_metric([], follower.last_id)
        yield last
        wakeups = CounterMetricFamily(
            "onnxhub_catalog_wakeups",
            "Reads of the event log, by what caused them",
            labels=["reason"],
        )
        for reason in ("notify", "listen", "lost", "poll", "retry"):
            wakeups.add_metric([reason], stats.wakeups.get(reason, 0))
        yield wakeups
        connected = GaugeMetricFamily(
            "onnxhub_catalog_listener_connected", "1 while PostgreSQL LISTEN is connected"
        )
        connected.add_metric([], 1 if follower.live else 0)
        yield connected
        reconnects = CounterMetricFamily(
            "onnxhub_catalog_listener_reconnects", "Times the LISTEN connection was re-established"
        )
        reconnects.add_metric([], follower.reconnects)
        yield reconnects
        read_failures = CounterMetricFamily(
            "onnxhub_catalog_read_failures", "Failed reads of the catalog's event log"
        )
        read_failures.add_metric([], stats.read_failures)
        yield read_failures
        yield _by_model(
            "onnxhub_model_swap_failures",
            "Failed attempts to apply a catalog event (load and warm the new version)",
            stats.handler_failures,
        )
        yield _by_model(
            "onnxhub_model_swap_recoveries",
            "Catalog events applied after failed attempts",
            stats.recoveries,
        )
        pending = GaugeMetricFamily(
            "onnxhub_model_swap_retries_pending",
            "Catalog events waiting to be retried (the previous version keeps serving)",
            labels=["model"],
        )
        for model, count in Counter(model for model, _, _ in follower.pending_retries).items():
            pending.add_metric([model], count)
        yield pending


def _by_model(name: str, documentation: str, counts: Counter) -> CounterMetricFamily:
    family = CounterMetricFamily(name, documentation, labels=["model"])
    for model, count in sorted(counts.items()):
        family.add_metric([model], count)
    return family
