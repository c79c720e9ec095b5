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

Settings used (``ONNXHUB_*``): ``MAX_REQUEST_BYTES`` (413 beyond), ``PROVIDERS``,
``INTRA_OP_THREADS``, ``MAX_LOADED_BYTES`` / ``MAX_LOADED_MODELS`` (LRU residency),
``MAX_BATCH_SIZE``, ``MAX_BATCH_TIME``, ``RUN_CONCURRENCY``, ``MAX_QUEUE`` (503 + Retry-After
beyond), ``EVENT_POLL_INTERVAL``. Per model, the batching and queue knobs can be overridden by the
version's ``metadata["serving"]`` and, above that, by ``ONNXHUB_MODEL_OPTIONS`` (JSON:
``{"iris": {"max_batch_size": 8, "run_concurrency": 2}}``).
"""

from __future__ import annotations

import logging
from typing import Any, AsyncIterator

from aiohttp import web

from hub.errors import HubError, RequestTooLarge, Unavailable
from hub.server import api as catalog_api
from hub.server import endpoints_health, endpoints_models, endpoints_repository
from hub.server.auth import install_auth
from hub.server.catalog_follower import build_follower
from hub.server.keys import BROADCASTER, HUB, METRICS, RUNTIME, SERVER_STATE, SETTINGS, ServerState
from hub.server.metrics import ServerMetrics
from hub.server.pages import install_pages
from hub.server.sse import catalog_event, stream_events
from hub.serving.events import EventBroadcaster
from hub.serving.runtime import InferenceRuntime
from hub.settings import Settings

log = logging.getLogger(__name__)


def error_response(
    status: int, message: str, headers: dict[str, str] | None = None
) -> web.Response:
    return web.json_response({"error": message}, status=status, headers=headers)


@web.middleware
async def render_errors(request: web.Request, handler: Any) -> web.StreamResponse:
    """Every failure becomes ``{"error": ...}`` with the status its exception carries."""
    try:
        return await handler(request)
    except HubError as exc:
        status, message = exc.status, exc.message
        headers = None
        if isinstance(exc, Unavailable):
            headers = {"Retry-After": str(max(1, round(exc.retry_after or 1)))}
    except web.HTTPRequestEntityTooLarge as exc:
        status, message, headers = (
            413,
            RequestTooLarge(f"request body exceeds the limit of {exc.max_size} bytes").message,
            None,
        )
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        status, message, headers = exc.status, exc.reason, None
    except Exception as exc:
        log.exception("unhandled error on %s %s", request.method, request.path)
        status, message, headers = 500, f"internal error: {type(exc).__name__}: {exc}", None
    request.app[METRICS].observe_error(status)
    return error_response(status, message, headers)


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
    try:
        await follower.start()
        app[SERVER_STATE].ready = True
        log.info("serving with providers %s", ", ".join(runtime.providers))
        yield
    finally:
        app[SERVER_STATE].ready = False
        await follower.stop()
        await runtime.close()


async def _on_shutdown(app: web.Application) -> None:
    app[SERVER_STATE].ready = False
    app[BROADCASTER].close()


def create_app(hub: Any, settings: Settings | None = None) -> web.Application:
    """The V2 inference app serving every model in ``hub`` (a :class:`hub.api.Hub`).

    The caller owns ``hub`` and closes it after the app has shut down.
    """
    settings = settings or hub.settings
    app = web.Application(client_max_size=settings.max_request_bytes, middlewares=[render_errors])
    app[HUB] = hub
    app[SETTINGS] = settings
    app[METRICS] = ServerMetrics()
    app[BROADCASTER] = EventBroadcaster()
    app[SERVER_STATE] = ServerState()
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
