"""The inference server's aiohttp application: factory, error rendering, lifecycle.

``create_app(hub)`` returns an app other route modules may add to. Its runtime (sessions,
executors, the catalog event follower) is created and closed in ``cleanup_ctx``; shutdown
stops taking requests, ends event streams, drains in-flight requests, then closes sessions.

Routes (Open Inference Protocol v2 REST, plus the Triton extensions tritonclient uses):

- ``GET /v2/health/live``, ``GET /v2/health/ready`` (503 while starting or draining), ``GET /v2``
- ``GET /v2/models/{m}[/versions/{v}]``, ``.../ready`` (503 when unloaded), ``POST .../infer``;
  ``{v}`` is a version number or an alias; without it: the ``production`` alias, else the latest
- ``POST /v2/repository/index``, ``POST /v2/repository/models/{m}/load`` and ``.../unload``
- ``GET /v2/events``: server-sent events (catalog events with their log id, and the runtime's
  ``model.loaded`` / ``model.unloaded`` / ``model.swapped``); ``Last-Event-ID`` replays
- ``GET /metrics``: Prometheus text

Its knobs are fields of :class:`hub.settings.Settings` (the README's table is generated from
them); per model, :class:`hub.settings.ServingOptions` from the version's card ``serving:`` block
and, above that, ``ONNXHUB_MODEL_OPTIONS``.
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from typing import Any, AsyncIterator

from aiohttp import web

from hub.server import api as catalog_api
from hub.server import endpoints_health, endpoints_models, endpoints_repository
from hub.server.auth import install_auth
from hub.server.catalog_follower import FOLLOWER, build_follower
from hub.server.front import install_front
from hub.server.keys import (
    BROADCASTER,
    CODEC,
    HUB,
    METRICS,
    RUNTIME,
    SERVER_STATE,
    SETTINGS,
    ServerState,
)
from hub.server.metrics import ServerMetrics
from hub.server.pages import install_pages
from hub.server.sse import catalog_event, stream_events
from hub.serving.events import EventBroadcaster
from hub.serving.runtime import InferenceRuntime
from hub.settings import Settings

log = logging.getLogger(__name__)


async def _runtime_context(app: web.Application) -> AsyncIterator[None]:
    hub, settings = app[HUB], app[SETTINGS]
    broadcaster, metrics = app[BROADCASTER], app[METRICS]
    runtime = InferenceRuntime(
        hub,
        settings,
        notify=lambda event: broadcaster.publish({**event, "source": "runtime"}),
        on_batch=metrics.observe_batch,
    )
    await runtime.start()
    metrics.attach_runtime(runtime.snapshot, lambda: runtime.providers)

    async def publish(info: Any) -> None:
        broadcaster.publish(catalog_event(info))

    follower = build_follower(
        hub, settings, runtime, broadcaster, metrics, [publish, runtime.on_catalog_event]
    )
    app[RUNTIME] = runtime
    app[FOLLOWER] = follower
    try:
        await follower.start()
        app[SERVER_STATE].ready = True
        log.info("serving with providers %s", ", ".join(runtime.providers))
        yield
    finally:
        app[SERVER_STATE].ready = False
        await follower.stop()
        await runtime.close()


async def _codec_context(app: web.Application) -> AsyncIterator[None]:
    """Threads that decode and encode large bodies, so the event loop never does."""
    app[CODEC] = ThreadPoolExecutor(max_workers=2, thread_name_prefix="onnxhub-codec")
    try:
        yield
    finally:
        app[CODEC].shutdown(wait=False, cancel_futures=True)


async def _on_shutdown(app: web.Application) -> None:
    app[SERVER_STATE].ready = False
    app[BROADCASTER].close()
    if RUNTIME in app:  # runs in flight get the drain deadline, then are terminated
        app[RUNTIME].begin_drain()


def create_app(hub: Any, settings: Settings | None = None) -> web.Application:
    """The V2 inference app serving every model in ``hub`` (a :class:`hub.api.Hub`).

    The caller owns ``hub`` and closes it after the app has shut down.
    """
    settings = settings or hub.settings
    app = web.Application(
        client_max_size=settings.max_request_bytes,
        # Bodies are inflated by hub.server.body, off the event loop and under the limit.
        handler_args={"auto_decompress": False, "keepalive_timeout": settings.keepalive_timeout},
    )
    app[HUB] = hub
    app[SETTINGS] = settings
    app[METRICS] = ServerMetrics()
    app[BROADCASTER] = EventBroadcaster()
    app[SERVER_STATE] = ServerState()
    install_front(app)
    app.cleanup_ctx.append(_codec_context)
    app.cleanup_ctx.append(_runtime_context)
    app.on_shutdown.append(_on_shutdown)
    endpoints_health.add_routes(app)
    endpoints_models.add_routes(app)
    endpoints_repository.add_routes(app)
    app.router.add_get("/v2/events", stream_events)
    install_auth(app, getattr(settings, "auth", None))
    catalog_api.add_routes(app)
    install_pages(app)
    return app
